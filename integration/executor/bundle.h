// Test bundles for the executor integration tests: a rootfs made of the static busybox with one
// symlink per applet, and a runc-spec-like config.json the test edits before running.
#pragma once

#include <sys/stat.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "core/fs.h"
#include "nlohmann/json.hpp"

namespace berth::executor::testing {

inline constexpr char kBusybox[] = "/bin/busybox";

// The parent cgroup of this test process's containers ("berth-itest-<pid>"): one per test
// binary, so that one binary's teardown, which removes its parent, never races another binary
// (ctest -j) creating a container cgroup under a shared one.
inline std::string TestCgroupParent() { return absl::StrCat("berth-itest-", getpid()); }

// Removes TestCgroupParent() from every hierarchy (harmless where it is absent or still used).
inline void RemoveTestCgroupParent() {
  for (const char* h : {"blkio", "cpu", "cpuacct", "cpuset", "devices", "freezer", "memory",
                        "pids", "systemd", "unified", "cpu,cpuacct", "net_cls,net_prio", ""}) {
    rmdir(absl::StrCat("/sys/fs/cgroup/", h, h[0] ? "/" : "", TestCgroupParent()).c_str());
  }
}

inline bool CopyFile(const std::string& from, const std::string& to) {
  auto data = fs::ReadFile(from);
  return data.ok() && fs::WriteFileAtomic(to, *data, 0755).ok();
}

// Creates <dir>/rootfs. false when busybox is missing.
inline bool MakeRootfs(const std::string& dir) {
  std::string root = dir + "/rootfs";
  for (const char* d : {"bin", "proc", "sys", "dev", "tmp", "etc", "work"}) {
    if (!fs::MkdirAll(root + "/" + d).ok()) return false;
  }
  chmod((root + "/tmp").c_str(), 01777);
  if (!CopyFile(kBusybox, root + "/bin/busybox")) return false;
  for (const char* applet : {"sh", "echo", "true", "cat", "sleep", "id", "ls", "mkdir", "touch",
                             "head", "tail", "chown", "wc", "tty", "hostname", "stat"}) {
    symlink("busybox", (root + "/bin/" + applet).c_str());
  }
  return true;
}

inline nlohmann::json DefaultCaps() {
  return {"CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_MKNOD",
          "CAP_NET_RAW", "CAP_SETGID", "CAP_SETUID", "CAP_SETFCAP", "CAP_SETPCAP",
          "CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT", "CAP_KILL", "CAP_AUDIT_WRITE"};
}

// A config like `runc spec` (non-terminal), with the given args and cgroupsPath.
inline nlohmann::json DefaultConfig(const std::vector<std::string>& args,
                                    const std::string& cgroups_path) {
  nlohmann::json caps = DefaultCaps();
  return {
      {"ociVersion", "1.1.0"},
      {"root", {{"path", "rootfs"}, {"readonly", false}}},
      {"hostname", "berth-test"},
      {"process",
       {{"terminal", false},
        {"user", {{"uid", 0}, {"gid", 0}}},
        {"args", args},
        {"env", {"PATH=/bin", "TERM=xterm"}},
        {"cwd", "/"},
        {"capabilities",
         {{"bounding", caps}, {"effective", caps}, {"permitted", caps}, {"ambient", caps}}},
        {"rlimits", {{{"type", "RLIMIT_NOFILE"}, {"hard", 1024}, {"soft", 1024}}}},
        {"noNewPrivileges", true}}},
      {"mounts",
       {{{"destination", "/proc"}, {"type", "proc"}, {"source", "proc"}},
        {{"destination", "/dev"},
         {"type", "tmpfs"},
         {"source", "tmpfs"},
         {"options", {"nosuid", "strictatime", "mode=755", "size=65536k"}}},
        {{"destination", "/dev/pts"},
         {"type", "devpts"},
         {"source", "devpts"},
         {"options", {"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620"}}},
        {{"destination", "/dev/shm"},
         {"type", "tmpfs"},
         {"source", "shm"},
         {"options", {"nosuid", "noexec", "nodev", "mode=1777", "size=65536k"}}},
        {{"destination", "/sys"},
         {"type", "sysfs"},
         {"source", "sysfs"},
         {"options", {"nosuid", "noexec", "nodev", "ro"}}},
        {{"destination", "/sys/fs/cgroup"},
         {"type", "cgroup"},
         {"source", "cgroup"},
         {"options", {"nosuid", "noexec", "nodev", "relatime", "ro"}}}}},
      {"linux",
       {{"cgroupsPath", cgroups_path},
        {"namespaces",
         {{{"type", "pid"}}, {{"type", "network"}}, {{"type", "ipc"}}, {{"type", "uts"}},
          {{"type", "mount"}}}},
        {"maskedPaths", {"/proc/kcore", "/proc/keys", "/sys/firmware"}},
        {"readonlyPaths", {"/proc/bus", "/proc/sys", "/proc/sysrq-trigger"}}}},
  };
}

inline bool WriteConfig(const std::string& dir, const nlohmann::json& config) {
  return fs::WriteFileAtomic(dir + "/config.json", config.dump(2)).ok();
}

}  // namespace berth::executor::testing
