// Output formats of berth-runc (runc's JSON shapes) and `update` flags.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "CLI/CLI.hpp"
#include "absl/status/statusor.h"
#include "executor/cgroups.h"
#include "executor/executor.h"

namespace berth::runc {

void PrintList(const std::vector<executor::ContainerState>& all, const std::string& format,
               bool quiet);
void PrintPids(const std::vector<pid_t>& pids, const std::string& format);
// {"type":"stats","id":ID,"data":{cpu, memory, pids...}} as `runc events --stats` prints.
std::string StatsEventJson(const std::string& id, const executor::CgroupStats& s);
std::string FeaturesJson();

struct UpdateArgs {
  std::string resources_file;
  std::optional<int64_t> memory, memory_swap, memory_reservation, pids_limit, cpu_quota;
  std::optional<uint64_t> cpu_shares, cpu_period;
  std::string cpuset_cpus, cpuset_mems;
};
void AddUpdateOptions(CLI::App* sub, UpdateArgs& a);
absl::StatusOr<executor::Resources> BuildResources(
    const UpdateArgs& a, const std::function<absl::StatusOr<std::string>(const std::string&)>& read);

}  // namespace berth::runc
