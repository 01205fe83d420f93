// OOM notifications for /tasks/oom. cgroup v1: an eventfd registered on memory.oom_control
// through cgroup.event_control; the kernel also signals it when the cgroup is removed, which
// ends the watch. (Pure cgroup v2 is not watched yet.)
#pragma once

#include <functional>
#include <string>

#include "absl/status/status.h"

namespace berth::shim {

// Calls on_oom() on a small background thread each time the container's memory cgroup hits
// its limit. cgroups_path: config.json's linux.cgroupsPath. FailedPrecondition on hosts without
// a v1 memory controller; errno codes otherwise.
absl::Status WatchOom(const std::string& cgroups_path, std::function<void()> on_oom);

}  // namespace berth::shim
