// cgroup v1 driver: one directory per hierarchy, controller files written by name.
#include <sys/stat.h>
#include <unistd.h>

#include <set>
#include <thread>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "core/fs.h"
#include "core/status.h"
#include "core/status_macros.h"
#include "executor/cgroups.h"

namespace berth::executor {
namespace {

std::string DeviceRuleString(const DeviceRule& r) {
  if (r.type == "a" && !r.major && !r.minor) return "a";
  auto num = [](const std::optional<int64_t>& v) {
    return v && *v >= 0 ? std::to_string(*v) : std::string("*");
  };
  return absl::StrCat(r.type, " ", num(r.major), ":", num(r.minor), " ", r.access);
}

class V1Manager final : public CgroupManager {
 public:
  explicit V1Manager(std::map<std::string, std::string> dirs) : dirs_(std::move(dirs)) {}

  absl::Status Create() override {
    for (const auto& [key, dir] : dirs_) {
      BERTH_RETURN_IF_ERROR(fs::MkdirAll(dir, 0755));
      if (key.find("cpuset") != std::string::npos) BERTH_RETURN_IF_ERROR(InitCpuset(dir));
    }
    return absl::OkStatus();
  }

  absl::Status Apply(pid_t pid) override {
    std::string p = std::to_string(pid);
    for (const auto& [key, dir] : dirs_) {
      absl::Status st = WriteCgroupFile(dir, "cgroup.procs", p);
      // The unified hierarchy of a hybrid host is best effort (runc ignores it too).
      if (!st.ok() && key != "unified") return Annotate(st, "join cgroup");
    }
    return absl::OkStatus();
  }

  absl::Status Set(const Resources& r) override {
    if (std::string d = Dir("memory"); !d.empty()) BERTH_RETURN_IF_ERROR(SetMemory(d, r.memory));
    if (std::string d = Dir("cpu"); !d.empty()) {
      const auto& c = r.cpu;
      if (c.shares) BERTH_RETURN_IF_ERROR(WriteCgroupFile(d, "cpu.shares", Num(*c.shares)));
      if (c.period) BERTH_RETURN_IF_ERROR(WriteCgroupFile(d, "cpu.cfs_period_us", Num(*c.period)));
      if (c.quota) BERTH_RETURN_IF_ERROR(WriteCgroupFile(d, "cpu.cfs_quota_us", Num(*c.quota)));
      if (c.realtime_period) {
        BERTH_RETURN_IF_ERROR(WriteCgroupFile(d, "cpu.rt_period_us", Num(*c.realtime_period)));
      }
      if (c.realtime_runtime) {
        BERTH_RETURN_IF_ERROR(WriteCgroupFile(d, "cpu.rt_runtime_us", Num(*c.realtime_runtime)));
      }
    }
    if (std::string d = Dir("cpuset"); !d.empty()) {
      if (!r.cpu.cpus.empty()) BERTH_RETURN_IF_ERROR(WriteCgroupFile(d, "cpuset.cpus", r.cpu.cpus));
      if (!r.cpu.mems.empty()) BERTH_RETURN_IF_ERROR(WriteCgroupFile(d, "cpuset.mems", r.cpu.mems));
    }
    if (std::string d = Dir("pids"); !d.empty() && r.pids_limit) {
      std::string v = *r.pids_limit > 0 ? Num(*r.pids_limit) : "max";
      BERTH_RETURN_IF_ERROR(WriteCgroupFile(d, "pids.max", v));
    }
    if (std::string d = Dir("blkio"); !d.empty() && r.blkio_weight) {
      BERTH_RETURN_IF_ERROR(WriteCgroupFile(d, "blkio.weight", Num(*r.blkio_weight)));
    }
    if (std::string d = Dir("devices"); !d.empty()) {
      for (const auto& rule : r.devices) {
        BERTH_RETURN_IF_ERROR(WriteCgroupFile(d, rule.allow ? "devices.allow" : "devices.deny",
                                              DeviceRuleString(rule)));
      }
    }
    return absl::OkStatus();
  }

