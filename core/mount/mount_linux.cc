#include <fcntl.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <map>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "core/mount/mount.h"
#include "core/status.h"

namespace berth::mount {
namespace {

struct FlagWord {
  bool clear;  // true: the word clears `flag` (e.g. "rw" clears MS_RDONLY)
  unsigned long flag;
};

// containerd's mount_linux.go table, which follows mount(8).
const std::map<std::string, FlagWord, std::less<>>& FlagWords() {
  static const auto* words = new std::map<std::string, FlagWord, std::less<>>{
      {"async", {true, MS_SYNCHRONOUS}},   {"atime", {true, MS_NOATIME}},
      {"bind", {false, MS_BIND}},          {"defaults", {false, 0}},
      {"dev", {true, MS_NODEV}},           {"diratime", {true, MS_NODIRATIME}},
      {"dirsync", {false, MS_DIRSYNC}},    {"exec", {true, MS_NOEXEC}},
      {"mand", {false, MS_MANDLOCK}},      {"noatime", {false, MS_NOATIME}},
      {"nodev", {false, MS_NODEV}},        {"nodiratime", {false, MS_NODIRATIME}},
      {"noexec", {false, MS_NOEXEC}},      {"nomand", {true, MS_MANDLOCK}},
      {"norelatime", {true, MS_RELATIME}}, {"nostrictatime", {true, MS_STRICTATIME}},
      {"nosuid", {false, MS_NOSUID}},      {"rbind", {false, MS_BIND | MS_REC}},
      {"relatime", {false, MS_RELATIME}},  {"remount", {false, MS_REMOUNT}},
      {"ro", {false, MS_RDONLY}},          {"rw", {true, MS_RDONLY}},
      {"strictatime", {false, MS_STRICTATIME}}, {"suid", {true, MS_NOSUID}},
      {"sync", {false, MS_SYNCHRONOUS}},
  };
  return *words;
}

const std::map<std::string, unsigned long, std::less<>>& PropagationWords() {
  static const auto* words = new std::map<std::string, unsigned long, std::less<>>{
      {"private", MS_PRIVATE},           {"rprivate", MS_PRIVATE | MS_REC},
      {"shared", MS_SHARED},             {"rshared", MS_SHARED | MS_REC},
      {"slave", MS_SLAVE},               {"rslave", MS_SLAVE | MS_REC},
      {"unbindable", MS_UNBINDABLE},     {"runbindable", MS_UNBINDABLE | MS_REC},
  };
  return *words;
}

std::string JoinTarget(const std::string& target, const std::string& sub) {
  if (sub.empty() || sub == "/") return target;
  if (absl::EndsWith(target, "/") || absl::StartsWith(sub, "/")) return target + sub;
  return absl::StrCat(target, "/", sub);
}

// Runs mount(2) in a forked child whose working directory is `dir`, so relative lowerdirs
// resolve there. After fork only async-signal-safe calls: chdir, mount, write, _exit.
absl::Status MountInChild(const std::string& dir, const std::string& source,
                          const std::string& target, const std::string& type,
                          unsigned long flags, const std::string& data) {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) return ErrnoStatus("pipe");
  pid_t pid = ::fork();
  if (pid < 0) {
    int err = errno;
    ::close(fds[0]);
    ::close(fds[1]);
    return ErrnoStatus(err, "fork for overlay mount");
  }
  if (pid == 0) {
    ::close(fds[0]);
    int err = 0;
    if (::chdir(dir.c_str()) != 0 ||
        ::mount(source.c_str(), target.c_str(), type.c_str(), flags, data.c_str()) != 0) {
      err = errno;
    }
    ssize_t ignored = ::write(fds[1], &err, sizeof(err));
    (void)ignored;
    ::_exit(err == 0 ? 0 : 1);
  }
  ::close(fds[1]);
  int err = 0;
  ssize_t n;
  do {
    n = ::read(fds[0], &err, sizeof(err));
  } while (n < 0 && errno == EINTR);
  ::close(fds[0]);
  int wstatus = 0;
  while (::waitpid(pid, &wstatus, 0) < 0 && errno == EINTR) {
  }
  if (n != static_cast<ssize_t>(sizeof(err))) {
    return absl::InternalError("overlay mount child died without reporting");
  }
  if (err != 0) return ErrnoStatus(err, absl::StrCat("mount ", type, " on ", target));
  return absl::OkStatus();
}

// Last resort for an overlay whose lowerdir list does not fit a page even when made relative:
// the new mount API takes each lower layer as its own "lowerdir+" parameter (Linux >= 6.5), so
// there is no total limit. Older kernels reject "lowerdir+" and the error is returned.
absl::Status MountOverlayWithFsconfig(const std::vector<std::string>& data,
                                      unsigned long flags, const std::string& target) {
  int fsfd = ::fsopen("overlay", FSOPEN_CLOEXEC);
  if (fsfd < 0) return ErrnoStatus("fsopen overlay");
  auto fail = [&](absl::string_view what) {
    absl::Status st = ErrnoStatus(absl::StrCat("mount overlay on ", target, ": ", what));
    ::close(fsfd);
    return st;
  };
  for (const auto& opt : data) {
    std::pair<std::string, std::string> kv = absl::StrSplit(opt, absl::MaxSplits('=', 1));
    const bool has_value = opt.find('=') != std::string::npos;
    if (kv.first == "lowerdir") {
      for (const auto& dir : absl::StrSplit(kv.second, ':')) {
        std::string d(dir);
        if (::fsconfig(fsfd, FSCONFIG_SET_STRING, "lowerdir+", d.c_str(), 0) != 0) {
          return fail(absl::StrCat("lowerdir+ ", d));
        }
      }
    } else if (has_value) {
      if (::fsconfig(fsfd, FSCONFIG_SET_STRING, kv.first.c_str(), kv.second.c_str(), 0) != 0) {
        return fail(opt);
      }
    } else if (::fsconfig(fsfd, FSCONFIG_SET_FLAG, kv.first.c_str(), nullptr, 0) != 0) {
      return fail(opt);
    }
  }
  if (::fsconfig(fsfd, FSCONFIG_CMD_CREATE, nullptr, nullptr, 0) != 0) return fail("create");
  unsigned int attrs = 0;
  if (flags & MS_RDONLY) attrs |= MOUNT_ATTR_RDONLY;
  if (flags & MS_NOSUID) attrs |= MOUNT_ATTR_NOSUID;
  if (flags & MS_NODEV) attrs |= MOUNT_ATTR_NODEV;
  if (flags & MS_NOEXEC) attrs |= MOUNT_ATTR_NOEXEC;
  if (flags & MS_NOATIME) attrs |= MOUNT_ATTR_NOATIME;
  int mfd = ::fsmount(fsfd, FSMOUNT_CLOEXEC, attrs);
  if (mfd < 0) return fail("fsmount");
  ::close(fsfd);
  int rc = ::move_mount(mfd, "", AT_FDCWD, target.c_str(), MOVE_MOUNT_F_EMPTY_PATH);
  int err = errno;
  ::close(mfd);
  if (rc != 0) return ErrnoStatus(err, absl::StrCat("move overlay mount to ", target));
  return absl::OkStatus();
}

}  // namespace

