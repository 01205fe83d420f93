#include "executor/spec_example.h"

#include <string_view>

#include "absl/strings/match.h"
#include "nlohmann/json.hpp"

namespace berth::executor {
namespace {

// ordered_json: runc's JSON follows the Go struct field order of runtime-spec's specs.Spec.
using Json = nlohmann::ordered_json;

Json MountJson(const char* dest, const char* type, const char* source,
           std::initializer_list<const char*> options) {
  Json m = {{"destination", dest}, {"type", type}, {"source", source}};
  if (options.size() > 0) {
    m["options"] = Json::array();
    for (const char* o : options) m["options"].push_back(o);
  }
  return m;
}

Json MountsJson(bool rootless) {
  Json mounts = Json::array();
  mounts.push_back(MountJson("/proc", "proc", "proc", {}));
  mounts.push_back(
      MountJson("/dev", "tmpfs", "tmpfs", {"nosuid", "strictatime", "mode=755", "size=65536k"}));
  mounts.push_back(MountJson("/dev/pts", "devpts", "devpts",
                         {"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"}));
  mounts.push_back(
      MountJson("/dev/shm", "tmpfs", "shm", {"nosuid", "noexec", "nodev", "mode=1777", "size=65536k"}));
  mounts.push_back(MountJson("/dev/mqueue", "mqueue", "mqueue", {"nosuid", "noexec", "nodev"}));
  if (rootless) {
    // A user namespace that does not own the network namespace may not mount sysfs.
    mounts.push_back(MountJson("/sys", "none", "/sys", {"rbind", "nosuid", "noexec", "nodev", "ro"}));
  } else {
    mounts.push_back(MountJson("/sys", "sysfs", "sysfs", {"nosuid", "noexec", "nodev", "ro"}));
  }
  mounts.push_back(MountJson("/sys/fs/cgroup", "cgroup", "cgroup",
                         {"nosuid", "noexec", "nodev", "relatime", "ro"}));
  if (rootless) {
    for (Json& m : mounts) {
      if (!m.contains("options")) continue;
      Json kept = Json::array();
      for (const Json& o : m["options"]) {
        const std::string& s = o.get_ref<const std::string&>();
        if (!absl::StartsWith(s, "uid=") && !absl::StartsWith(s, "gid=")) kept.push_back(o);
      }
      m["options"] = kept;
    }
  }
  return mounts;
}

Json LinuxJson(const ExampleSpecOptions& o) {
  Json linux_ = Json::object();
  if (o.rootless) {
    linux_["uidMappings"] = Json::array({{{"containerID", 0}, {"hostID", o.uid}, {"size", 1}}});
    linux_["gidMappings"] = Json::array({{{"containerID", 0}, {"hostID", o.gid}, {"size", 1}}});
  } else {
    linux_["resources"] = {{"devices", Json::array({{{"allow", false}, {"access", "rwm"}}})}};
  }
  Json ns = Json::array();
  for (const char* t : {"pid", "network", "ipc", "uts", "mount"}) {
    if (o.rootless && std::string_view(t) == "network") continue;
    ns.push_back({{"type", t}});
  }
  if (o.rootless) ns.push_back({{"type", "user"}});
  linux_["namespaces"] = ns;
  linux_["maskedPaths"] = {"/proc/acpi",          "/proc/asound",      "/proc/kcore",
                           "/proc/keys",          "/proc/latency_stats", "/proc/timer_list",
                           "/proc/timer_stats",   "/proc/sched_debug", "/sys/firmware",
                           "/proc/scsi"};
  linux_["readonlyPaths"] = {"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys",
                             "/proc/sysrq-trigger"};
  return linux_;
}

}  // namespace

std::string ExampleSpecJson(const ExampleSpecOptions& options) {
  Json caps = {"CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"};
  Json spec = Json::object();
  spec["ociVersion"] = "1.1.0";
  spec["process"] = {
      {"terminal", true},
      {"user", {{"uid", 0}, {"gid", 0}}},
      {"args", {"sh"}},
      {"env", {"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "TERM=xterm"}},
      {"cwd", "/"},
      {"capabilities",
       {{"bounding", caps}, {"effective", caps}, {"permitted", caps}, {"ambient", caps}}},
      {"rlimits", Json::array({{{"type", "RLIMIT_NOFILE"}, {"hard", 1024}, {"soft", 1024}}})},
      {"noNewPrivileges", true}};
  spec["root"] = {{"path", "rootfs"}, {"readonly", true}};
  spec["hostname"] = "runc";
  spec["mounts"] = MountsJson(options.rootless);
  spec["linux"] = LinuxJson(options);
  return spec.dump(1, '\t');
}

}  // namespace berth::executor
