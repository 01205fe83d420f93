// Container and pod resource usage read straight from cgroupfs and /proc/net/dev, the numbers
// kubelet's CRI stats provider (and cadvisor) expect: cumulative CPU in nanoseconds, memory
// working set = usage - inactive_file, rss, page faults, OOM kills, process count; network
// bytes/errors per interface of the pod's network namespace.
//
// cgroup v1 (and hybrid): <root>/{cpuacct,memory,pids}<path>; pure v2: <root><path> (detected by
// <root>/cgroup.controllers). `root` is a parameter so tests use a fake directory.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "proto/cri_api.h"

namespace berth::cri {

inline constexpr char kCgroupRoot[] = "/sys/fs/cgroup";

struct CgroupUsage {
  uint64_t cpu_usage_ns = 0;
  uint64_t memory_usage = 0;  // v1 memory.usage_in_bytes, v2 memory.current
  uint64_t working_set = 0;   // usage - inactive_file (never below 0)
  uint64_t rss = 0;           // v1 total_rss, v2 anon
  uint64_t page_faults = 0;   // pgfault
  uint64_t major_page_faults = 0;
  uint64_t memory_limit = 0;  // 0 = unlimited
  uint64_t oom_kills = 0;     // v1 memory.oom_control oom_kill, v2 memory.events oom_kill
  uint64_t pids = 0;

  CgroupUsage& operator+=(const CgroupUsage& o);
};

// The cgroupfs-relative path of an OCI linux.cgroupsPath: "/a/b" as is, "a/b" -> "/a/b", runc's
// systemd form "slice:prefix:name" -> "/slice/prefix-name.scope".
std::string CgroupRelativePath(const std::string& cgroups_path);

// NotFound when neither the memory nor the cpu accounting cgroup of `cgroups_path` exists
// (container not started, or its task already deleted). Missing single files read as 0.
absl::StatusOr<CgroupUsage> ReadCgroupUsage(const std::string& root,
                                            const std::string& cgroups_path);

// linux.cgroupsPath of an OCI spec (JSON text); "" when absent or unparsable.
std::string SpecCgroupsPath(const std::string& spec_json);

struct InterfaceUsage {
  std::string name;
  uint64_t rx_bytes = 0, rx_errors = 0, tx_bytes = 0, tx_errors = 0;
};

// Parses /proc/<pid>/net/dev (two header lines, then "name: rx_bytes packets errs ... tx_bytes
// packets errs ..."). Malformed lines are skipped; "lo" is kept (callers filter it).
std::vector<InterfaceUsage> ParseNetDev(absl::string_view text);

// Usage of every interface in the network namespace pinned at `netns_path` (read from a
// thread that joined it). Internal with errno context when the namespace cannot be entered.
absl::StatusOr<std::vector<InterfaceUsage>> ReadNetnsUsage(const std::string& netns_path);

// Fill CRI messages; `ts` is the sample time in unix nanos.
void FillCpuUsage(const CgroupUsage& u, int64_t ts, ::runtime::v1::CpuUsage* out);
void FillMemoryUsage(const CgroupUsage& u, int64_t ts, ::runtime::v1::MemoryUsage* out);
void FillInterfaceUsage(const InterfaceUsage& u, ::runtime::v1::NetworkInterfaceUsage* out);

}  // namespace berth::cri