std::string ParsedOptions::DataString() const { return absl::StrJoin(data, ","); }

ParsedOptions ParseOptions(const std::vector<std::string>& options) {
  ParsedOptions out;
  for (const auto& opt : options) {
    if (auto it = FlagWords().find(opt); it != FlagWords().end()) {
      if (it->second.clear) {
        out.flags &= ~it->second.flag;
      } else {
        out.flags |= it->second.flag;
      }
    } else if (auto pit = PropagationWords().find(opt); pit != PropagationWords().end()) {
      out.propagation |= pit->second;
    } else {
      out.data.push_back(opt);
    }
  }
  return out;
}

size_t MaxMountDataLength() {
  long page = ::sysconf(_SC_PAGESIZE);
  return page > 0 ? static_cast<size_t>(page) - 1 : 4095;
}

CompactedData CompactLowerdirs(const std::string& data) {
  std::vector<std::string> parts = absl::StrSplit(data, ',');
  int lower_index = -1;
  for (size_t i = 0; i < parts.size(); ++i) {
    if (absl::StartsWith(parts[i], "lowerdir=")) lower_index = static_cast<int>(i);
  }
  if (lower_index < 0) return {"", data};
  std::vector<std::string> dirs =
      absl::StrSplit(parts[lower_index].substr(strlen("lowerdir=")), ':');
  // Longest common prefix ending in '/', shared by every absolute lowerdir.
  std::string common;
  for (size_t i = 0; i < dirs.size(); ++i) {
    if (!absl::StartsWith(dirs[i], "/")) return {"", data};
    if (i == 0) {
      common = dirs[i].substr(0, dirs[i].rfind('/') + 1);
      continue;
    }
    while (!common.empty() && !absl::StartsWith(dirs[i], common)) {
      common.pop_back();
      common = common.substr(0, common.rfind('/') + 1);
    }
  }
  if (common.size() <= 1) return {"", data};
  for (auto& d : dirs) d = d.substr(common.size());
  parts[lower_index] = absl::StrCat("lowerdir=", absl::StrJoin(dirs, ":"));
  common.pop_back();  // "/a/b/" -> "/a/b"
  return {common, absl::StrJoin(parts, ",")};
}