  absl::Status Freeze(bool frozen) override {
    std::string d = Dir("freezer");
    if (d.empty()) return absl::UnimplementedError("no freezer cgroup");
    const char* want = frozen ? "FROZEN" : "THAWED";
    for (int attempt = 0; attempt < 1000; ++attempt) {
      BERTH_RETURN_IF_ERROR(WriteCgroupFile(d, "freezer.state", want));
      if (ReadCgroupText(d, "freezer.state") == want) return absl::OkStatus();
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    return absl::DeadlineExceededError(absl::StrCat("freezer did not reach ", want));
  }

  absl::StatusOr<bool> Frozen() override {
    std::string d = Dir("freezer");
    if (d.empty()) return false;
    auto s = ReadCgroupFile(d, "freezer.state");
    if (!s.ok()) return absl::IsNotFound(s.status()) ? absl::StatusOr<bool>(false) : s.status();
    return absl::StripAsciiWhitespace(*s) == "FROZEN";
  }

  absl::StatusOr<std::vector<pid_t>> Pids() override {
    for (const char* c : {"pids", "freezer", "memory", "devices"}) {
      if (std::string d = Dir(c); !d.empty()) return ReadPids(d + "/cgroup.procs");
    }
    if (dirs_.empty()) return std::vector<pid_t>{};
    return ReadPids(dirs_.begin()->second + "/cgroup.procs");
  }

  absl::StatusOr<CgroupStats> Stats() override {
    CgroupStats s;
    if (std::string d = Dir("cpuacct"); !d.empty()) {
      s.cpu_total = ReadCgroupUint(d, "cpuacct.usage");
      s.cpu_user = ReadCgroupUint(d, "cpuacct.usage_user");
      s.cpu_kernel = ReadCgroupUint(d, "cpuacct.usage_sys");
      for (absl::string_view v : absl::StrSplit(ReadCgroupText(d, "cpuacct.usage_percpu"),
                                                ' ', absl::SkipEmpty())) {
        uint64_t n = 0;
        if (absl::SimpleAtoi(v, &n)) s.cpu_percpu.push_back(n);
      }
    }
    if (std::string d = Dir("memory"); !d.empty()) {
      s.memory_usage = ReadCgroupUint(d, "memory.usage_in_bytes");
      s.memory_max = ReadCgroupUint(d, "memory.max_usage_in_bytes");
      s.memory_limit = ReadCgroupUint(d, "memory.limit_in_bytes");
      s.memory_failcnt = ReadCgroupUint(d, "memory.failcnt");
      for (absl::string_view line :
           absl::StrSplit(ReadCgroupText(d, "memory.stat"), '\n', absl::SkipEmpty())) {
        std::pair<std::string, std::string> kv = absl::StrSplit(line, ' ');
        uint64_t n = 0;
        if (absl::SimpleAtoi(kv.second, &n)) s.memory_raw[kv.first] = n;
      }
      s.memory_cache = s.memory_raw["cache"];
    }
    if (std::string d = Dir("pids"); !d.empty()) {
      s.pids_current = ReadCgroupUint(d, "pids.current");
      s.pids_limit = ReadCgroupUint(d, "pids.max");
    }
    return s;
  }

  absl::Status Destroy() override {
    std::set<std::string> done;
    for (const auto& [key, dir] : dirs_) {
      if (done.insert(dir).second) BERTH_RETURN_IF_ERROR(RemoveCgroupDir(dir));
    }
    return absl::OkStatus();
  }

  std::vector<std::string> ProcsFiles() const override {
    std::vector<std::string> out;
    for (const auto& [key, dir] : dirs_) out.push_back(dir + "/cgroup.procs");
    return out;
  }

  CgroupMountInfo MountInfo(bool cgroupns) const override {
    CgroupMountInfo info;
    info.cgroupns = cgroupns;
    for (const auto& [key, dir] : dirs_) {
      if (key != "unified") info.v1.emplace_back(key, dir);
    }
    return info;
  }

  std::map<std::string, std::string> Paths() const override { return dirs_; }

 private:
  template <typename T>
  static std::string Num(T v) {
    return std::to_string(v);
  }

  // The directory of the hierarchy holding `controller` ("" when not mounted).
  std::string Dir(absl::string_view controller) const {
    for (const auto& [key, dir] : dirs_) {
      for (absl::string_view c : absl::StrSplit(key, ',')) {
        if (c == controller) return dir;
      }
    }
    return "";
  }

  // A new cpuset cgroup starts with empty cpus/mems and refuses tasks: copy from the parent.
  static absl::Status InitCpuset(const std::string& dir) {
    std::vector<std::string> chain;
    for (std::string d = dir; d.size() > 1 && d != "/sys/fs/cgroup"; d = fs::Dirname(d)) {
      chain.push_back(d);
      if (!ReadCgroupText(fs::Dirname(d), "cpuset.cpus").empty()) break;
    }
    for (auto it = chain.rbegin(); it != chain.rend(); ++it) {
      for (const char* f : {"cpuset.cpus", "cpuset.mems"}) {
        if (!ReadCgroupText(*it, f).empty()) continue;
        std::string parent = ReadCgroupText(fs::Dirname(*it), f);
        if (!parent.empty()) BERTH_RETURN_IF_ERROR(WriteCgroupFile(*it, f, parent));
      }
    }
    return absl::OkStatus();
  }

  static absl::Status SetMemory(const std::string& d, const Resources::Memory& m) {
    if (m.reservation) {
      BERTH_RETURN_IF_ERROR(WriteCgroupFile(d, "memory.soft_limit_in_bytes", Num(*m.reservation)));
    }
    bool has_swap = m.swap && access((d + "/memory.memsw.limit_in_bytes").c_str(), F_OK) == 0;
    if (m.limit) {
      // memsw must stay >= limit at every step: raise memsw first when the limit grows.
      int64_t current = static_cast<int64_t>(ReadCgroupUint(d, "memory.limit_in_bytes"));
      bool growing = *m.limit == -1 || *m.limit > current;
      if (has_swap && growing) {
        BERTH_RETURN_IF_ERROR(WriteCgroupFile(d, "memory.memsw.limit_in_bytes", Num(*m.swap)));
        has_swap = false;
      }
      BERTH_RETURN_IF_ERROR(WriteCgroupFile(d, "memory.limit_in_bytes", Num(*m.limit)));
    }
    if (has_swap) {
      BERTH_RETURN_IF_ERROR(WriteCgroupFile(d, "memory.memsw.limit_in_bytes", Num(*m.swap)));
    }
    if (m.kernel_tcp) {
      BERTH_RETURN_IF_ERROR(
          WriteCgroupFile(d, "memory.kmem.tcp.limit_in_bytes", Num(*m.kernel_tcp)));
    }
    if (m.swappiness && *m.swappiness <= 100) {
      BERTH_RETURN_IF_ERROR(WriteCgroupFile(d, "memory.swappiness", Num(*m.swappiness)));
    }
    if (m.disable_oom_killer && *m.disable_oom_killer) {
      BERTH_RETURN_IF_ERROR(WriteCgroupFile(d, "memory.oom_control", "1"));
    }
    return absl::OkStatus();
  }

  std::map<std::string, std::string> dirs_;  // hierarchy dir name -> container directory
};

}  // namespace

std::unique_ptr<CgroupManager> NewV1Manager(std::map<std::string, std::string> dirs) {
  return std::make_unique<V1Manager>(std::move(dirs));
}

}  // namespace berth::executor
