// Conversion of column bytes to UTF-8: latin1 by table (hot and iconv lacks MySQL's variant),
// everything else through glibc iconv with one cached descriptor per charset and thread.
#include "binlog/charset.h"

#include <iconv.h>

#include <array>
#include <cerrno>

namespace binlake::binlog {
namespace {

struct CharsetInfo {
  const char* name;   // MySQL's name
  const char* iconv;  // glibc name; nullptr when glibc has no equivalent
};

constexpr CharsetInfo kCharsets[] = {
    {"unknown", nullptr},
    {"binary", nullptr},
    {"utf8mb4", nullptr},
    {"ascii", nullptr},
    {"latin1", nullptr},
    {"big5", "BIG5"},
    {"dec8", "DEC-MCS"},
    {"cp850", "CP850"},
    {"hp8", "HP-ROMAN8"},
    {"koi8r", "KOI8-R"},
    {"latin2", "ISO-8859-2"},
    {"swe7", "ISO646-SE2"},
    {"ujis", "EUC-JP"},
    {"sjis", "SHIFT_JIS"},
    {"cp1251", "CP1251"},
    {"hebrew", "ISO-8859-8"},
    {"tis620", "TIS-620"},
    {"euckr", "EUC-KR"},
    {"latin7", "ISO-8859-13"},
    {"koi8u", "KOI8-U"},
    {"gb2312", "GB2312"},
    {"greek", "ISO-8859-7"},
    {"cp1250", "CP1250"},
    {"gbk", "GBK"},
    {"cp1257", "CP1257"},
    {"latin5", "ISO-8859-9"},
    {"armscii8", "ARMSCII-8"},
    {"ucs2", "UCS-2BE"},
    {"cp866", "CP866"},
    {"keybcs2", nullptr},
    {"macce", "MAC-CENTRALEUROPE"},
    {"macroman", "MACINTOSH"},
    {"cp852", "CP852"},
    {"cp1256", "CP1256"},
    {"utf16", "UTF-16BE"},
    {"utf16le", "UTF-16LE"},
    {"utf32", "UTF-32BE"},
    {"geostd8", nullptr},
    {"cp932", "CP932"},
    {"eucjpms", "EUC-JP-MS"},
    {"gb18030", "GB18030"},
};
static_assert(std::size(kCharsets) == static_cast<size_t>(Charset::kCount));

// cp1252 0x80..0x9F; MySQL maps the five bytes cp1252 leaves undefined to the same code point.
constexpr uint16_t kLatin1High[32] = {
    0x20AC, 0x0081, 0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021, 0x02C6, 0x2030, 0x0160,
    0x2039, 0x0152, 0x008D, 0x017D, 0x008F, 0x0090, 0x2018, 0x2019, 0x201C, 0x201D, 0x2022,
    0x2013, 0x2014, 0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, 0x009D, 0x017E, 0x0178};

void Latin1ToUtf8(std::string_view in, std::string* out) {
  out->clear();
  for (unsigned char c : in) {
    if (c < 0x80) {
      out->push_back(static_cast<char>(c));
      continue;
    }
    uint32_t cp = c < 0xA0 ? kLatin1High[c - 0x80] : c;
    if (cp < 0x800) {
      out->push_back(static_cast<char>(0xC0 | (cp >> 6)));
    } else {
      out->push_back(static_cast<char>(0xE0 | (cp >> 12)));
      out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    }
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

// One descriptor per charset and thread: iconv_t keeps shift state and is not thread-safe.
class IconvCache {
 public:
  ~IconvCache() {
    for (iconv_t cd : cds_) {
      if (cd != Invalid() && cd != nullptr) iconv_close(cd);
    }
  }
  iconv_t Get(Charset cs) {
    auto i = static_cast<size_t>(cs);
    if (cds_[i] == nullptr) {
      const char* name = kCharsets[i].iconv;
      cds_[i] = name ? iconv_open("UTF-8", name) : Invalid();
    }
    return cds_[i];
  }
  // iconv's documented failure value is (iconv_t)-1.
  static iconv_t Invalid() {
    return reinterpret_cast<iconv_t>(-1);  // NOLINT(performance-no-int-to-ptr)
  }

 private:
  std::array<iconv_t, static_cast<size_t>(Charset::kCount)> cds_{};
};

bool IconvToUtf8(Charset cs, std::string_view in, std::string* out) {
  thread_local IconvCache cache;
  iconv_t cd = cache.Get(cs);
  if (cd == IconvCache::Invalid()) return false;
  iconv(cd, nullptr, nullptr, nullptr, nullptr);
  out->resize(in.size() * 3 + 16);
  char* src = const_cast<char*>(in.data());
  size_t src_left = in.size();
  size_t done = 0;
  while (true) {
    char* dst = out->data() + done;
    size_t dst_left = out->size() - done;
    size_t rc = iconv(cd, &src, &src_left, &dst, &dst_left);
    done = out->size() - dst_left;
    if (rc != static_cast<size_t>(-1)) break;
    if (errno != E2BIG) return false;  // EILSEQ / EINVAL: bytes not valid in the charset
    out->resize(out->size() * 2);
  }
  out->resize(done);
  return true;
}

// glibc's SHIFT_JIS maps 0x5C to U+00A5, 0x7E to U+203E and 0x815F to U+FF3C; MySQL's sjis maps
// them to '\\', '~' and '\\'. Nothing else converts to those three code points, so fix them up.
void SjisToMysql(std::string* s) {
  std::string& t = *s;
  size_t w = 0;
  for (size_t i = 0; i < t.size();) {
    auto c = static_cast<unsigned char>(t[i]);
    if (c == 0xC2 && i + 1 < t.size() && static_cast<unsigned char>(t[i + 1]) == 0xA5) {
      t[w++] = '\\', i += 2;
    } else if (c == 0xE2 && t.compare(i, 3, "\xE2\x80\xBE") == 0) {
      t[w++] = '~', i += 3;
    } else if (c == 0xEF && t.compare(i, 3, "\xEF\xBC\xBC") == 0) {
      t[w++] = '\\', i += 3;
    } else {
      t[w++] = t[i++];
    }
  }
  t.resize(w);
}

}  // namespace

const char* CharsetName(Charset cs) {
  auto i = static_cast<size_t>(cs);
  return i < std::size(kCharsets) ? kCharsets[i].name : "unknown";
}

bool ConvertToUtf8(Charset cs, std::string_view in, std::string* out) {
  switch (cs) {
    case Charset::kUtf8:
    case Charset::kAscii:
    case Charset::kBinary:
    case Charset::kUnknown:
      out->assign(in);
      return true;
    case Charset::kLatin1:
      Latin1ToUtf8(in, out);
      return true;
    case Charset::kSjis:
      if (!IconvToUtf8(cs, in, out)) return false;
      SjisToMysql(out);
      return true;
    default:
      return IconvToUtf8(cs, in, out);
  }
}

bool IsValidUtf8(std::string_view s) {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  const auto* end = p + s.size();
  while (p < end) {
    unsigned char c = *p;
    if (c < 0x80) {
      p++;
      continue;
    }
    size_t n;
    uint32_t min;
    uint32_t cp;
    if ((c & 0xE0) == 0xC0) {
      n = 2, min = 0x80, cp = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
      n = 3, min = 0x800, cp = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
      n = 4, min = 0x10000, cp = c & 0x07;
    } else {
      return false;
    }
    if (static_cast<size_t>(end - p) < n) return false;
    for (size_t k = 1; k < n; k++) {
      if ((p[k] & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (p[k] & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
    p += n;
  }
  return true;
}

}  // namespace binlake::binlog