absl::Status MountOne(const Mount& m, const std::string& target) {
  if (m.type.empty()) return absl::InvalidArgumentError("mount: empty type");
  const std::string dest = JoinTarget(target, m.target);
  ParsedOptions parsed = ParseOptions(m.options);
  std::string type = m.type;
  if (type == "bind" || type == "rbind") {
    parsed.flags |= MS_BIND | (type == "rbind" ? MS_REC : 0);
    type = "none";
  }
  std::string data = parsed.DataString();
  std::string chdir_to;
  if (data.size() > MaxMountDataLength()) {
    if (m.type != "overlay") {
      return absl::InvalidArgumentError(absl::StrCat("mount ", m.type, " on ", dest,
                                                     ": options longer than a page (",
                                                     data.size(), " bytes)"));
    }
    CompactedData compact = CompactLowerdirs(data);
    if (compact.chdir.empty() || compact.data.size() > MaxMountDataLength()) {
      return MountOverlayWithFsconfig(parsed.data, parsed.flags, dest);
    }
    chdir_to = compact.chdir;
    data = compact.data;
  }
  // A bind mount ignores every flag but MS_REC on the first call; read-only and the other
  // per-mount flags need a remount (mount(8) does the same).
  const bool bind = parsed.flags & MS_BIND;
  const unsigned long main_flags = bind ? (parsed.flags & (MS_BIND | MS_REC)) : parsed.flags;
  absl::Status st;
  if (!chdir_to.empty()) {
    st = MountInChild(chdir_to, m.source, dest, type, main_flags, data);
  } else if (::mount(m.source.c_str(), dest.c_str(), type.c_str(), main_flags,
                     data.empty() ? nullptr : data.c_str()) != 0) {
    st = ErrnoStatus(absl::StrCat("mount ", m.type, " ", m.source, " on ", dest));
  }
  if (!st.ok()) return st;
  const unsigned long remount_flags = parsed.flags & ~(MS_BIND | MS_REC | MS_REMOUNT);
  if (bind && remount_flags != 0) {
    if (::mount("", dest.c_str(), "", MS_REMOUNT | MS_BIND | remount_flags, nullptr) != 0) {
      st = ErrnoStatus(absl::StrCat("remount bind ", dest));
      (void)::umount2(dest.c_str(), MNT_DETACH);
      return st;
    }
  }
  if (parsed.propagation != 0) {
    if (::mount("", dest.c_str(), "", parsed.propagation, nullptr) != 0) {
      st = ErrnoStatus(absl::StrCat("set propagation of ", dest));
      (void)::umount2(dest.c_str(), MNT_DETACH);
      return st;
    }
  }
  return absl::OkStatus();
}

absl::Status MountAll(const std::vector<Mount>& mounts, const std::string& target) {
  for (size_t i = 0; i < mounts.size(); ++i) {
    absl::Status st = MountOne(mounts[i], target);
    if (!st.ok()) {
      for (size_t j = i; j-- > 0;) {
        (void)Unmount(JoinTarget(target, mounts[j].target), {.detach = true, .busy_retries = 0});
      }
      return st;
    }
  }
  return absl::OkStatus();
}

absl::Status Unmount(const std::string& target, const UnmountOptions& opts) {
  const int flags = opts.detach ? MNT_DETACH : 0;
  for (int attempt = 0;; ++attempt) {
    if (::umount2(target.c_str(), flags) == 0) return absl::OkStatus();
    int err = errno;
    if (err == EINTR) continue;
    if (err == EBUSY && attempt < opts.busy_retries) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
      continue;
    }
    return ErrnoStatus(err, absl::StrCat("unmount ", target));
  }
}

absl::Status UnmountAll(const std::string& target, const UnmountOptions& opts) {
  // Mounts can be stacked on one path: unmount until the kernel says it is not a mount point.
  for (int i = 0; i < 1000; ++i) {
    absl::Status st = Unmount(target, opts);
    if (st.ok()) continue;
    if (absl::IsInvalidArgument(st) || absl::IsNotFound(st)) return absl::OkStatus();
    return st;
  }
  return absl::InternalError(absl::StrCat("unmount all ", target, ": too many stacked mounts"));
}

}  // namespace berth::mount
