#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "core/fs.h"
#include "core/status.h"
#include "core/status_macros.h"
#include "executor/cgroups.h"

namespace berth::executor {
namespace {

using cgroup::DirUnderMount;

std::string JoinPath(const std::string& a, const std::string& b) {
  if (b.empty()) return a;
  if (a.empty() || a == "/") return "/" + std::string(absl::StripPrefix(b, "/"));
  return a + "/" + std::string(absl::StripPrefix(b, "/"));
}

}  // namespace

std::unique_ptr<CgroupManager> NewCgroupManager(const CgroupLayout& layout,
                                                const std::string& cgroups_path,
                                                const std::string& id) {
  std::string path = cgroups_path.empty() ? id : cgroups_path;
  bool absolute = absl::StartsWith(path, "/");
  if (layout.mode == CgroupMode::kV2) {
    std::string full = absolute ? path : JoinPath(layout.unified_own_path, path);
    return NewV2Manager(DirUnderMount(layout.unified_mount, layout.unified_root, full),
                        layout.unified_mount);
  }
  std::map<std::string, std::string> dirs;
  for (const auto& h : layout.v1) {
    std::string key = h.mount_point.substr(h.mount_point.rfind('/') + 1);
    std::string full = absolute ? path : JoinPath(h.own_path, path);
    dirs[key] = DirUnderMount(h.mount_point, h.root, full);
  }
  if (layout.mode == CgroupMode::kHybrid) {
    std::string full = absolute ? path : JoinPath(layout.unified_own_path, path);
    dirs["unified"] = DirUnderMount(layout.unified_mount, layout.unified_root, full);
  }
  return NewV1Manager(std::move(dirs));
}

std::unique_ptr<CgroupManager> LoadCgroupManager(const std::map<std::string, std::string>& paths) {
  if (paths.size() == 1 && paths.count("") == 1) {
    const std::string& dir = paths.at("");
    // The mount point is only needed to enable controllers at Create; "/sys/fs/cgroup" here.
    return NewV2Manager(dir, "/sys/fs/cgroup");
  }
  return NewV1Manager(paths);
}

absl::Status WriteCgroupFile(const std::string& dir, const std::string& file,
                             const std::string& value) {
  std::string path = dir + "/" + file;
  int fd = open(path.c_str(), O_WRONLY | O_CLOEXEC | O_TRUNC);
  if (fd < 0) return ErrnoStatus(absl::StrCat("open ", path));
  ssize_t n = write(fd, value.data(), value.size());
  int err = errno;
  close(fd);
  if (n < 0) return ErrnoStatus(err, absl::StrCat("write ", value, " to ", path));
  return absl::OkStatus();
}

absl::StatusOr<std::string> ReadCgroupFile(const std::string& dir, const std::string& file) {
  return fs::ReadFile(dir + "/" + file);
}

std::string ReadCgroupText(const std::string& dir, const std::string& file) {
  auto s = ReadCgroupFile(dir, file);
  return s.ok() ? std::string(absl::StripAsciiWhitespace(*s)) : "";
}

uint64_t ReadCgroupUint(const std::string& dir, const std::string& file) {
  auto s = ReadCgroupFile(dir, file);
  uint64_t v = 0;
  if (!s.ok() || !absl::SimpleAtoi(absl::StripAsciiWhitespace(*s), &v)) return 0;
  return v;
}

absl::StatusOr<std::vector<pid_t>> ReadPids(const std::string& file) {
  BERTH_ASSIGN_OR_RETURN(std::string text, fs::ReadFile(file));
  std::vector<pid_t> pids;
  for (absl::string_view line : absl::StrSplit(text, '\n', absl::SkipEmpty())) {
    int pid;
    if (absl::SimpleAtoi(line, &pid)) pids.push_back(pid);
  }
  return pids;
}

absl::Status RemoveCgroupDir(const std::string& dir) {
  // Most cgroups have no children: rmdir first, and list sub-cgroups only when refused (EBUSY,
  // as for remaining tasks).
  if (rmdir(dir.c_str()) == 0 || errno == ENOENT) return absl::OkStatus();
  if (errno != EBUSY) return ErrnoStatus(absl::StrCat("rmdir ", dir));
  if (DIR* d = opendir(dir.c_str())) {
    std::vector<std::string> subdirs;
    while (struct dirent* e = readdir(d)) {
      if (e->d_type == DT_DIR && strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0) {
        subdirs.push_back(dir + "/" + e->d_name);
      }
    }
    closedir(d);
    for (const auto& s : subdirs) BERTH_RETURN_IF_ERROR(RemoveCgroupDir(s));
  }
  // Exiting tasks leave the cgroup a moment after they are reaped: retry EBUSY briefly.
  for (int attempt = 0; attempt < 50; ++attempt) {
    if (rmdir(dir.c_str()) == 0 || errno == ENOENT) return absl::OkStatus();
    if (errno != EBUSY) return ErrnoStatus(absl::StrCat("rmdir ", dir));
    std::this_thread::sleep_for(std::chrono::milliseconds(attempt < 10 ? 2 : 20));
  }
  return absl::FailedPreconditionError(absl::StrCat("rmdir ", dir, ": still busy"));
}

}  // namespace berth::executor
