// The one conformance suite every Snapshotter implementation passes (containerd's
// snapshots/testsuite in spirit). An implementation's test file instantiates it:
//
//   INSTANTIATE_TEST_SUITE_P(Overlay, SnapshotterConformance,
//                            ::testing::Values(SnapshotterFactory{"overlayfs", OpenOverlay}));
//   INSTANTIATE_TEST_SUITE_P(Overlay, SnapshotterMountConformance, ...);   // root tests
//
// SnapshotterConformance: metadata rules, usage, walk, labels, cleanup, persistence — runs
// unprivileged (it writes into snapshots only through bind-mount sources, never mounting).
// SnapshotterMountConformance: layer stacking and deletions through real mounts — needs root,
// skipped otherwise; instantiate it from a test target labelled `integration`.
//
// Both assume the on-disk layout shared by our implementations: <root>/snapshots/<id>/...
#pragma once

#include <functional>
#include <memory>
#include <ostream>
#include <string>

#include "absl/status/statusor.h"
#include "gtest/gtest.h"
#include "snapshotter/snapshotter.h"

namespace berth::snapshotter::testing {

struct SnapshotterFactory {
  std::string name;
  // Opens a snapshotter rooted at the absolute directory `root` (which may already hold one).
  std::function<absl::StatusOr<std::unique_ptr<Snapshotter>>(const std::string& root)> open;
  // True when whiteouts are overlay's on-disk format (0/0 char devices in an upper dir).
  bool overlay_whiteouts = false;
};

inline std::ostream& operator<<(std::ostream& os, const SnapshotterFactory& f) {
  return os << f.name;
}

class SnapshotterTestBase : public ::testing::TestWithParam<SnapshotterFactory> {
 protected:
  void SetUp() override;
  void TearDown() override;
  // Closes and reopens the snapshotter on the same root.
  void Reopen();

  std::string root_;
  std::unique_ptr<Snapshotter> sn_;
};

class SnapshotterConformance : public SnapshotterTestBase {};

class SnapshotterMountConformance : public SnapshotterTestBase {
 protected:
  void SetUp() override;
};

}  // namespace berth::snapshotter::testing
