// The OCI runtime spec 1.1 (config.json of a bundle), the parts a Linux runtime acts on.
//
// Parsing never throws: malformed JSON or a wrong type is InvalidArgument naming the field.
// Capability names are resolved to numbers here (unknown names are dropped, as runc does with a
// warning), so later stages only see bit masks.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace berth::executor {

struct User {
  uint32_t uid = 0;
  uint32_t gid = 0;
  std::optional<uint32_t> umask;
  std::vector<uint32_t> additional_gids;
};

struct Rlimit {
  int resource = 0;  // RLIMIT_*
  uint64_t soft = 0;
  uint64_t hard = 0;
};

// Capability sets as bit masks (bit n = capability n).
struct Capabilities {
  uint64_t bounding = 0, effective = 0, inheritable = 0, permitted = 0, ambient = 0;
};

struct Process {
  bool terminal = false;
  uint32_t console_height = 0, console_width = 0;
  User user;
  std::vector<std::string> args;
  std::vector<std::string> env;
  std::string cwd = "/";
  std::optional<Capabilities> capabilities;
  std::vector<Rlimit> rlimits;
  bool no_new_privileges = false;
  std::optional<int> oom_score_adj;
};

struct Mount {
  std::string destination, type, source;
  std::vector<std::string> options;
};

struct Namespace {
  std::string type;  // pid network mount ipc uts user cgroup time
  std::string path;  // join this one instead of creating
};

struct IdMapping {
  uint32_t container_id = 0, host_id = 0, size = 0;
};

struct Device {
  std::string path;
  char type = 'c';  // c u b p
  int64_t major = 0, minor = 0;
  std::optional<uint32_t> file_mode;
  std::optional<uint32_t> uid, gid;
};

struct DeviceRule {
  bool allow = false;
  std::string type = "a";  // a c b
  std::optional<int64_t> major, minor;
  std::string access = "rwm";
};

struct Resources {
  std::vector<DeviceRule> devices;
  struct Memory {
    std::optional<int64_t> limit, reservation, swap, kernel, kernel_tcp;
    std::optional<uint64_t> swappiness;
    std::optional<bool> disable_oom_killer;
  } memory;
  struct Cpu {
    std::optional<uint64_t> shares, period, realtime_period;
    std::optional<int64_t> quota, realtime_runtime;
    std::string cpus, mems;
  } cpu;
  std::optional<int64_t> pids_limit;
  std::optional<uint16_t> blkio_weight;
  std::map<std::string, std::string> unified;  // cgroup v2 file -> value
};

struct SeccompArg {
  uint32_t index = 0;
  uint64_t value = 0, value_two = 0;
  std::string op;
};

struct SeccompSyscall {
  std::vector<std::string> names;
  std::string action;
  std::optional<uint32_t> errno_ret;
  std::vector<SeccompArg> args;
};

struct Seccomp {
  std::string default_action;
  std::optional<uint32_t> default_errno_ret;
  std::vector<std::string> architectures;
  std::vector<std::string> flags;
  std::vector<SeccompSyscall> syscalls;
};

struct Hook {
  std::string path;
  std::vector<std::string> args, env;
  std::optional<int> timeout;
};

struct Hooks {
  std::vector<Hook> prestart, create_runtime, create_container, start_container, poststart,
      poststop;
};

struct Linux {
  std::vector<Namespace> namespaces;
  std::vector<IdMapping> uid_mappings, gid_mappings;
  std::vector<Device> devices;
  std::string cgroups_path;
  std::optional<Resources> resources;
  std::string rootfs_propagation;
  std::vector<std::string> masked_paths, readonly_paths;
  std::map<std::string, std::string> sysctl;
  std::optional<Seccomp> seccomp;

  bool HasNamespace(absl::string_view type) const;
  const Namespace* FindNamespace(absl::string_view type) const;
};

struct Spec {
  std::string oci_version;
  std::string root_path;  // as written; may be relative to the bundle
  bool root_readonly = false;
  std::string hostname, domainname;
  std::optional<Process> process;
  std::vector<Mount> mounts;
  Hooks hooks;
  std::map<std::string, std::string> annotations;
  Linux linux;
};

// Parses a config.json document. InvalidArgument on malformed JSON or wrong field types.
absl::StatusOr<Spec> ParseSpec(absl::string_view json);

// Parses a process object alone (runc exec --process FILE). InvalidArgument as above.
absl::StatusOr<Process> ParseProcess(absl::string_view json);

// Parses linux.resources alone (runc update --resources FILE). InvalidArgument as above.
absl::StatusOr<Resources> ParseResources(absl::string_view json);

// Reads <bundle>/config.json and parses it. NotFound when missing.
absl::StatusOr<Spec> LoadSpec(const std::string& bundle);

// "CAP_CHOWN" -> 0. -1 when unknown.
int CapabilityFromName(absl::string_view name);

}  // namespace berth::executor
