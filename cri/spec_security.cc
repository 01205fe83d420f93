// Capabilities and seccomp for CRI containers (containerd pkg/cri/opts/spec_linux.go,
// contrib/seccomp/seccomp_default.go for the syscalls a default profile refuses).
#include <set>

#include "core/status_macros.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "cri/spec.h"

namespace berth::cri {
namespace {

// containerd's default capability set for containers (oci/spec.go defaultUnixCaps).
const std::vector<std::string> kDefaultCaps = {
    "CAP_CHOWN",  "CAP_DAC_OVERRIDE",     "CAP_FSETID",     "CAP_FOWNER", "CAP_MKNOD",
    "CAP_NET_RAW", "CAP_SETGID",          "CAP_SETUID",     "CAP_SETFCAP", "CAP_SETPCAP",
    "CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT", "CAP_KILL", "CAP_AUDIT_WRITE",
};

// Every capability the kernel knows today (for privileged containers and "ALL").
const std::vector<std::string> kAllCaps = {
    "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER", "CAP_FSETID",
    "CAP_KILL", "CAP_SETGID", "CAP_SETUID", "CAP_SETPCAP", "CAP_LINUX_IMMUTABLE",
    "CAP_NET_BIND_SERVICE", "CAP_NET_BROADCAST", "CAP_NET_ADMIN", "CAP_NET_RAW",
    "CAP_IPC_LOCK", "CAP_IPC_OWNER", "CAP_SYS_MODULE", "CAP_SYS_RAWIO", "CAP_SYS_CHROOT",
    "CAP_SYS_PTRACE", "CAP_SYS_PACCT", "CAP_SYS_ADMIN", "CAP_SYS_BOOT", "CAP_SYS_NICE",
    "CAP_SYS_RESOURCE", "CAP_SYS_TIME", "CAP_SYS_TTY_CONFIG", "CAP_MKNOD", "CAP_LEASE",
    "CAP_AUDIT_WRITE", "CAP_AUDIT_CONTROL", "CAP_SETFCAP", "CAP_MAC_OVERRIDE",
    "CAP_MAC_ADMIN", "CAP_SYSLOG", "CAP_WAKE_ALARM", "CAP_BLOCK_SUSPEND", "CAP_AUDIT_READ",
    "CAP_PERFMON", "CAP_BPF", "CAP_CHECKPOINT_RESTORE",
};

std::string CapName(const std::string& c) {
  std::string u = absl::AsciiStrToUpper(c);
  return absl::StartsWith(u, "CAP_") ? u : "CAP_" + u;
}

}  // namespace

std::vector<std::string> EffectiveCapabilities(const ::runtime::v1::Capability& caps,
                                               bool privileged) {
  if (privileged) return kAllCaps;
  std::set<std::string> set(kDefaultCaps.begin(), kDefaultCaps.end());
  // containerd order: add first (ALL = every cap), then drop (ALL = none), so "drop ALL, add X"
  // keeps X only when X is added after the drop; CRI semantics: drop ALL wins except for adds.
  bool drop_all = false;
  for (const auto& d : caps.drop_capabilities()) drop_all |= absl::AsciiStrToUpper(d) == "ALL";
  for (const auto& a : caps.add_capabilities()) {
    if (absl::AsciiStrToUpper(a) == "ALL") set.insert(kAllCaps.begin(), kAllCaps.end());
  }
  if (drop_all) set.clear();
  for (const auto& a : caps.add_capabilities()) {
    if (absl::AsciiStrToUpper(a) != "ALL") set.insert(CapName(a));
  }
  for (const auto& d : caps.drop_capabilities()) {
    if (absl::AsciiStrToUpper(d) != "ALL") set.erase(CapName(d));
  }
  return {set.begin(), set.end()};
}

nlohmann::json DefaultSeccompProfile() {
  static const char* kDenied[] = {
      "acct", "add_key", "bpf", "clock_adjtime", "clock_settime", "create_module",
      "delete_module", "finit_module", "get_kernel_syms", "get_mempolicy", "init_module",
      "ioperm", "iopl", "kcmp", "kexec_file_load", "kexec_load", "keyctl", "lookup_dcookie",
      "mbind", "mount", "move_pages", "name_to_handle_at", "nfsservctl", "open_by_handle_at",
      "perf_event_open", "pivot_root", "process_vm_readv", "process_vm_writev", "ptrace",
      "query_module", "quotactl", "reboot", "request_key", "set_mempolicy", "setns",
      "settimeofday", "stime", "swapoff", "swapon", "_sysctl", "sysfs", "umount", "umount2",
      "unshare", "uselib", "userfaultfd", "ustat", "vm86", "vm86old", "fsopen", "fsmount",
      "fsconfig", "fspick", "move_mount", "open_tree",
  };
  nlohmann::json names = nlohmann::json::array();
  for (const char* n : kDenied) names.push_back(n);
#if defined(__x86_64__)
  nlohmann::json arches = {"SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"};
#elif defined(__aarch64__)
  nlohmann::json arches = {"SCMP_ARCH_AARCH64", "SCMP_ARCH_ARM"};
#else
  nlohmann::json arches = nlohmann::json::array();
#endif
  return {{"defaultAction", "SCMP_ACT_ALLOW"},
          {"architectures", arches},
          {"syscalls", {{{"names", names}, {"action", "SCMP_ACT_ERRNO"}, {"errnoRet", 1}}}}};
}

nlohmann::json LinuxResources(const ::runtime::v1::LinuxContainerResources& r) {
  nlohmann::json res = nlohmann::json::object();
  nlohmann::json cpu = nlohmann::json::object();
  if (r.cpu_period() > 0) cpu["period"] = r.cpu_period();
  if (r.cpu_quota() > 0) cpu["quota"] = r.cpu_quota();
  if (r.cpu_shares() > 0) cpu["shares"] = r.cpu_shares();
  if (!r.cpuset_cpus().empty()) cpu["cpus"] = r.cpuset_cpus();
  if (!r.cpuset_mems().empty()) cpu["mems"] = r.cpuset_mems();
  if (!cpu.empty()) res["cpu"] = cpu;
  if (r.memory_limit_in_bytes() > 0) {
    res["memory"]["limit"] = r.memory_limit_in_bytes();
    if (r.memory_swap_limit_in_bytes() > 0) res["memory"]["swap"] = r.memory_swap_limit_in_bytes();
  }
  for (const auto& h : r.hugepage_limits()) {
    res["hugepageLimits"].push_back({{"pageSize", h.page_size()}, {"limit", h.limit()}});
  }
  if (!r.unified().empty()) {
    for (const auto& [k, v] : r.unified()) res["unified"][k] = v;
  }
  return res;
}

}  // namespace berth::cri
