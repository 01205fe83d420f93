#include "client/progress.h"

#include "absl/strings/match.h"
#include "absl/strings/str_split.h"
#include "gtest/gtest.h"

namespace berth::client {
namespace {

using ::berth::services::transfer::v1::Progress;

Progress One(const std::string& ref, const std::string& state, int64_t offset, int64_t total) {
  Progress p;
  auto* i = p.add_items();
  i->set_ref(ref);
  i->set_state(state);
  i->set_offset(offset);
  i->set_total(total);
  return p;
}

const absl::Time t0 = absl::FromUnixSeconds(1000);

TEST(ProgressRenderer, PlainIsOneLinePerStateChange) {
  ProgressRenderer r(/*tty=*/false);
  EXPECT_EQ(r.Update(One("layer-sha256:aa", "downloading", 0, 1 << 20), t0),
            "layer-sha256:aa: downloading\n");
  // Byte counts alone print nothing.
  EXPECT_EQ(r.Update(One("layer-sha256:aa", "downloading", 512 << 10, 1 << 20), t0 + absl::Seconds(1)),
            "");
  EXPECT_EQ(r.Update(One("layer-sha256:aa", "done", 1 << 20, 1 << 20), t0 + absl::Seconds(2)),
            "layer-sha256:aa: done (1.0 MiB)\n");
  EXPECT_EQ(r.Update(One("layer-sha256:bb", "failed", 0, 0), t0), "layer-sha256:bb: failed\n");
  EXPECT_EQ(r.Finish(t0), "");
  // No escape sequences in plain mode.
  EXPECT_FALSE(absl::StrContains(r.Update(One("c", "exists", 1, 1), t0), "\x1b"));
}

TEST(ProgressRenderer, TtyRedrawsInPlace) {
  ProgressRenderer r(/*tty=*/true, 120);
  std::string first = r.Update(One("layer-a", "downloading", 0, 10 << 20), t0);
  EXPECT_FALSE(absl::StrContains(first, "\x1b[1A"));  // nothing to move over yet
  EXPECT_TRUE(absl::StrContains(first, "\x1b[2K"));
  std::string second = r.Update(One("layer-b", "waiting", 0, 0), t0 + absl::Milliseconds(10));
  EXPECT_TRUE(absl::StartsWith(second, "\x1b[1A"));  // back over the one line drawn
  std::string third =
      r.Update(One("layer-a", "downloading", 5 << 20, 10 << 20), t0 + absl::Seconds(5));
  EXPECT_TRUE(absl::StartsWith(third, "\x1b[2A"));  // two lines now
  std::vector<std::string> lines = absl::StrSplit(third, '\n', absl::SkipEmpty());
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_TRUE(absl::StrContains(lines[0], "layer-a"));
  EXPECT_TRUE(absl::StrContains(lines[0], "5.0 MiB / 10.0 MiB"));
  EXPECT_TRUE(absl::StrContains(lines[0], "1.0 MiB/s"));  // 5 MiB in 5 s
  EXPECT_TRUE(absl::StrContains(lines[0], "ETA 5s"));
  EXPECT_TRUE(absl::StrContains(lines[0], "[==========>"));
  EXPECT_TRUE(absl::StrContains(lines[1], "layer-b"));
}

TEST(ProgressRenderer, UploadsShowRateAndEtaToo) {
  ProgressRenderer r(/*tty=*/true, 120);
  r.Update(One("layer-a", "uploading", 0, 8 << 20), t0);
  std::string line = r.Update(One("layer-a", "uploading", 2 << 20, 8 << 20), t0 + absl::Seconds(2));
  EXPECT_TRUE(absl::StrContains(line, "1.0 MiB/s")) << line;
  EXPECT_TRUE(absl::StrContains(line, "ETA 6s")) << line;
}

TEST(ProgressRenderer, TtyThrottlesByteOnlyUpdates) {
  ProgressRenderer r(true);
  r.Update(One("l", "downloading", 0, 100), t0);
  EXPECT_EQ(r.Update(One("l", "downloading", 10, 100), t0 + absl::Milliseconds(20)), "");
  EXPECT_NE(r.Update(One("l", "downloading", 20, 100), t0 + absl::Milliseconds(200)), "");
  EXPECT_NE(r.Update(One("l", "done", 100, 100), t0 + absl::Milliseconds(210)), "");
  EXPECT_TRUE(absl::StartsWith(r.Finish(t0 + absl::Seconds(1)), "\x1b[1A"));
}

TEST(ProgressRenderer, Humanize) {
  EXPECT_EQ(ProgressRenderer::HumanBytes(532), "532 B");
  EXPECT_EQ(ProgressRenderer::HumanBytes(1536), "1.5 KiB");
  EXPECT_EQ(ProgressRenderer::HumanDuration(absl::Seconds(12)), "12s");
  EXPECT_EQ(ProgressRenderer::HumanDuration(absl::Seconds(184)), "3m04s");
}

}  // namespace
}  // namespace berth::client
