#include "shim-v2/ttrpc/frame.h"

#include <sys/socket.h>
#include <unistd.h>

#include "gtest/gtest.h"

namespace berth::ttrpc {
namespace {

TEST(FrameTest, HeaderIsBigEndianTenBytes) {
  uint8_t buf[kHeaderSize];
  EncodeHeader({0x01020304, 0x0a0b0c0d, 2, 0x80}, buf);
  const uint8_t want[] = {1, 2, 3, 4, 0x0a, 0x0b, 0x0c, 0x0d, 2, 0x80};
  EXPECT_EQ(0, memcmp(buf, want, kHeaderSize));
  FrameHeader h = DecodeHeader(buf);
  EXPECT_EQ(h.length, 0x01020304u);
  EXPECT_EQ(h.stream_id, 0x0a0b0c0du);
  EXPECT_EQ(h.type, 2);
  EXPECT_EQ(h.flags, 0x80);
}

class FramePair : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_EQ(0, socketpair(AF_UNIX, SOCK_STREAM, 0, fds_)); }
  void TearDown() override {
    close(fds_[0]);
    if (fds_[1] >= 0) close(fds_[1]);
  }
  int fds_[2];
};

TEST_F(FramePair, RoundTrip) {
  ASSERT_TRUE(WriteFrame(fds_[1], 7, FrameType::kRequest, "hello").ok());
  ASSERT_TRUE(WriteFrame(fds_[1], 9, FrameType::kResponse, "").ok());
  FrameHeader h;
  std::string p;
  ASSERT_TRUE(ReadFrame(fds_[0], &h, &p).ok());
  EXPECT_EQ(h.stream_id, 7u);
  EXPECT_EQ(h.type, 1);
  EXPECT_EQ(p, "hello");
  ASSERT_TRUE(ReadFrame(fds_[0], &h, &p).ok());
  EXPECT_EQ(h.stream_id, 9u);
  EXPECT_EQ(p, "");
}

TEST_F(FramePair, OversizedIsRefused) {
  uint8_t hdr[kHeaderSize];
  EncodeHeader({kMaxPayload + 1, 1, 1, 0}, hdr);
  ASSERT_EQ(write(fds_[1], hdr, kHeaderSize), static_cast<ssize_t>(kHeaderSize));
  FrameHeader h;
  std::string p;
  EXPECT_EQ(ReadFrame(fds_[0], &h, &p).code(), absl::StatusCode::kResourceExhausted);
  std::string big(kMaxPayload + 1, 'x');
  EXPECT_EQ(WriteFrame(fds_[1], 1, FrameType::kRequest, big).code(),
            absl::StatusCode::kInvalidArgument);
}

TEST_F(FramePair, ShortFramesAndEof) {
  uint8_t hdr[kHeaderSize];
  EncodeHeader({100, 1, 1, 0}, hdr);
  ASSERT_EQ(write(fds_[1], hdr, kHeaderSize), static_cast<ssize_t>(kHeaderSize));
  ASSERT_EQ(write(fds_[1], "abc", 3), 3);
  close(fds_[1]);
  fds_[1] = -1;
  FrameHeader h;
  std::string p;
  EXPECT_EQ(ReadFrame(fds_[0], &h, &p).code(), absl::StatusCode::kDataLoss);
  EXPECT_EQ(ReadFrame(fds_[0], &h, &p).code(), absl::StatusCode::kOutOfRange);
}

TEST_F(FramePair, ShortHeader) {
  ASSERT_EQ(write(fds_[1], "abcd", 4), 4);
  close(fds_[1]);
  fds_[1] = -1;
  FrameHeader h;
  std::string p;
  EXPECT_EQ(ReadFrame(fds_[0], &h, &p).code(), absl::StatusCode::kDataLoss);
}

}  // namespace
}  // namespace berth::ttrpc
