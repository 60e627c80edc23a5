#include "util/log.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace binlake::log {
namespace {

TEST(LogTest, JsonLineIsOneObject) {
  const std::string line = JsonLine("warning", "a \"quoted\"\nline\t\x01", 1796544900123);
  ASSERT_EQ(line.back(), '\n');
  EXPECT_EQ(line.find('\n'), line.size() - 1);  // one physical line
  auto j = nlohmann::json::parse(line);
  EXPECT_EQ(j["ts"], "2026-12-06T08:15:00.123Z");
  EXPECT_EQ(j["level"], "warning");
  EXPECT_EQ(j["msg"], "a \"quoted\"\nline\t\x01");
}

TEST(LogTest, Bar) {
  EXPECT_EQ(Bar(0), "[....................]");
  EXPECT_EQ(Bar(0.5), "[##########..........]");
  EXPECT_EQ(Bar(1), "[####################]");
  EXPECT_EQ(Bar(7), "[####################]");
  EXPECT_EQ(Bar(-1), "[....................]");
}

TEST(LogTest, ParseFormat) {
  Format f = Format::kText;
  EXPECT_TRUE(ParseFormat("json", &f));
  EXPECT_EQ(f, Format::kJson);
  EXPECT_TRUE(ParseFormat("text", &f));
  EXPECT_EQ(f, Format::kText);
  EXPECT_FALSE(ParseFormat("xml", &f));
}

}  // namespace
}  // namespace binlake::log
