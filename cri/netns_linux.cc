#include <fcntl.h>
#include <net/if.h>
#include <sched.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <thread>

#include "core/status_macros.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "core/fs.h"
#include "core/status.h"
#include "cri/netns.h"

namespace berth::cri {
namespace {

// Runs in the child after fork: no allocation, only syscalls; the errno goes back on `report`.
[[noreturn]] void ChildMain(int flags, const char* hostname, size_t hostname_len, int report,
                            int hold) {
  int err = 0;
  if (::unshare(flags) != 0) err = errno;
  if (err == 0 && hostname_len > 0 && ::sethostname(hostname, hostname_len) != 0) err = errno;
  if (err == 0 && (flags & CLONE_NEWNET)) {
    // Loopback is always up in a pod, with or without CNI (CRI: the runtime's job).
    int s = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    struct ifreq ifr;
    std::memset(&ifr, 0, sizeof(ifr));
    std::memcpy(ifr.ifr_name, "lo", 3);
    if (s < 0 || ::ioctl(s, SIOCGIFFLAGS, &ifr) != 0) {
      err = errno;
    } else {
      ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
      if (::ioctl(s, SIOCSIFFLAGS, &ifr) != 0) err = errno;
    }
  }
  [[maybe_unused]] ssize_t w = ::write(report, &err, sizeof(err));
  char b;
  [[maybe_unused]] ssize_t r = ::read(hold, &b, 1);  // until the parent pinned our namespaces
  ::_exit(0);
}

absl::Status Pin(pid_t pid, const char* kind, const std::string& target) {
  BERTH_RETURN_IF_ERROR(fs::WriteFileReplace(target, "", 0444));
  std::string src = absl::StrCat("/proc/", pid, "/ns/", kind);
  if (::mount(src.c_str(), target.c_str(), nullptr, MS_BIND, nullptr) != 0) {
    return ErrnoStatus(absl::StrCat("bind-mount ", src, " on ", target));
  }
  return absl::OkStatus();
}

void Unpin(const std::string& path) {
  if (path.empty()) return;
  ::umount2(path.c_str(), MNT_DETACH);
  ::unlink(path.c_str());
}

}  // namespace

absl::StatusOr<PodNamespaces> CreatePodNamespaces(const std::string& dir,
                                                  const std::string& hostname, bool host_network,
                                                  bool host_ipc) {
  BERTH_RETURN_IF_ERROR(fs::MkdirAll(dir, 0711));
  int flags = (host_ipc ? 0 : CLONE_NEWIPC) | (host_network ? 0 : CLONE_NEWUTS | CLONE_NEWNET);
  if (flags == 0) return PodNamespaces{};
  int report[2], hold[2];
  if (::pipe2(report, O_CLOEXEC) != 0) return ErrnoStatus("pipe");
  if (::pipe2(hold, O_CLOEXEC) != 0) {
    ::close(report[0]);
    ::close(report[1]);
    return ErrnoStatus("pipe");
  }
  // Host-network pods keep the host's hostname (kubelet sets none for them).
  std::string name = host_network ? "" : hostname;
  pid_t pid = ::fork();
  if (pid == 0) {
    // The child must not hold the write end of `hold` itself, or its read never sees EOF.
    ::close(hold[1]);
    ::close(report[0]);
    ChildMain(flags, name.c_str(), name.size(), report[1], hold[0]);
  }
  ::close(report[1]);
  ::close(hold[0]);
  absl::Status status;
  PodNamespaces ns;
  int err = -1;
  if (pid < 0) {
    status = ErrnoStatus("fork for pod namespaces");
  } else if (::read(report[0], &err, sizeof(err)) != sizeof(err) || err != 0) {
    status = ErrnoStatus(err > 0 ? err : EIO, "create pod namespaces");
  } else {
    if (!host_ipc) {
      ns.ipc = dir + "/ipc";
      status = Pin(pid, "ipc", ns.ipc);
    }
    if (status.ok() && !host_network) {
      ns.uts = dir + "/uts";
      ns.net = dir + "/net";
      status = Pin(pid, "uts", ns.uts);
      if (status.ok()) status = Pin(pid, "net", ns.net);
    }
  }
  ::close(report[0]);
  ::close(hold[1]);  // lets the child exit
  if (pid > 0) {
    int ws;
    while (::waitpid(pid, &ws, 0) < 0 && errno == EINTR) {
    }
  }
  if (!status.ok()) {
    RemovePodNamespaces(ns).IgnoreError();
    return status;
  }
  return ns;
}

absl::Status RemovePodNamespaces(const PodNamespaces& ns) {
  Unpin(ns.net);
  Unpin(ns.ipc);
  Unpin(ns.uts);
  return absl::OkStatus();
}

absl::Status RunInNamespace(const std::string& ns_path, int nstype,
                            const std::function<absl::Status()>& fn) {
  int fd = ::open(ns_path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return ErrnoStatus(absl::StrCat("open namespace ", ns_path));
  absl::Status status;
  // A fresh thread: once it has joined the namespace it only runs fn and exits, so no other
  // work of the daemon ever runs in the pod's namespace.
  std::thread t([&] {
    if (::setns(fd, nstype) != 0) {
      status = ErrnoStatus(absl::StrCat("setns ", ns_path));
      return;
    }
    status = fn();
  });
  t.join();
  ::close(fd);
  return status;
}

SysctlNamespace ClassifySysctl(const std::string& raw) {
  std::string name = absl::StrReplaceAll(raw, {{"/", "."}});
  if (absl::StartsWith(name, "net.")) return SysctlNamespace::kNet;
  if (name == "kernel.sem" || absl::StartsWith(name, "kernel.shm") ||
      absl::StartsWith(name, "kernel.msg") || absl::StartsWith(name, "fs.mqueue.")) {
    return SysctlNamespace::kIpc;
  }
  if (name == "kernel.hostname" || name == "kernel.domainname") return SysctlNamespace::kUts;
  return SysctlNamespace::kNone;
}

absl::StatusOr<std::string> SysctlPath(const std::string& name) {
  bool ok = !name.empty();
  for (char c : name) ok &= absl::ascii_isalnum(c) || c == '_' || c == '.' || c == '-' || c == '/';
  // Dotted names use '/' for a '.' inside a part (kubelet: "net/ipv4/conf/eth0.100/..." is
  // "net.ipv4.conf.eth0/100..."); here: a name with '/' is taken as slashed as a whole.
  std::string path = absl::StrContains(name, '/') ? name : absl::StrReplaceAll(name, {{".", "/"}});
  for (absl::string_view part : absl::StrSplit(path, '/')) ok &= !part.empty() && part != "..";
  if (!ok) return absl::InvalidArgumentError(absl::StrCat("invalid sysctl name \"", name, "\""));
  return absl::StrCat("/proc/sys/", path);
}

absl::Status ApplyPodSysctls(const PodNamespaces& ns,
                             const std::map<std::string, std::string>& sysctls) {
  for (const auto& sysctl : sysctls) {
    // Not a structured binding: the lambda below captures these, which clang 14 cannot.
    const std::string& name = sysctl.first;
    const std::string& value = sysctl.second;
    BERTH_ASSIGN_OR_RETURN(std::string path, SysctlPath(name));
    SysctlNamespace kind = ClassifySysctl(name);
    std::string target = kind == SysctlNamespace::kNet   ? ns.net
                         : kind == SysctlNamespace::kIpc ? ns.ipc
                                                         : "";
    if (kind == SysctlNamespace::kNone) {
      return absl::InvalidArgumentError(absl::StrCat("sysctl \"", name, "\" is not namespaced"));
    }
    if (kind == SysctlNamespace::kUts) continue;  // set per container (hostname is the pod's)
    if (target.empty()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "sysctl \"", name, "\" not allowed: the pod shares this namespace with the host"));
    }
    int nstype = kind == SysctlNamespace::kNet ? CLONE_NEWNET : CLONE_NEWIPC;
    BERTH_RETURN_IF_ERROR(RunInNamespace(target, nstype, [&]() -> absl::Status {
      int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC | O_TRUNC);
      if (fd < 0) return ErrnoStatus(absl::StrCat("sysctl ", name));
      ssize_t n = ::write(fd, value.data(), value.size());
      int err = errno;
      ::close(fd);
      if (n != static_cast<ssize_t>(value.size())) {
        return ErrnoStatus(n < 0 ? err : EIO, absl::StrCat("sysctl ", name, "=", value));
      }
      return absl::OkStatus();
    }));
  }
  return absl::OkStatus();
}

}  // namespace berth::cri
