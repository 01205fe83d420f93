#include "cri/log_format.h"

#include "gtest/gtest.h"

namespace berth::cri {
namespace {

const absl::Time kT = absl::FromUnixNanos(1700000000123456789);

TEST(CriLogFormat, TimestampHasNineDigitsAndZ) {
  EXPECT_EQ(CriTimestamp(kT), "2023-11-14T22:13:20.123456789Z");
  EXPECT_EQ(CriTimestamp(absl::FromUnixSeconds(0)), "1970-01-01T00:00:00.000000000Z");
}

TEST(CriLogFormat, FullLines) {
  CriLineSplitter s("stdout", 0);
  std::vector<std::string> out;
  s.Feed("a\nbc\n", kT, &out);
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0], "2023-11-14T22:13:20.123456789Z stdout F a\n");
  EXPECT_EQ(out[1], "2023-11-14T22:13:20.123456789Z stdout F bc\n");
}

TEST(CriLogFormat, LineAcrossChunksIsJoined) {
  CriLineSplitter s("stderr", 100);
  std::vector<std::string> out;
  s.Feed("hel", kT, &out);
  EXPECT_TRUE(out.empty());
  s.Feed("lo\n", kT, &out);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0], "2023-11-14T22:13:20.123456789Z stderr F hello\n");
}

TEST(CriLogFormat, LongLinesAreSplitWithPartialTags) {
  CriLineSplitter s("stdout", 4);
  std::vector<std::string> out;
  s.Feed("abcdefghij\n", kT, &out);
  ASSERT_EQ(out.size(), 3u);
  EXPECT_NE(out[0].find(" P abcd\n"), std::string::npos);
  EXPECT_NE(out[1].find(" P efgh\n"), std::string::npos);
  EXPECT_NE(out[2].find(" F ij\n"), std::string::npos);
}

TEST(CriLogFormat, ExactlyMaxIsOneFullLine) {
  CriLineSplitter s("stdout", 4);
  std::vector<std::string> out;
  s.Feed("abcd\n", kT, &out);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_NE(out[0].find(" F abcd\n"), std::string::npos);
}

TEST(CriLogFormat, FlushEmitsUnterminatedTailAsPartial) {
  CriLineSplitter s("stdout", 0);
  std::vector<std::string> out;
  s.Feed("tail", kT, &out);
  s.Flush(kT, &out);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_NE(out[0].find(" P tail\n"), std::string::npos);
  out.clear();
  s.Flush(kT, &out);
  EXPECT_TRUE(out.empty());
}

TEST(CriLogFormat, EmptyLineIsKept) {
  CriLineSplitter s("stdout", 0);
  std::vector<std::string> out;
  s.Feed("\n", kT, &out);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0], "2023-11-14T22:13:20.123456789Z stdout F \n");
}

}  // namespace
}  // namespace berth::cri
