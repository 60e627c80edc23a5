#include "util/status.h"

#include <gtest/gtest.h>

#include "util/byte_reader.h"

namespace binlake {
namespace {

Result<int> Half(int x) {
  if (x % 2) return Status::InvalidArgument("odd");
  return x / 2;
}

Status UseHalf(int x, int* out) {
  BL_ASSIGN_OR_RETURN(*out, Half(x));
  return Status::Ok();
}

TEST(Status, OkAndErrors) {
  EXPECT_TRUE(Status::Ok().ok());
  Status s = Status::Corruption("bad");
  EXPECT_FALSE(s.ok());
  EXPECT_EQ(s.ToString(), "corruption: bad");
  EXPECT_EQ(s.WithContext("f:4").message(), "f:4: bad");
  int v = 0;
  EXPECT_TRUE(UseHalf(4, &v).ok());
  EXPECT_EQ(v, 2);
  EXPECT_EQ(UseHalf(3, &v).code(), StatusCode::kInvalidArgument);
}

TEST(ByteReader, BoundsChecked) {
  const uint8_t data[] = {0x01, 0x02, 0x03, 0xfc, 0x10, 0x27};
  ByteReader r(data, sizeof data);
  uint16_t u16;
  ASSERT_TRUE(r.ReadU16(&u16));
  EXPECT_EQ(u16, 0x0201);
  uint64_t be;
  ASSERT_TRUE(r.ReadUIntBE(1, &be));
  EXPECT_EQ(be, 3u);
  uint64_t packed;
  ASSERT_TRUE(r.ReadPackedInt(&packed));
  EXPECT_EQ(packed, 10000u);
  uint32_t u32;
  EXPECT_FALSE(r.ReadU32(&u32));
  EXPECT_EQ(r.offset(), 6u);
  ByteReader short_packed(data + 3, 2);
  EXPECT_FALSE(short_packed.ReadPackedInt(&packed));
  EXPECT_EQ(short_packed.offset(), 0u);
}

}  // namespace
}  // namespace binlake
