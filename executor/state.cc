#include "executor/state.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <ctime>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "core/fs.h"
#include "core/status.h"
#include "core/status_macros.h"
#include "nlohmann/json.hpp"

namespace berth::executor {

namespace {
bool ValidId(const std::string& id) {
  if (id.empty() || id.size() > 1024 || id == "." || id == "..") return false;
  for (char c : id) {
    if (!(isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '.' || c == '+')) {
      return false;
    }
  }
  return true;
}
}  // namespace

absl::Status StateStore::Reserve(const std::string& id) {
  if (!ValidId(id)) return absl::InvalidArgumentError("invalid container id: " + id);
  BERTH_RETURN_IF_ERROR(fs::MkdirAll(root_, 0711));
  (void)fs::SpreadSubdirectories(root_);  // each container's state in a fresh ext4 group
  if (mkdir(Dir(id).c_str(), 0711) != 0) {
    if (errno == EEXIST) return absl::AlreadyExistsError("container with id exists: " + id);
    return ErrnoStatus("mkdir " + Dir(id));
  }
  return absl::OkStatus();
}

absl::Status StateStore::Save(const StoredState& s) {
  nlohmann::json j = {{"id", s.id},
                      {"bundle", s.bundle},
                      {"rootfs", s.rootfs},
                      {"created", s.created},
                      {"pid", s.pid},
                      {"start_time", s.start_time},
                      {"annotations", s.annotations},
                      {"cgroup_paths", s.cgroup_paths},
                      {"detached_run", s.detached_run},
                      {"poststop_hooks", s.poststop_hooks}};
  // Like runc: no fsync; the state dir is on tmpfs (/run) and does not survive a reboot.
  return fs::WriteFileReplace(Dir(s.id) + "/state.json", j.dump(), 0600);
}

absl::StatusOr<StoredState> StateStore::Load(const std::string& id) const {
  if (!ValidId(id)) return absl::InvalidArgumentError("invalid container id: " + id);
  auto text = fs::ReadFile(Dir(id) + "/state.json");
  if (!text.ok()) {
    if (absl::IsNotFound(text.status())) {
      return absl::NotFoundError("container " + id + " does not exist");
    }
    return text.status();
  }
  try {
    auto j = nlohmann::json::parse(*text);
    StoredState s;
    s.id = j.at("id").get<std::string>();
    s.bundle = j.at("bundle").get<std::string>();
    s.rootfs = j.value("rootfs", "");
    s.created = j.value("created", "");
    s.pid = j.at("pid").get<pid_t>();
    s.start_time = j.value("start_time", uint64_t{0});
    s.annotations = j.value("annotations", std::map<std::string, std::string>{});
    s.cgroup_paths = j.value("cgroup_paths", std::map<std::string, std::string>{});
    s.detached_run = j.value("detached_run", false);
    s.poststop_hooks = j.value("poststop_hooks", true);
    return s;
  } catch (const std::exception& e) {
    return absl::DataLossError(absl::StrCat("state of ", id, ": ", e.what()));
  }
}

absl::Status StateStore::Remove(const std::string& id) { return fs::RemoveAll(Dir(id)); }

absl::StatusOr<std::vector<std::string>> StateStore::List() const {
  std::vector<std::string> ids;
  DIR* d = opendir(root_.c_str());
  if (d == nullptr) {
    if (errno == ENOENT) return ids;
    return ErrnoStatus("open " + root_);
  }
  while (struct dirent* e = readdir(d)) {
    std::string name = e->d_name;
    if (name == "." || name == "..") continue;
    if (e->d_type == DT_DIR) ids.push_back(name);
  }
  closedir(d);
  std::sort(ids.begin(), ids.end());
  return ids;
}

uint64_t ProcessStartTime(pid_t pid) {
  if (pid <= 0) return 0;
  auto text = fs::ReadFile(absl::StrCat("/proc/", pid, "/stat"));
  if (!text.ok()) return 0;
  // The command name may hold spaces and parentheses: fields start after the last ')'.
  size_t close = text->rfind(')');
  if (close == std::string::npos) return 0;
  std::vector<absl::string_view> f =
      absl::StrSplit(absl::string_view(*text).substr(close + 2), ' ');
  // f[0] is field 3 (state); start time is field 22 -> f[19].
  if (f.size() < 20 || f[0] == "Z" || f[0] == "X") return 0;
  uint64_t start = 0;
  if (!absl::SimpleAtoi(f[19], &start)) return 0;
  return start;
}

std::string NowRfc3339Nano() {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  struct tm tm;
  gmtime_r(&ts.tv_sec, &tm);
  return absl::StrFormat("%04d-%02d-%02dT%02d:%02d:%02d.%09dZ", tm.tm_year + 1900, tm.tm_mon + 1,
                         tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ts.tv_nsec);
}

}  // namespace berth::executor
