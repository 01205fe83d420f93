#include "plugins/transfer/layer_stream.h"

#include <thread>

#include "gtest/gtest.h"

namespace berth::transfer {
namespace {

std::string ReadAll(LayerStream& s, absl::Status* err) {
  std::string out;
  char buf[7];
  for (;;) {
    auto n = s.Read(buf, sizeof(buf));
    if (!n.ok()) {
      *err = n.status();
      return out;
    }
    if (*n == 0) return out;
    out.append(buf, *n);
  }
}

TEST(LayerStream, HandsBytesOverWithBackpressure) {
  LayerStream s(16);
  ASSERT_TRUE(s.Attach());
  std::string want;
  std::thread producer([&] {
    for (int i = 0; i < 100; ++i) s.Push("0123456789");
    s.Finish(absl::OkStatus());
  });
  for (int i = 0; i < 100; ++i) want += "0123456789";
  absl::Status err;
  EXPECT_EQ(ReadAll(s, &err), want);
  EXPECT_TRUE(err.ok()) << err;
  producer.join();
}

TEST(LayerStream, DropsWhenNobodyAttachesInTime) {
  LayerStream s(8);
  s.Push("12345");
  s.Push("67890");  // over budget before Attach: dropped, never blocks
  EXPECT_FALSE(s.Attach());
}

TEST(LayerStream, BreakAbortsAReader) {
  LayerStream s(1024);
  ASSERT_TRUE(s.Attach());
  s.Push("abc");
  s.Break();
  char buf[8];
  EXPECT_EQ(s.Read(buf, 8).status().code(), absl::StatusCode::kAborted);
  EXPECT_FALSE(s.Attach());
}

TEST(LayerStream, DownloadErrorReachesTheReaderAfterTheBytes) {
  LayerStream s(1024);
  ASSERT_TRUE(s.Attach());
  s.Push("abc");
  s.Finish(absl::UnavailableError("connection refused"));
  absl::Status err;
  EXPECT_EQ(ReadAll(s, &err), "abc");
  EXPECT_EQ(err.code(), absl::StatusCode::kUnavailable);
}

TEST(LayerStream, DetachReleasesABlockedProducer) {
  LayerStream s(4);
  ASSERT_TRUE(s.Attach());
  std::thread producer([&] {
    for (int i = 0; i < 10; ++i) s.Push("xxxx");
  });
  char buf[2];
  ASSERT_TRUE(s.Read(buf, 2).ok());
  s.Detach();
  producer.join();  // would hang if Detach did not release it
}

}  // namespace
}  // namespace berth::transfer
