// Collation id -> character set for MySQL 8/9 and MariaDB 10.11/11.x.
#include <algorithm>
#include <cstdint>

#include "binlog/charset.h"

namespace binlake::binlog {
namespace {

struct CollationEntry {
  uint16_t id;
  Charset charset;
};

// Generated from MariaDB 10.11's information_schema.collations plus MySQL 8's ids 76, 248-250
// (gb18030) and 255-323 (utf8mb4); the two servers agree on every id both define.
constexpr CollationEntry kCollations[] = {
    {1, Charset::kBig5},        {2, Charset::kLatin2},      {3, Charset::kDec8},
    {4, Charset::kCp850},       {5, Charset::kLatin1},      {6, Charset::kHp8},
    {7, Charset::kKoi8r},       {8, Charset::kLatin1},      {9, Charset::kLatin2},
    {10, Charset::kSwe7},       {11, Charset::kAscii},      {12, Charset::kUjis},
    {13, Charset::kSjis},       {14, Charset::kCp1251},     {15, Charset::kLatin1},
    {16, Charset::kHebrew},     {18, Charset::kTis620},     {19, Charset::kEuckr},
    {20, Charset::kLatin7},     {21, Charset::kLatin2},     {22, Charset::kKoi8u},
    {23, Charset::kCp1251},     {24, Charset::kGb2312},     {25, Charset::kGreek},
    {26, Charset::kCp1250},     {27, Charset::kLatin2},     {28, Charset::kGbk},
    {29, Charset::kCp1257},     {30, Charset::kLatin5},     {31, Charset::kLatin1},
    {32, Charset::kArmscii8},   {33, Charset::kUtf8},       {34, Charset::kCp1250},
    {35, Charset::kUcs2},       {36, Charset::kCp866},      {37, Charset::kKeybcs2},
    {38, Charset::kMacce},      {39, Charset::kMacroman},   {40, Charset::kCp852},
    {41, Charset::kLatin7},     {42, Charset::kLatin7},     {43, Charset::kMacce},
    {44, Charset::kCp1250},     {45, Charset::kUtf8},       {46, Charset::kUtf8},
    {47, Charset::kLatin1},     {48, Charset::kLatin1},     {49, Charset::kLatin1},
    {50, Charset::kCp1251},     {51, Charset::kCp1251},     {52, Charset::kCp1251},
    {53, Charset::kMacroman},   {54, Charset::kUtf16},      {55, Charset::kUtf16},
    {56, Charset::kUtf16le},    {57, Charset::kCp1256},     {58, Charset::kCp1257},
    {59, Charset::kCp1257},     {60, Charset::kUtf32},      {61, Charset::kUtf32},
    {62, Charset::kUtf16le},    {63, Charset::kBinary},     {64, Charset::kArmscii8},
    {65, Charset::kAscii},      {66, Charset::kCp1250},     {67, Charset::kCp1256},
    {68, Charset::kCp866},      {69, Charset::kDec8},       {70, Charset::kGreek},
    {71, Charset::kHebrew},     {72, Charset::kHp8},        {73, Charset::kKeybcs2},
    {74, Charset::kKoi8r},      {75, Charset::kKoi8u},      {76, Charset::kUtf8},
    {77, Charset::kLatin2},     {78, Charset::kLatin5},     {79, Charset::kLatin7},
    {80, Charset::kCp850},      {81, Charset::kCp852},      {82, Charset::kSwe7},
    {83, Charset::kUtf8},       {84, Charset::kBig5},       {85, Charset::kEuckr},
    {86, Charset::kGb2312},     {87, Charset::kGbk},        {88, Charset::kSjis},
    {89, Charset::kTis620},     {90, Charset::kUcs2},       {91, Charset::kUjis},
    {92, Charset::kGeostd8},    {93, Charset::kGeostd8},    {94, Charset::kLatin1},
    {95, Charset::kCp932},      {96, Charset::kCp932},      {97, Charset::kEucjpms},
    {98, Charset::kEucjpms},    {99, Charset::kCp1250},     {101, Charset::kUtf16},
    {102, Charset::kUtf16},     {103, Charset::kUtf16},     {104, Charset::kUtf16},
    {105, Charset::kUtf16},     {106, Charset::kUtf16},     {107, Charset::kUtf16},
    {108, Charset::kUtf16},     {109, Charset::kUtf16},     {110, Charset::kUtf16},
    {111, Charset::kUtf16},     {112, Charset::kUtf16},     {113, Charset::kUtf16},
    {114, Charset::kUtf16},     {115, Charset::kUtf16},     {116, Charset::kUtf16},
    {117, Charset::kUtf16},     {118, Charset::kUtf16},     {119, Charset::kUtf16},
    {120, Charset::kUtf16},     {121, Charset::kUtf16},     {122, Charset::kUtf16},
    {123, Charset::kUtf16},     {124, Charset::kUtf16},     {128, Charset::kUcs2},
    {129, Charset::kUcs2},      {130, Charset::kUcs2},      {131, Charset::kUcs2},
    {132, Charset::kUcs2},      {133, Charset::kUcs2},      {134, Charset::kUcs2},
    {135, Charset::kUcs2},      {136, Charset::kUcs2},      {137, Charset::kUcs2},
    {138, Charset::kUcs2},      {139, Charset::kUcs2},      {140, Charset::kUcs2},
    {141, Charset::kUcs2},      {142, Charset::kUcs2},      {143, Charset::kUcs2},
    {144, Charset::kUcs2},      {145, Charset::kUcs2},      {146, Charset::kUcs2},
    {147, Charset::kUcs2},      {148, Charset::kUcs2},      {149, Charset::kUcs2},
    {150, Charset::kUcs2},      {151, Charset::kUcs2},      {159, Charset::kUcs2},
    {160, Charset::kUtf32},     {161, Charset::kUtf32},     {162, Charset::kUtf32},
    {163, Charset::kUtf32},     {164, Charset::kUtf32},     {165, Charset::kUtf32},
    {166, Charset::kUtf32},     {167, Charset::kUtf32},     {168, Charset::kUtf32},
    {169, Charset::kUtf32},     {170, Charset::kUtf32},     {171, Charset::kUtf32},
    {172, Charset::kUtf32},     {173, Charset::kUtf32},     {174, Charset::kUtf32},
    {175, Charset::kUtf32},     {176, Charset::kUtf32},     {177, Charset::kUtf32},
    {178, Charset::kUtf32},     {179, Charset::kUtf32},     {180, Charset::kUtf32},
    {181, Charset::kUtf32},     {182, Charset::kUtf32},     {183, Charset::kUtf32},
    {192, Charset::kUtf8},      {193, Charset::kUtf8},      {194, Charset::kUtf8},
    {195, Charset::kUtf8},      {196, Charset::kUtf8},      {197, Charset::kUtf8},
    {198, Charset::kUtf8},      {199, Charset::kUtf8},      {200, Charset::kUtf8},
    {201, Charset::kUtf8},      {202, Charset::kUtf8},      {203, Charset::kUtf8},
    {204, Charset::kUtf8},      {205, Charset::kUtf8},      {206, Charset::kUtf8},
    {207, Charset::kUtf8},      {208, Charset::kUtf8},      {209, Charset::kUtf8},
    {210, Charset::kUtf8},      {211, Charset::kUtf8},      {212, Charset::kUtf8},
    {213, Charset::kUtf8},      {214, Charset::kUtf8},      {215, Charset::kUtf8},
    {223, Charset::kUtf8},      {224, Charset::kUtf8},      {225, Charset::kUtf8},
    {226, Charset::kUtf8},      {227, Charset::kUtf8},      {228, Charset::kUtf8},
    {229, Charset::kUtf8},      {230, Charset::kUtf8},      {231, Charset::kUtf8},
    {232, Charset::kUtf8},      {233, Charset::kUtf8},      {234, Charset::kUtf8},
    {235, Charset::kUtf8},      {236, Charset::kUtf8},      {237, Charset::kUtf8},
    {238, Charset::kUtf8},      {239, Charset::kUtf8},      {240, Charset::kUtf8},
    {241, Charset::kUtf8},      {242, Charset::kUtf8},      {243, Charset::kUtf8},
    {244, Charset::kUtf8},      {245, Charset::kUtf8},      {246, Charset::kUtf8},
    {247, Charset::kUtf8},      {248, Charset::kGb18030},   {249, Charset::kGb18030},
    {250, Charset::kGb18030},   {255, Charset::kUtf8},      {256, Charset::kUtf8},
    {257, Charset::kUtf8},      {258, Charset::kUtf8},      {259, Charset::kUtf8},
    {260, Charset::kUtf8},      {261, Charset::kUtf8},      {262, Charset::kUtf8},
    {263, Charset::kUtf8},      {264, Charset::kUtf8},      {265, Charset::kUtf8},
    {266, Charset::kUtf8},      {267, Charset::kUtf8},      {268, Charset::kUtf8},
    {269, Charset::kUtf8},      {270, Charset::kUtf8},      {271, Charset::kUtf8},
    {272, Charset::kUtf8},      {273, Charset::kUtf8},      {274, Charset::kUtf8},
    {275, Charset::kUtf8},      {276, Charset::kUtf8},      {277, Charset::kUtf8},
    {278, Charset::kUtf8},      {279, Charset::kUtf8},      {280, Charset::kUtf8},
    {281, Charset::kUtf8},      {282, Charset::kUtf8},      {283, Charset::kUtf8},
    {284, Charset::kUtf8},      {285, Charset::kUtf8},      {286, Charset::kUtf8},
    {287, Charset::kUtf8},      {288, Charset::kUtf8},      {289, Charset::kUtf8},
    {290, Charset::kUtf8},      {291, Charset::kUtf8},      {292, Charset::kUtf8},
    {293, Charset::kUtf8},      {294, Charset::kUtf8},      {295, Charset::kUtf8},
    {296, Charset::kUtf8},      {297, Charset::kUtf8},      {298, Charset::kUtf8},
    {299, Charset::kUtf8},      {300, Charset::kUtf8},      {301, Charset::kUtf8},
    {302, Charset::kUtf8},      {303, Charset::kUtf8},      {304, Charset::kUtf8},
    {305, Charset::kUtf8},      {306, Charset::kUtf8},      {307, Charset::kUtf8},
    {308, Charset::kUtf8},      {309, Charset::kUtf8},      {310, Charset::kUtf8},
    {311, Charset::kUtf8},      {312, Charset::kUtf8},      {313, Charset::kUtf8},
    {314, Charset::kUtf8},      {315, Charset::kUtf8},      {316, Charset::kUtf8},
    {317, Charset::kUtf8},      {318, Charset::kUtf8},      {319, Charset::kUtf8},
    {320, Charset::kUtf8},      {321, Charset::kUtf8},      {322, Charset::kUtf8},
    {323, Charset::kUtf8},      {576, Charset::kUtf8},      {577, Charset::kUtf8},
    {578, Charset::kUtf8},      {608, Charset::kUtf8},      {609, Charset::kUtf8},
    {610, Charset::kUtf8},      {640, Charset::kUcs2},      {641, Charset::kUcs2},
    {642, Charset::kUcs2},      {672, Charset::kUtf16},     {673, Charset::kUtf16},
    {674, Charset::kUtf16},     {736, Charset::kUtf32},     {737, Charset::kUtf32},
    {738, Charset::kUtf32},     {1025, Charset::kBig5},     {1027, Charset::kDec8},
    {1028, Charset::kCp850},    {1030, Charset::kHp8},      {1031, Charset::kKoi8r},
    {1032, Charset::kLatin1},   {1033, Charset::kLatin2},   {1034, Charset::kSwe7},
    {1035, Charset::kAscii},    {1036, Charset::kUjis},     {1037, Charset::kSjis},
    {1040, Charset::kHebrew},   {1042, Charset::kTis620},   {1043, Charset::kEuckr},
    {1046, Charset::kKoi8u},    {1048, Charset::kGb2312},   {1049, Charset::kGreek},
    {1050, Charset::kCp1250},   {1052, Charset::kGbk},      {1054, Charset::kLatin5},
    {1056, Charset::kArmscii8}, {1057, Charset::kUtf8},     {1059, Charset::kUcs2},
    {1060, Charset::kCp866},    {1061, Charset::kKeybcs2},  {1062, Charset::kMacce},
    {1063, Charset::kMacroman}, {1064, Charset::kCp852},    {1065, Charset::kLatin7},
    {1067, Charset::kMacce},    {1069, Charset::kUtf8},     {1070, Charset::kUtf8},
    {1071, Charset::kLatin1},   {1074, Charset::kCp1251},   {1075, Charset::kCp1251},
    {1077, Charset::kMacroman}, {1078, Charset::kUtf16},    {1079, Charset::kUtf16},
    {1080, Charset::kUtf16le},  {1081, Charset::kCp1256},   {1082, Charset::kCp1257},
    {1083, Charset::kCp1257},   {1084, Charset::kUtf32},    {1085, Charset::kUtf32},
    {1086, Charset::kUtf16le},  {1088, Charset::kArmscii8}, {1089, Charset::kAscii},
    {1090, Charset::kCp1250},   {1091, Charset::kCp1256},   {1092, Charset::kCp866},
    {1093, Charset::kDec8},     {1094, Charset::kGreek},    {1095, Charset::kHebrew},
    {1096, Charset::kHp8},      {1097, Charset::kKeybcs2},  {1098, Charset::kKoi8r},
    {1099, Charset::kKoi8u},    {1101, Charset::kLatin2},   {1102, Charset::kLatin5},
    {1103, Charset::kLatin7},   {1104, Charset::kCp850},    {1105, Charset::kCp852},
    {1106, Charset::kSwe7},     {1107, Charset::kUtf8},     {1108, Charset::kBig5},
    {1109, Charset::kEuckr},    {1110, Charset::kGb2312},   {1111, Charset::kGbk},
    {1112, Charset::kSjis},     {1113, Charset::kTis620},   {1114, Charset::kUcs2},
    {1115, Charset::kUjis},     {1116, Charset::kGeostd8},  {1117, Charset::kGeostd8},
    {1119, Charset::kCp932},    {1120, Charset::kCp932},    {1121, Charset::kEucjpms},
    {1122, Charset::kEucjpms},  {1125, Charset::kUtf16},    {1147, Charset::kUtf16},
    {1152, Charset::kUcs2},     {1174, Charset::kUcs2},     {1184, Charset::kUtf32},
    {1206, Charset::kUtf32},    {1216, Charset::kUtf8},     {1238, Charset::kUtf8},
    {1248, Charset::kUtf8},     {1270, Charset::kUtf8}};

}  // namespace

Charset CharsetOfCollation(uint32_t collation) {
  // MariaDB 11 UCA-14.0.0 collations: one block of 256 ids per Unicode character set.
  if (collation >= 2048 && collation < 3328) {
    switch ((collation - 2048) / 256) {
      case 0:
      case 1:
        return Charset::kUtf8;
      case 2:
        return Charset::kUcs2;
      case 3:
        return Charset::kUtf16;
      default:
        return Charset::kUtf32;
    }
  }
  const auto* end = std::end(kCollations);
  const auto* it = std::lower_bound(std::begin(kCollations), end, collation,
                                    [](const CollationEntry& e, uint32_t id) { return e.id < id; });
  return it != end && it->id == collation ? it->charset : Charset::kUnknown;
}

}  // namespace binlake::binlog
