// cgroup v2 driver: one directory in the unified hierarchy.
#include <signal.h>
#include <unistd.h>

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
#include "executor/device_filter.h"

namespace berth::executor {
namespace {

std::map<std::string, uint64_t> ParseKeyed(const std::string& text) {
  std::map<std::string, uint64_t> out;
  for (absl::string_view line : absl::StrSplit(text, '\n', absl::SkipEmpty())) {
    std::pair<std::string, std::string> kv = absl::StrSplit(line, ' ');
    uint64_t n = 0;
    if (absl::SimpleAtoi(kv.second, &n)) out[kv.first] = n;
  }
  return out;
}

class V2Manager final : public CgroupManager {
 public:
  V2Manager(std::string dir, std::string mount) : dir_(std::move(dir)), mount_(std::move(mount)) {}

  absl::Status Create() override {
    BERTH_RETURN_IF_ERROR(fs::MkdirAll(dir_, 0755));
    // Enable every available controller from the root down to our parent, so our directory
    // gets the interface files (memory.max, pids.max...).
    std::vector<std::string> chain;
    for (std::string d = fs::Dirname(dir_); absl::StartsWith(d, mount_); d = fs::Dirname(d)) {
      chain.push_back(d);
      if (d == mount_) break;
    }
    for (auto it = chain.rbegin(); it != chain.rend(); ++it) {
      std::string avail = ReadCgroupText(*it, "cgroup.controllers");
      std::vector<std::string> plus;
      for (absl::string_view c : absl::StrSplit(avail, ' ', absl::SkipEmpty())) {
        plus.push_back(absl::StrCat("+", c));
      }
      if (plus.empty()) continue;
      // Best effort: a parent with processes cannot delegate ("no internal processes").
      (void)WriteCgroupFile(*it, "cgroup.subtree_control", absl::StrJoin(plus, " "));
    }
    return absl::OkStatus();
  }

  absl::Status Apply(pid_t pid) override {
    return Annotate(WriteCgroupFile(dir_, "cgroup.procs", std::to_string(pid)), "join cgroup");
  }

  absl::Status Set(const Resources& r) override {
    const auto& m = r.memory;
    if (m.reservation) BERTH_RETURN_IF_ERROR(Write("memory.low", Max(*m.reservation)));
    if (m.limit) BERTH_RETURN_IF_ERROR(Write("memory.max", Max(*m.limit)));
    if (m.swap) {
      // OCI swap is memory+swap; v2's swap.max is swap alone.
      int64_t swap = *m.swap;
      if (swap > 0 && m.limit && *m.limit > 0) swap -= *m.limit;
      BERTH_RETURN_IF_ERROR(Write("memory.swap.max", Max(swap)));
    }
    const auto& c = r.cpu;
    if (c.shares && *c.shares > 0) {
      uint64_t weight = 1 + ((*c.shares - 2) * 9999) / 262142;
      BERTH_RETURN_IF_ERROR(Write("cpu.weight", std::to_string(weight)));
    }
    if (c.quota || c.period) {
      std::string quota = c.quota && *c.quota > 0 ? std::to_string(*c.quota) : "max";
      BERTH_RETURN_IF_ERROR(Write("cpu.max", absl::StrCat(quota, " ", c.period.value_or(100000))));
    }
    if (!c.cpus.empty()) BERTH_RETURN_IF_ERROR(Write("cpuset.cpus", c.cpus));
    if (!c.mems.empty()) BERTH_RETURN_IF_ERROR(Write("cpuset.mems", c.mems));
    if (r.pids_limit) BERTH_RETURN_IF_ERROR(Write("pids.max", Max(*r.pids_limit)));
    if (r.blkio_weight) {
      uint64_t w = 1 + (static_cast<uint64_t>(*r.blkio_weight) - 10) * 9999 / 990;
      BERTH_RETURN_IF_ERROR(Write("io.weight", std::to_string(w)));
    }
    for (const auto& [file, value] : r.unified) {
      if (file.find('/') != std::string::npos) {
        return absl::InvalidArgumentError("unified: bad file name " + file);
      }
      BERTH_RETURN_IF_ERROR(Write(file, value));
    }
    // v2 has no devices.allow: the rules become an eBPF program attached to the directory.
    if (!r.devices.empty()) {
      BERTH_RETURN_IF_ERROR(Annotate(ApplyDeviceFilter(dir_, r.devices), "devices"));
    }
    return absl::OkStatus();
  }

  absl::Status Freeze(bool frozen) override {
    BERTH_RETURN_IF_ERROR(Write("cgroup.freeze", frozen ? "1" : "0"));
    for (int attempt = 0; attempt < 1000; ++attempt) {
      auto events = ReadCgroupFile(dir_, "cgroup.events");
      if (!events.ok()) return absl::OkStatus();  // old kernels: trust the write
      if (ParseKeyed(*events)["frozen"] == (frozen ? 1u : 0u)) return absl::OkStatus();
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    return absl::DeadlineExceededError("cgroup.freeze did not take effect");
  }

  absl::StatusOr<bool> Frozen() override { return ReadCgroupText(dir_, "cgroup.freeze") == "1"; }

  absl::StatusOr<std::vector<pid_t>> Pids() override { return ReadPids(dir_ + "/cgroup.procs"); }

  absl::StatusOr<CgroupStats> Stats() override {
    CgroupStats s;
    auto cpu = ParseKeyed(ReadCgroupText(dir_, "cpu.stat"));
    s.cpu_total = cpu["usage_usec"] * 1000;
    s.cpu_user = cpu["user_usec"] * 1000;
    s.cpu_kernel = cpu["system_usec"] * 1000;
    s.periods = cpu["nr_periods"];
    s.throttled_periods = cpu["nr_throttled"];
    s.throttled_time = cpu["throttled_usec"] * 1000;
    s.memory_usage = ReadCgroupUint(dir_, "memory.current");
    s.memory_max = ReadCgroupUint(dir_, "memory.peak");
    s.memory_limit = ReadCgroupUint(dir_, "memory.max");
    s.swap_usage = ReadCgroupUint(dir_, "memory.swap.current");
    s.memory_raw = ParseKeyed(ReadCgroupText(dir_, "memory.stat"));
    s.memory_cache = s.memory_raw["file"];
    s.memory_failcnt = ParseKeyed(ReadCgroupText(dir_, "memory.events"))["max"];
    s.pids_current = ReadCgroupUint(dir_, "pids.current");
    s.pids_limit = ReadCgroupUint(dir_, "pids.max");
    return s;
  }

  absl::Status Destroy() override { return RemoveCgroupDir(dir_); }

  std::vector<std::string> ProcsFiles() const override { return {dir_ + "/cgroup.procs"}; }

  CgroupMountInfo MountInfo(bool cgroupns) const override {
    CgroupMountInfo info;
    info.unified = true;
    info.cgroupns = cgroupns;
    info.v2_dir = dir_;
    return info;
  }

  std::map<std::string, std::string> Paths() const override { return {{"", dir_}}; }

 private:
  static std::string Max(int64_t v) { return v < 0 ? "max" : std::to_string(v); }
  absl::Status Write(const std::string& file, const std::string& value) {
    return WriteCgroupFile(dir_, file, value);
  }

  std::string dir_, mount_;
};

}  // namespace

std::unique_ptr<CgroupManager> NewV2Manager(std::string dir, std::string mount_point) {
  return std::make_unique<V2Manager>(std::move(dir), std::move(mount_point));
}

}  // namespace berth::executor
