#include "cmd/berth-runc/output.h"

#include <cstdio>

#include "nlohmann/json.hpp"

namespace berth::runc {

void PrintList(const std::vector<executor::ContainerState>& all, const std::string& format,
               bool quiet) {
  if (quiet) {
    for (const auto& c : all) std::printf("%s\n", c.id.c_str());
    return;
  }
  if (format == "json") {
    nlohmann::json arr = nlohmann::json::array();
    for (const auto& c : all) arr.push_back(nlohmann::json::parse(executor::StateToJson(c, false)));
    std::printf("%s\n", arr.dump().c_str());
    return;
  }
  std::printf("%-20s %-8s %-10s %-40s %s\n", "ID", "PID", "STATUS", "BUNDLE", "CREATED");
  for (const auto& c : all) {
    std::printf("%-20s %-8d %-10s %-40s %s\n", c.id.c_str(), c.pid, c.status.c_str(),
                c.bundle.c_str(), c.created.c_str());
  }
}

void PrintPids(const std::vector<pid_t>& pids, const std::string& format) {
  if (format == "json") {
    std::printf("%s\n", nlohmann::json(pids).dump().c_str());
    return;
  }
  std::printf("PID\n");
  for (pid_t p : pids) std::printf("%d\n", p);
}

std::string StatsEventJson(const std::string& id, const executor::CgroupStats& s) {
  nlohmann::json data;
  data["cpu"] = {{"usage",
                  {{"total", s.cpu_total},
                   {"percpu", s.cpu_percpu},
                   {"kernel", s.cpu_kernel},
                   {"user", s.cpu_user}}},
                 {"throttling",
                  {{"periods", s.periods},
                   {"throttledPeriods", s.throttled_periods},
                   {"throttledTime", s.throttled_time}}}};
  data["memory"] = {{"cache", s.memory_cache},
                    {"usage",
                     {{"limit", s.memory_limit},
                      {"usage", s.memory_usage},
                      {"max", s.memory_max},
                      {"failcnt", s.memory_failcnt}}},
                    {"swap", {{"usage", s.swap_usage}, {"limit", s.swap_limit}}},
                    {"raw", s.memory_raw}};
  data["pids"] = {{"current", s.pids_current}, {"limit", s.pids_limit}};
  data["blkio"] = nlohmann::json::object();
  data["hugetlb"] = nlohmann::json::object();
  return nlohmann::json{{"type", "stats"}, {"id", id}, {"data", data}}.dump();
}

std::string FeaturesJson() {
  nlohmann::json j = {
      {"ociVersionMin", "1.0.0"},
      {"ociVersionMax", "1.1.0"},
      {"hooks", {"prestart", "createRuntime", "poststart", "poststop"}},
      {"mountOptions", {"ro", "rw", "nosuid", "nodev", "noexec", "bind", "rbind", "private",
                        "rprivate", "shared", "rshared", "slave", "rslave", "relatime",
                        "strictatime", "noatime"}},
      {"linux",
       {{"namespaces", {"cgroup", "ipc", "mount", "network", "pid", "user", "uts"}},
        {"cgroup", {{"v1", true}, {"v2", true}, {"systemd", false}, {"systemdUser", false}}},
        {"seccomp", {{"enabled", true}}},
        {"apparmor", {{"enabled", false}}},
        {"selinux", {{"enabled", false}}}}},
  };
  return j.dump(2);
}

void AddUpdateOptions(CLI::App* sub, UpdateArgs& a) {
  sub->add_option("-r,--resources", a.resources_file, "JSON linux.resources; - for stdin");
  sub->add_option("-m,--memory", a.memory);
  sub->add_option("--memory-swap", a.memory_swap);
  sub->add_option("--memory-reservation", a.memory_reservation);
  sub->add_option("--pids-limit", a.pids_limit);
  sub->add_option("--cpu-quota", a.cpu_quota);
  sub->add_option("--cpu-period", a.cpu_period);
  sub->add_option("--cpu-share", a.cpu_shares);
  sub->add_option("--cpuset-cpus", a.cpuset_cpus);
  sub->add_option("--cpuset-mems", a.cpuset_mems);
}

absl::StatusOr<executor::Resources> BuildResources(
    const UpdateArgs& a,
    const std::function<absl::StatusOr<std::string>(const std::string&)>& read) {
  executor::Resources r;
  if (!a.resources_file.empty()) {
    auto text = read(a.resources_file);
    if (!text.ok()) return text.status();
    auto parsed = executor::ParseResources(*text);
    if (!parsed.ok()) return parsed.status();
    r = *std::move(parsed);
    r.devices.clear();  // runc update ignores device rules too
  }
  if (a.memory) r.memory.limit = a.memory;
  if (a.memory_swap) r.memory.swap = a.memory_swap;
  if (a.memory_reservation) r.memory.reservation = a.memory_reservation;
  if (a.pids_limit) r.pids_limit = a.pids_limit;
  if (a.cpu_quota) r.cpu.quota = a.cpu_quota;
  if (a.cpu_period) r.cpu.period = a.cpu_period;
  if (a.cpu_shares) r.cpu.shares = a.cpu_shares;
  if (!a.cpuset_cpus.empty()) r.cpu.cpus = a.cpuset_cpus;
  if (!a.cpuset_mems.empty()) r.cpu.mems = a.cpuset_mems;
  return r;
}

}  // namespace berth::runc
