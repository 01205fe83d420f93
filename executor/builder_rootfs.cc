// Rootfs plan: mounts (with option parsing and the "cgroup" mount expansion), default devices,
// /dev symlinks, masked/read-only paths, hostname and sysctls.
#include <limits.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <map>
#include <set>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "executor/builder.h"

namespace berth::executor {
namespace {

struct OptionFlag {
  bool clear;
  unsigned long flag;
};

const std::map<std::string, OptionFlag>& FlagTable() {
  static const auto* table = new std::map<std::string, OptionFlag>{
      {"defaults", {false, 0}},         {"ro", {false, MS_RDONLY}},
      {"rw", {true, MS_RDONLY}},        {"suid", {true, MS_NOSUID}},
      {"nosuid", {false, MS_NOSUID}},   {"dev", {true, MS_NODEV}},
      {"nodev", {false, MS_NODEV}},     {"exec", {true, MS_NOEXEC}},
      {"noexec", {false, MS_NOEXEC}},   {"sync", {false, MS_SYNCHRONOUS}},
      {"async", {true, MS_SYNCHRONOUS}}, {"dirsync", {false, MS_DIRSYNC}},
      {"remount", {false, MS_REMOUNT}}, {"mand", {false, MS_MANDLOCK}},
      {"nomand", {true, MS_MANDLOCK}},  {"atime", {true, MS_NOATIME}},
      {"noatime", {false, MS_NOATIME}}, {"diratime", {true, MS_NODIRATIME}},
      {"nodiratime", {false, MS_NODIRATIME}}, {"bind", {false, MS_BIND}},
      {"rbind", {false, MS_BIND | MS_REC}}, {"relatime", {false, MS_RELATIME}},
      {"norelatime", {true, MS_RELATIME}}, {"strictatime", {false, MS_STRICTATIME}},
      {"nostrictatime", {true, MS_STRICTATIME}}, {"silent", {false, MS_SILENT}},
      {"loud", {true, MS_SILENT}},
  };
  return *table;
}

const std::map<std::string, unsigned long>& PropagationTable() {
  static const auto* table = new std::map<std::string, unsigned long>{
      {"private", MS_PRIVATE},   {"rprivate", MS_PRIVATE | MS_REC},
      {"shared", MS_SHARED},     {"rshared", MS_SHARED | MS_REC},
      {"slave", MS_SLAVE},       {"rslave", MS_SLAVE | MS_REC},
      {"unbindable", MS_UNBINDABLE}, {"runbindable", MS_UNBINDABLE | MS_REC},
  };
  return *table;
}

std::string CleanContainerPath(const std::string& p) {
  std::vector<std::string> parts;
  for (absl::string_view part : absl::StrSplit(p, '/', absl::SkipEmpty())) {
    if (part == ".") continue;
    if (part == "..") {
      if (!parts.empty()) parts.pop_back();
      continue;
    }
    parts.emplace_back(part);
  }
  return "/" + absl::StrJoin(parts, "/");
}

void AddCgroupMount(const Mount& m, const ParsedMountOptions& o, const std::string& target,
                    const RootfsOptions& opts, RootfsPlan& plan) {
  const auto& cg = opts.cgroups;
  unsigned long base = o.flags & ~MS_RDONLY;
  if (cg.unified) {
    MountOp op{m.destination, cg.v2_dir, target, "", ""};
    if (cg.cgroupns) {
      op.source = "cgroup2";
      op.fstype = "cgroup2";
      op.flags = o.flags;
    } else {
      op.bind = true;
      op.flags = MS_BIND | MS_REC | o.flags;
      op.remount = (o.flags & ~(MS_BIND | MS_REC)) != 0;
    }
    plan.mounts.push_back(op);
    return;
  }
  // v1: a tmpfs holding one bind mount per hierarchy, made read-only last (runc's approach).
  MountOp tmpfs{m.destination, "tmpfs", target, "tmpfs", "mode=755"};
  tmpfs.flags = base;
  plan.mounts.push_back(tmpfs);
  for (const auto& [name, host_dir] : cg.v1) {
    MountOp bind{m.destination, host_dir, target + "/" + name, "", ""};
    bind.bind = true;
    bind.flags = MS_BIND | MS_REC | o.flags;
    bind.remount = true;
    plan.mounts.push_back(bind);
  }
  if (o.flags & MS_RDONLY) {
    MountOp ro{m.destination, "", target, "", ""};
    ro.flags = MS_REMOUNT | MS_RDONLY | base;
    // A remount alone: the child mounts with these flags on an existing target.
    plan.mounts.push_back(ro);
  }
}

void AddDevices(const Spec& spec, const RootfsOptions& opts, RootfsPlan& plan) {
  struct Default {
    const char* path;
    int major, minor;
  };
  static const Default kDefaults[] = {{"/dev/null", 1, 3},    {"/dev/zero", 1, 5},
                                      {"/dev/full", 1, 7},    {"/dev/random", 1, 8},
                                      {"/dev/urandom", 1, 9}, {"/dev/tty", 5, 0}};
  std::set<std::string> seen;
  auto add = [&](const std::string& path, char type, int64_t major, int64_t minor,
                 uint32_t mode, uid_t uid, gid_t gid) {
    if (!seen.insert(path).second) return;
    DeviceOp d;
    d.target = plan.rootfs + CleanContainerPath(path);
    d.parent = d.target.substr(0, d.target.rfind('/'));
    d.host_path = path;
    d.bind = opts.userns;
    mode_t kind = type == 'b' ? S_IFBLK : type == 'p' ? S_IFIFO : S_IFCHR;
    d.mode = kind | (mode & 07777);
    d.dev = makedev(major, minor);
    d.uid = uid;
    d.gid = gid;
    plan.devices.push_back(d);
  };
  for (const auto& d : spec.linux.devices) {
    add(d.path, d.type, d.major, d.minor, d.file_mode.value_or(0666),
        d.uid.value_or(opts.root_uid), d.gid.value_or(opts.root_gid));
  }
  for (const auto& d : kDefaults) {
    add(d.path, 'c', d.major, d.minor, 0666, opts.root_uid, opts.root_gid);
  }
}

}  // namespace

ParsedMountOptions ParseMountOptions(const std::vector<std::string>& options) {
  ParsedMountOptions out;
  std::vector<std::string> data;
  for (const auto& o : options) {
    if (auto it = FlagTable().find(o); it != FlagTable().end()) {
      if (it->second.clear) {
        out.flags &= ~it->second.flag;
      } else {
        out.flags |= it->second.flag;
      }
      if (o == "bind" || o == "rbind") out.bind = true;
    } else if (auto p = PropagationTable().find(o); p != PropagationTable().end()) {
      out.propagation |= p->second;
    } else if (o == "tmpcopyup" || o == "idmap" || o == "ridmap") {
      // runc extensions we do not implement; they carry no mount data.
    } else {
      data.push_back(o);
    }
  }
  out.data = absl::StrJoin(data, ",");
  return out;
}

std::string SecureJoin(const std::string& root, const std::string& unsafe) {
  std::vector<std::string> done;  // resolved components under root
  std::vector<std::string> todo;
  for (absl::string_view part : absl::StrSplit(unsafe, '/', absl::SkipEmpty())) {
    todo.emplace_back(part);
  }
  std::reverse(todo.begin(), todo.end());
  int links = 0;
  while (!todo.empty()) {
    std::string part = todo.back();
    todo.pop_back();
    if (part == ".") continue;
    if (part == "..") {
      if (!done.empty()) done.pop_back();
      continue;
    }
    std::string path = root + "/" + absl::StrJoin(done, "/") + (done.empty() ? "" : "/") + part;
    char buf[PATH_MAX];
    ssize_t n = readlink(path.c_str(), buf, sizeof(buf) - 1);
    if (n < 0 || ++links > 255) {
      done.push_back(part);
      continue;
    }
    std::string target(buf, static_cast<size_t>(n));
    if (!target.empty() && target[0] == '/') done.clear();
    std::vector<std::string> more;
    for (absl::string_view t : absl::StrSplit(target, '/', absl::SkipEmpty())) more.emplace_back(t);
    for (auto it = more.rbegin(); it != more.rend(); ++it) todo.push_back(*it);
  }
  return root + "/" + absl::StrJoin(done, "/");
}

absl::StatusOr<RootfsPlan> BuildRootfsPlan(const Spec& spec, const RootfsOptions& opts) {
  RootfsPlan plan;
  std::string root = spec.root_path.empty() ? "rootfs" : spec.root_path;
  plan.rootfs = root[0] == '/' ? root : opts.bundle + "/" + root;
  char real[PATH_MAX];
  if (realpath(plan.rootfs.c_str(), real) == nullptr) {
    return absl::NotFoundError(absl::StrCat("rootfs ", plan.rootfs, ": ", strerror(errno)));
  }
  plan.rootfs = real;
  if (plan.rootfs == "/") plan.rootfs = "";
  const std::string& prop = spec.linux.rootfs_propagation;
  auto p = PropagationTable().find(prop);
  plan.root_propagation = p != PropagationTable().end() ? p->second : (MS_SLAVE | MS_REC);
  plan.pivot = !opts.no_pivot;
  for (const auto& m : spec.mounts) {
    if (m.destination.empty() || m.destination[0] != '/') {
      return absl::InvalidArgumentError(
          absl::StrCat("mount destination ", m.destination, " is not absolute"));
    }
    ParsedMountOptions o = ParseMountOptions(m.options);
    std::string target = SecureJoin(plan.rootfs, CleanContainerPath(m.destination));
    if (m.type == "cgroup") {
      AddCgroupMount(m, o, target, opts, plan);
      continue;
    }
    MountOp op{m.destination, m.source, target, m.type, o.data};
    op.propagation = o.propagation;
    if (o.bind || m.type == "bind") {
      op.bind = true;
      op.fstype.clear();
      op.data.clear();
      if (!op.source.empty() && op.source[0] != '/') op.source = opts.bundle + "/" + op.source;
      struct stat st;
      op.file_target = stat(op.source.c_str(), &st) == 0 && !S_ISDIR(st.st_mode);
      op.flags = o.flags | MS_BIND;
      op.remount = (o.flags & ~(MS_BIND | MS_REC | MS_REMOUNT)) != 0;
    } else {
      op.flags = o.flags;
      op.sysfs_fallback = m.type == "sysfs";
    }
    plan.mounts.push_back(std::move(op));
  }
  AddDevices(spec, opts, plan);
  const std::string dev = plan.rootfs + "/dev";
  plan.symlinks = {{"/proc/self/fd", dev + "/fd"},
                   {"/proc/self/fd/0", dev + "/stdin"},
                   {"/proc/self/fd/1", dev + "/stdout"},
                   {"/proc/self/fd/2", dev + "/stderr"},
                   {"pts/ptmx", dev + "/ptmx"}};
  plan.masked = spec.linux.masked_paths;
  plan.readonly = spec.linux.readonly_paths;
  plan.readonly_root = spec.root_readonly;
  if (spec.process) plan.cwd_target = SecureJoin(plan.rootfs, CleanContainerPath(spec.process->cwd));
  plan.set_hostname = !spec.hostname.empty() && spec.linux.HasNamespace("uts");
  plan.hostname = spec.hostname;
  plan.set_domainname = !spec.domainname.empty() && spec.linux.HasNamespace("uts");
  plan.domainname = spec.domainname;
  for (const auto& [key, value] : spec.linux.sysctl) {
    plan.sysctls.emplace_back("/proc/sys/" + absl::StrReplaceAll(key, {{".", "/"}}), value);
  }
  return plan;
}

}  // namespace berth::executor
