#include "cri/stats.h"

#include <sched.h>
#include <sys/stat.h>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "core/fs.h"
#include "core/status_macros.h"
#include "cri/netns.h"
#include "nlohmann/json.hpp"

namespace berth::cri {
namespace {

// The kernel's "no limit" in v1 is PAGE_COUNTER_MAX pages (about 2^63); anything this large is
// not a limit a pod was given.
constexpr uint64_t kUnlimited = uint64_t{1} << 62;

bool Exists(const std::string& p) {
  struct stat st;
  return ::stat(p.c_str(), &st) == 0;
}

uint64_t ReadU64(const std::string& path) {
  auto data = fs::ReadFile(path);
  if (!data.ok()) return 0;
  absl::string_view s = absl::StripAsciiWhitespace(*data);
  if (s == "max") return 0;  // v2 "no limit"
  uint64_t v = 0;
  return absl::SimpleAtoi(s, &v) ? v : 0;
}

// "key value" lines (memory.stat, memory.oom_control, memory.events, cpu.stat).
std::map<std::string, uint64_t, std::less<>> ReadKeyed(const std::string& path) {
  std::map<std::string, uint64_t, std::less<>> out;
  auto data = fs::ReadFile(path);
  if (!data.ok()) return out;
  for (absl::string_view line : absl::StrSplit(*data, '\n', absl::SkipEmpty())) {
    std::vector<absl::string_view> kv = absl::StrSplit(line, ' ', absl::SkipEmpty());
    uint64_t v;
    if (kv.size() == 2 && absl::SimpleAtoi(kv[1], &v)) out[std::string(kv[0])] = v;
  }
  return out;
}

uint64_t Get(const std::map<std::string, uint64_t, std::less<>>& m, absl::string_view k) {
  auto it = m.find(k);
  return it == m.end() ? 0 : it->second;
}

uint64_t WorkingSet(uint64_t usage, uint64_t inactive_file) {
  return inactive_file < usage ? usage - inactive_file : 0;
}

absl::StatusOr<CgroupUsage> ReadV2(const std::string& dir) {
  if (!Exists(dir)) return absl::NotFoundError(absl::StrCat("cgroup ", dir, " not found"));
  CgroupUsage u;
  u.cpu_usage_ns = Get(ReadKeyed(dir + "/cpu.stat"), "usage_usec") * 1000;
  auto stat = ReadKeyed(dir + "/memory.stat");
  u.memory_usage = ReadU64(dir + "/memory.current");
  u.working_set = WorkingSet(u.memory_usage, Get(stat, "inactive_file"));
  u.rss = Get(stat, "anon");
  u.page_faults = Get(stat, "pgfault");
  u.major_page_faults = Get(stat, "pgmajfault");
  u.memory_limit = ReadU64(dir + "/memory.max");
  u.oom_kills = Get(ReadKeyed(dir + "/memory.events"), "oom_kill");
  u.pids = ReadU64(dir + "/pids.current");
  return u;
}

absl::StatusOr<CgroupUsage> ReadV1(const std::string& root, const std::string& rel) {
  std::string mem = root + "/memory" + rel;
  std::string cpu = root + "/cpuacct" + rel;
  if (!Exists(cpu)) cpu = root + "/cpu,cpuacct" + rel;
  if (!Exists(mem) && !Exists(cpu)) {
    return absl::NotFoundError(absl::StrCat("cgroup ", rel, " not found under ", root));
  }
  CgroupUsage u;
  u.cpu_usage_ns = ReadU64(cpu + "/cpuacct.usage");
  // The total_* keys include child cgroups (a pod's parent cgroup holds its containers).
  auto stat = ReadKeyed(mem + "/memory.stat");
  u.memory_usage = ReadU64(mem + "/memory.usage_in_bytes");
  u.working_set = WorkingSet(u.memory_usage, Get(stat, "total_inactive_file"));
  u.rss = Get(stat, "total_rss");
  u.page_faults = Get(stat, "total_pgfault");
  u.major_page_faults = Get(stat, "total_pgmajfault");
  u.memory_limit = ReadU64(mem + "/memory.limit_in_bytes");
  if (u.memory_limit >= kUnlimited) u.memory_limit = 0;
  u.oom_kills = Get(ReadKeyed(mem + "/memory.oom_control"), "oom_kill");
  u.pids = ReadU64(root + "/pids" + rel + "/pids.current");
  return u;
}

}  // namespace

CgroupUsage& CgroupUsage::operator+=(const CgroupUsage& o) {
  cpu_usage_ns += o.cpu_usage_ns;
  memory_usage += o.memory_usage;
  working_set += o.working_set;
  rss += o.rss;
  page_faults += o.page_faults;
  major_page_faults += o.major_page_faults;
  memory_limit = memory_limit == 0 || o.memory_limit == 0 ? 0 : memory_limit + o.memory_limit;
  oom_kills += o.oom_kills;
  pids += o.pids;
  return *this;
}

std::string CgroupRelativePath(const std::string& path) {
  std::vector<std::string> parts = absl::StrSplit(path, ':');
  if (parts.size() == 3 && !path.empty() && path[0] != '/') {
    std::string slice = parts[0].empty() ? "system.slice" : parts[0];
    return absl::StrCat("/", slice, "/", parts[1], "-", parts[2], ".scope");
  }
  return path.empty() || path[0] == '/' ? path : "/" + path;
}

absl::StatusOr<CgroupUsage> ReadCgroupUsage(const std::string& root,
                                            const std::string& cgroups_path) {
  std::string rel = CgroupRelativePath(cgroups_path);
  if (rel.empty() || absl::StrContains(rel, "/../") || absl::EndsWith(rel, "/..")) {
    return absl::InvalidArgumentError(absl::StrCat("bad cgroup path \"", cgroups_path, "\""));
  }
  if (Exists(root + "/cgroup.controllers")) return ReadV2(root + rel);
  return ReadV1(root, rel);
}

std::string SpecCgroupsPath(const std::string& spec_json) {
  nlohmann::json spec = nlohmann::json::parse(spec_json, nullptr, false);
  if (!spec.is_object() || !spec.contains("linux") || !spec["linux"].is_object()) return "";
  const auto& l = spec["linux"];
  return l.contains("cgroupsPath") && l["cgroupsPath"].is_string()
             ? l["cgroupsPath"].get<std::string>()
             : "";
}

std::vector<InterfaceUsage> ParseNetDev(absl::string_view text) {
  std::vector<InterfaceUsage> out;
  for (absl::string_view line : absl::StrSplit(text, '\n', absl::SkipEmpty())) {
    size_t colon = line.find(':');
    if (colon == absl::string_view::npos) continue;  // the two header lines have '|' instead
    InterfaceUsage u;
    u.name = std::string(absl::StripAsciiWhitespace(line.substr(0, colon)));
    std::vector<absl::string_view> f =
        absl::StrSplit(line.substr(colon + 1), ' ', absl::SkipEmpty());
    // rx: bytes packets errs drop fifo frame compressed multicast; tx: bytes packets errs ...
    if (f.size() < 16 || u.name.empty()) continue;
    if (!absl::SimpleAtoi(f[0], &u.rx_bytes) || !absl::SimpleAtoi(f[2], &u.rx_errors) ||
        !absl::SimpleAtoi(f[8], &u.tx_bytes) || !absl::SimpleAtoi(f[10], &u.tx_errors)) {
      continue;
    }
    out.push_back(std::move(u));
  }
  return out;
}

absl::StatusOr<std::vector<InterfaceUsage>> ReadNetnsUsage(const std::string& netns_path) {
  std::string text;
  // /proc/thread-self/net follows the calling thread's network namespace.
  BERTH_RETURN_IF_ERROR(RunInNamespace(netns_path, CLONE_NEWNET, [&]() -> absl::Status {
    BERTH_ASSIGN_OR_RETURN(text, fs::ReadFile("/proc/thread-self/net/dev"));
    return absl::OkStatus();
  }));
  return ParseNetDev(text);
}

void FillCpuUsage(const CgroupUsage& u, int64_t ts, ::runtime::v1::CpuUsage* out) {
  out->set_timestamp(ts);
  out->mutable_usage_core_nano_seconds()->set_value(u.cpu_usage_ns);
}

void FillMemoryUsage(const CgroupUsage& u, int64_t ts, ::runtime::v1::MemoryUsage* out) {
  out->set_timestamp(ts);
  out->mutable_working_set_bytes()->set_value(u.working_set);
  out->mutable_usage_bytes()->set_value(u.memory_usage);
  out->mutable_rss_bytes()->set_value(u.rss);
  out->mutable_page_faults()->set_value(u.page_faults);
  out->mutable_major_page_faults()->set_value(u.major_page_faults);
  // available = limit - working set, only when there is a limit (kubelet/cadvisor).
  if (u.memory_limit > 0) {
    out->mutable_available_bytes()->set_value(
        u.memory_limit > u.working_set ? u.memory_limit - u.working_set : 0);
  }
}

void FillInterfaceUsage(const InterfaceUsage& u, ::runtime::v1::NetworkInterfaceUsage* out) {
  out->set_name(u.name);
  out->mutable_rx_bytes()->set_value(u.rx_bytes);
  out->mutable_rx_errors()->set_value(u.rx_errors);
  out->mutable_tx_bytes()->set_value(u.tx_bytes);
  out->mutable_tx_errors()->set_value(u.tx_errors);
}

}  // namespace berth::cri
