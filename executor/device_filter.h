// cgroup v2 device rules: a BPF_PROG_TYPE_CGROUP_DEVICE program built from
// linux.resources.devices (cgroup v2 has no devices.allow/deny files; runc's
// libcontainer/cgroups/ebpf/devicefilter does the same with cilium/ebpf).
#pragma once

#include <linux/bpf.h>

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "executor/spec.h"

namespace berth::executor {

// The program, as raw instructions. It reads struct bpf_cgroup_dev_ctx (type in the low 16
// bits of access_type, access in the high 16, major, minor) and returns 1 (allow) or 0 (deny).
// Semantics (runc's devicefilter): the last rule that matches decides; a request that no rule
// matches is denied. A rule matches when its type matches ("a" = any type), its major and
// minor match (absent or -1 = any), and the requested access is within the rule's "rwm"
// letters. InvalidArgument on an unknown type or access letter, or a number over INT32_MAX.
absl::StatusOr<std::vector<bpf_insn>> DeviceFilterProgram(const std::vector<DeviceRule>& rules);

// The license the program is loaded under (runc's: the program calls no GPL-only helper).
inline constexpr char kDeviceFilterLicense[] = "Apache";

// bpf(BPF_PROG_LOAD) of a BPF_PROG_TYPE_CGROUP_DEVICE program. Returns the program fd.
// The kernel's errno maps to the code (EPERM -> PermissionDenied, EINVAL -> InvalidArgument);
// the message carries the verifier log when there is one.
absl::StatusOr<int> LoadDeviceFilter(const std::vector<bpf_insn>& insns);

// Builds, loads and attaches the program to the cgroup2 directory `cgroup_dir`
// (BPF_CGROUP_DEVICE, BPF_F_ALLOW_MULTI as runc), then detaches the programs that were
// attached there before (a later Set replaces the rules, it does not add to them).
// Errors as LoadDeviceFilter, plus the errno of open/attach ("attach device filter: ...").
absl::Status ApplyDeviceFilter(const std::string& cgroup_dir, const std::vector<DeviceRule>& rules);

}  // namespace berth::executor
