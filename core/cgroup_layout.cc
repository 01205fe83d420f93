#include "core/cgroup_layout.h"

#include <map>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "core/fs.h"
#include "core/status_macros.h"

namespace berth::cgroup {
namespace {

// Per-superblock options of a v1 cgroup mount that are not controllers.
bool IsMountOption(absl::string_view opt) {
  return opt == "rw" || opt == "ro" || absl::StartsWith(opt, "release_agent") ||
         opt == "clone_children" || opt == "noprefix" || opt == "xattr" ||
         opt == "cpuset_v2_mode" || opt == "favordynmods";
}

}  // namespace

CgroupLayout ParseCgroupLayout(absl::string_view mountinfo, absl::string_view self_cgroup) {
  CgroupLayout layout;
  std::map<std::string, std::string> own;  // controller list (as in /proc/self/cgroup) -> path
  for (absl::string_view line : absl::StrSplit(self_cgroup, '\n', absl::SkipEmpty())) {
    std::vector<std::string> f = absl::StrSplit(line, absl::MaxSplits(':', 2));
    if (f.size() == 3) own[f[1]] = f[2];
  }
  for (absl::string_view line : absl::StrSplit(mountinfo, '\n', absl::SkipEmpty())) {
    std::vector<std::string> parts = absl::StrSplit(line, " - ");
    if (parts.size() != 2) continue;
    std::vector<std::string> pre = absl::StrSplit(parts[0], ' ');
    std::vector<std::string> post = absl::StrSplit(parts[1], ' ');
    if (pre.size() < 5 || post.size() < 3) continue;
    if (post[0] == "cgroup2") {
      layout.unified_mount = pre[4];
      layout.unified_root = pre[3];
      if (auto it = own.find(""); it != own.end()) layout.unified_own_path = it->second;
    } else if (post[0] == "cgroup") {
      CgroupHierarchy h;
      h.mount_point = pre[4];
      h.root = pre[3];
      for (absl::string_view opt : absl::StrSplit(post[2], ',')) {
        if (!IsMountOption(opt)) h.controllers.emplace_back(opt);
      }
      h.own_path = "/";
      std::string key = absl::StrJoin(h.controllers, ",");
      for (const auto& [ctrls, path] : own) {
        if (ctrls == key) h.own_path = path;
      }
      layout.v1.push_back(std::move(h));
    }
  }
  if (layout.v1.empty()) {
    layout.mode = CgroupMode::kV2;
  } else {
    layout.mode = layout.unified_mount.empty() ? CgroupMode::kV1 : CgroupMode::kHybrid;
  }
  return layout;
}

absl::StatusOr<CgroupLayout> DetectCgroupLayout(const std::string& self_cgroup_file) {
  BERTH_ASSIGN_OR_RETURN(std::string mountinfo, fs::ReadFile("/proc/self/mountinfo"));
  BERTH_ASSIGN_OR_RETURN(std::string cgroup, fs::ReadFile(self_cgroup_file));
  return ParseCgroupLayout(mountinfo, cgroup);
}

std::string DirUnderMount(const std::string& mount, const std::string& root,
                          absl::string_view path) {
  absl::string_view rel = path;
  if (root != "/" && absl::StartsWith(rel, root)) rel.remove_prefix(root.size());
  std::string out = mount;
  for (absl::string_view part : absl::StrSplit(rel, '/', absl::SkipEmpty())) {
    absl::StrAppend(&out, "/", part);
  }
  return out;
}

}  // namespace berth::cgroup
