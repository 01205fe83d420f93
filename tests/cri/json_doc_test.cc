#include "cri/json_doc.h"

#include <string>

#include "gtest/gtest.h"

namespace berth::cri {
namespace {

std::string Nested(int depth) {
  return "{\"x\":" + std::string(depth - 1, '[') + std::string(depth - 1, ']') + "}";
}

TEST(ParseJsonDocument, ParsesDocuments) {
  auto j = ParseJsonDocument(R"({"config":{"User":"1000"},"rootfs":{"diff_ids":[]}})");
  ASSERT_TRUE(j.is_object());
  EXPECT_EQ(j["config"]["User"], "1000");
  EXPECT_TRUE(ParseJsonDocument("{\"a\":").is_discarded());
  EXPECT_TRUE(ParseJsonDocument("").is_discarded());
}

TEST(ParseJsonDocument, RefusesDeepNesting) {
  EXPECT_TRUE(ParseJsonDocument(Nested(kMaxJsonDepth)).is_object());
  EXPECT_TRUE(ParseJsonDocument(Nested(kMaxJsonDepth + 1)).is_discarded());
  // Deep enough to overflow the stack when copied (what the CRI image core did with it).
  nlohmann::json deep = ParseJsonDocument(Nested(200000));
  EXPECT_TRUE(deep.is_discarded());
  nlohmann::json copy = deep;
  EXPECT_TRUE(copy.is_discarded());
}

}  // namespace
}  // namespace berth::cri
