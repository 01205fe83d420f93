#include "shim-v2/shim/stats.h"

#include <sys/stat.h>
#include <sys/vfs.h>
#include <linux/magic.h>

#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "cgroups/stats/v1/metrics.pb.h"
#include "cgroups/v2/stats/metrics.pb.h"
#include "core/fs.h"
#include "nlohmann/json.hpp"

namespace berth::shim {
namespace {

uint64_t ReadU64(const std::string& path) {
  auto data = berth::fs::ReadFile(path);
  if (!data.ok()) return 0;
  uint64_t v = 0;
  absl::string_view s = absl::StripAsciiWhitespace(*data);
  if (s == "max") return UINT64_MAX;
  (void)absl::SimpleAtoi(s, &v);
  return v;
}

// "key value" lines -> value of key.
uint64_t ReadKey(const std::string& path, absl::string_view key) {
  auto data = berth::fs::ReadFile(path);
  if (!data.ok()) return 0;
  for (absl::string_view line : absl::StrSplit(*data, '\n')) {
    std::vector<absl::string_view> kv = absl::StrSplit(line, ' ');
    uint64_t v;
    if (kv.size() == 2 && kv[0] == key && absl::SimpleAtoi(kv[1], &v)) return v;
  }
  return 0;
}

bool Exists(const std::string& p) {
  struct stat st;
  return stat(p.c_str(), &st) == 0;
}

// runc's systemd path "slice:prefix:name" -> "slice/prefix-name.scope" (enough for metrics).
std::string CgroupfsPath(const std::string& path) {
  std::vector<std::string> parts = absl::StrSplit(path, ':');
  if (parts.size() == 3 && path[0] != '/') {
    std::string slice = parts[0].empty() ? "system.slice" : parts[0];
    return absl::StrCat("/", slice, "/", parts[1], "-", parts[2], ".scope");
  }
  return path.empty() || path[0] == '/' ? path : "/" + path;
}

}  // namespace

absl::StatusOr<BundleInfo> ReadBundleInfo(const std::string& bundle) {
  auto data = berth::fs::ReadFile(bundle + "/config.json");
  if (!data.ok()) return data.status();
  BundleInfo info;
  nlohmann::json j = nlohmann::json::parse(*data, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return absl::InvalidArgumentError("config.json: not JSON");
  if (j.contains("linux") && j["linux"].is_object()) {
    auto& l = j["linux"];
    if (l.contains("cgroupsPath") && l["cgroupsPath"].is_string()) {
      info.cgroups_path = l["cgroupsPath"].get<std::string>();
    }
  }
  if (j.contains("annotations") && j["annotations"].is_object()) {
    auto& a = j["annotations"];
    auto it = a.find("io.kubernetes.cri.sandbox-id");
    if (it != a.end() && it->is_string()) info.sandbox_id = it->get<std::string>();
  }
  if (j.contains("hooks") && j["hooks"].is_object()) {
    auto it = j["hooks"].find("poststart");
    info.poststart_hooks = it != j["hooks"].end() && it->is_array() && !it->empty();
  }
  return info;
}

absl::StatusOr<google::protobuf::Any> ReadMetrics(const std::string& cgroups_path) {
  std::string rel = CgroupfsPath(cgroups_path);
  google::protobuf::Any any;
  struct statfs fs;
  bool unified = statfs("/sys/fs/cgroup", &fs) == 0 && fs.f_type == CGROUP2_SUPER_MAGIC;
  if (unified) {
    std::string dir = "/sys/fs/cgroup" + rel;
    if (!Exists(dir)) return absl::NotFoundError(absl::StrCat("cgroup ", dir, " not found"));
    io::containerd::cgroups::v2::Metrics m;
    m.mutable_pids()->set_current(ReadU64(dir + "/pids.current"));
    m.mutable_pids()->set_limit(ReadU64(dir + "/pids.max"));
    m.mutable_memory()->set_usage(ReadU64(dir + "/memory.current"));
    m.mutable_memory()->set_usage_limit(ReadU64(dir + "/memory.max"));
    m.mutable_cpu()->set_usage_usec(ReadKey(dir + "/cpu.stat", "usage_usec"));
    m.mutable_cpu()->set_user_usec(ReadKey(dir + "/cpu.stat", "user_usec"));
    m.mutable_cpu()->set_system_usec(ReadKey(dir + "/cpu.stat", "system_usec"));
    any.set_type_url("io.containerd.cgroups.v2.Metrics");
    any.set_value(m.SerializeAsString());
    return any;
  }
  std::string pids = "/sys/fs/cgroup/pids" + rel;
  std::string mem = "/sys/fs/cgroup/memory" + rel;
  std::string cpu = "/sys/fs/cgroup/cpuacct" + rel;
  if (!Exists(pids) && !Exists(mem)) {
    return absl::NotFoundError(absl::StrCat("cgroup ", rel, " not found"));
  }
  io::containerd::cgroups::v1::Metrics m;
  m.mutable_pids()->set_current(ReadU64(pids + "/pids.current"));
  uint64_t pid_limit = ReadU64(pids + "/pids.max");
  m.mutable_pids()->set_limit(pid_limit == UINT64_MAX ? 0 : pid_limit);
  auto* ms = m.mutable_memory();
  ms->set_cache(ReadKey(mem + "/memory.stat", "cache"));
  ms->set_rss(ReadKey(mem + "/memory.stat", "rss"));
  ms->mutable_usage()->set_usage(ReadU64(mem + "/memory.usage_in_bytes"));
  ms->mutable_usage()->set_limit(ReadU64(mem + "/memory.limit_in_bytes"));
  ms->mutable_usage()->set_max(ReadU64(mem + "/memory.max_usage_in_bytes"));
  ms->mutable_usage()->set_failcnt(ReadU64(mem + "/memory.failcnt"));
  auto* cu = m.mutable_cpu()->mutable_usage();
  cu->set_total(ReadU64(cpu + "/cpuacct.usage"));
  auto percpu = berth::fs::ReadFile(cpu + "/cpuacct.usage_percpu");
  if (percpu.ok()) {
    for (absl::string_view t : absl::StrSplit(*percpu, absl::ByAnyChar(" \n"), absl::SkipEmpty())) {
      uint64_t v;
      if (absl::SimpleAtoi(t, &v)) cu->add_per_cpu(v);
    }
  }
  any.set_type_url("io.containerd.cgroups.v1.Metrics");
  any.set_value(m.SerializeAsString());
  return any;
}

}  // namespace berth::shim
