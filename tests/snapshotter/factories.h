// Factories of both implementations for the conformance suite.
#pragma once

#include "snapshotter/native.h"
#include "snapshotter/overlay.h"
#include "tests/snapshotter/conformance.h"

namespace berth::snapshotter::testing {

inline SnapshotterFactory OverlayFactory(bool sync_remove = false) {
  return {sync_remove ? "overlayfs_sync_remove" : "overlayfs",
          [sync_remove](const std::string& root) {
            OverlayConfig config;
            config.root_path = root;
            config.sync_remove = sync_remove;
            return NewOverlaySnapshotter(config);
          },
          /*overlay_whiteouts=*/true};
}

inline SnapshotterFactory NativeFactory() {
  return {"native",
          [](const std::string& root) {
            NativeConfig config;
            config.root_path = root;
            return NewNativeSnapshotter(config);
          },
          /*overlay_whiteouts=*/false};
}

inline std::string FactoryName(const ::testing::TestParamInfo<SnapshotterFactory>& info) {
  return info.param.name;
}

}  // namespace berth::snapshotter::testing
