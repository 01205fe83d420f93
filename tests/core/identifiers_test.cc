#include "core/identifiers.h"

#include <string>

#include "gtest/gtest.h"

namespace berth {
namespace {

TEST(ValidateIdentifier, AcceptsContainerdNames) {
  for (const char* ok : {"default", "k8s.io", "a", "A1", "acc-1a2b-x", "a_b.c-d", "moby"}) {
    EXPECT_TRUE(ValidateIdentifier("namespace", ok).ok()) << ok;
  }
}

TEST(ValidateIdentifier, RejectsBadNames) {
  for (const char* bad : {"", "bad/name!", "-a", "a-", "a..b", "a b", ".a", "a.", "ä"}) {
    auto s = ValidateIdentifier("namespace", bad);
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << bad;
  }
}

TEST(ValidateIdentifier, MessageNamesTheField) {
  auto s = ValidateIdentifier("namespace", "bad/name!");
  EXPECT_NE(s.message().find("namespace"), absl::string_view::npos);
  EXPECT_NE(s.message().find("bad/name!"), absl::string_view::npos);
}

TEST(ValidateIdentifier, LengthLimit) {
  EXPECT_TRUE(ValidateIdentifier("x", std::string(76, 'a')).ok());
  EXPECT_EQ(ValidateIdentifier("x", std::string(77, 'a')).code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(ValidateLabel, SizeLimit) {
  EXPECT_TRUE(ValidateLabel("k", std::string(4095, 'v')).ok());
  EXPECT_EQ(ValidateLabel("k", std::string(4096, 'v')).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ValidateLabel("", "v").code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace berth
