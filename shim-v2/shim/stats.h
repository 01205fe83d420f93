// Container metrics read straight from the cgroup filesystem (what `ctr task metrics` shows):
// cgroup v1 -> io.containerd.cgroups.v1.Metrics, pure v2 -> io.containerd.cgroups.v2.Metrics.
#pragma once

#include <string>

#include "absl/status/statusor.h"
#include "google/protobuf/any.pb.h"

namespace berth::shim {

// What the shim reads from a bundle's config.json.
struct BundleInfo {
  std::string cgroups_path;  // linux.cgroupsPath ("/default/id" or "slice:prefix:name")
  std::string sandbox_id;    // annotation io.kubernetes.cri.sandbox-id (shim grouping)
  bool poststart_hooks = false;  // hooks.poststart has some
};
absl::StatusOr<BundleInfo> ReadBundleInfo(const std::string& bundle);

// Metrics of the cgroup at cgroups_path (cgroupfs layout; systemd "a:b:c" paths are mapped to
// a/b-c.scope... under the system slice layout runc uses). NotFound when the cgroup is gone.
absl::StatusOr<google::protobuf::Any> ReadMetrics(const std::string& cgroups_path);

}  // namespace berth::shim
