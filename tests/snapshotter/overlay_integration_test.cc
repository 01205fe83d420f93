// Overlay snapshotter through real mounts (root; skipped otherwise).
#include <unistd.h>

#include "gtest/gtest.h"
#include "tests/snapshotter/factories.h"

namespace berth::snapshotter::testing {
namespace {

INSTANTIATE_TEST_SUITE_P(Overlay, SnapshotterMountConformance,
                         ::testing::Values(OverlayFactory(false)), FactoryName);

TEST(OverlaySupport, KernelSupportsOverlay) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root to mount";
  char tmpl[] = "/tmp/berth-overlay-check-XXXXXX";
  ASSERT_NE(::mkdtemp(tmpl), nullptr);
  absl::Status st = CheckOverlaySupport(tmpl);
  EXPECT_TRUE(st.ok()) << st;
  EXPECT_EQ(::rmdir(tmpl), 0);  // the check cleaned up after itself
}

}  // namespace
}  // namespace berth::snapshotter::testing
