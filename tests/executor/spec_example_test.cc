#include "executor/spec_example.h"

#include <algorithm>

#include "executor/spec.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"

namespace berth::executor {
namespace {

std::vector<std::string> NamespaceTypes(const Spec& s) {
  std::vector<std::string> out;
  for (const auto& ns : s.linux.namespaces) out.push_back(ns.type);
  return out;
}

const Mount* FindMount(const Spec& s, const std::string& dest) {
  for (const auto& m : s.mounts) {
    if (m.destination == dest) return &m;
  }
  return nullptr;
}

TEST(ExampleSpecTest, DefaultParsesAsRuncWritesIt) {
  std::string text = ExampleSpecJson({});
  EXPECT_EQ(text.substr(0, 3), "{\n\t");  // Go's MarshalIndent(spec, "", "\t")
  EXPECT_NE(text.back(), '\n');
  auto spec = ParseSpec(text);
  ASSERT_TRUE(spec.ok()) << spec.status();
  EXPECT_EQ(spec->root_path, "rootfs");
  EXPECT_TRUE(spec->root_readonly);
  EXPECT_EQ(spec->hostname, "runc");
  ASSERT_TRUE(spec->process.has_value());
  EXPECT_TRUE(spec->process->terminal);
  EXPECT_EQ(spec->process->args, std::vector<std::string>{"sh"});
  ASSERT_EQ(spec->process->rlimits.size(), 1u);
  EXPECT_EQ(spec->process->rlimits[0].hard, 1024u);
  ASSERT_TRUE(spec->process->capabilities.has_value());
  uint64_t want = (1ull << CapabilityFromName("CAP_AUDIT_WRITE")) |
                  (1ull << CapabilityFromName("CAP_KILL")) |
                  (1ull << CapabilityFromName("CAP_NET_BIND_SERVICE"));
  EXPECT_EQ(spec->process->capabilities->bounding, want);
  EXPECT_EQ(spec->process->capabilities->ambient, want);
  EXPECT_EQ(NamespaceTypes(*spec),
            (std::vector<std::string>{"pid", "network", "ipc", "uts", "mount"}));
  std::vector<std::string> dests;
  for (const auto& m : spec->mounts) dests.push_back(m.destination);
  EXPECT_EQ(dests, (std::vector<std::string>{"/proc", "/dev", "/dev/pts", "/dev/shm",
                                             "/dev/mqueue", "/sys", "/sys/fs/cgroup"}));
  EXPECT_EQ(FindMount(*spec, "/sys")->type, "sysfs");
  EXPECT_EQ(FindMount(*spec, "/dev/pts")->options.back(), "gid=5");
  ASSERT_TRUE(spec->linux.resources.has_value());
  ASSERT_EQ(spec->linux.resources->devices.size(), 1u);
  EXPECT_FALSE(spec->linux.resources->devices[0].allow);
  EXPECT_EQ(spec->linux.resources->devices[0].access, "rwm");
  EXPECT_EQ(spec->linux.masked_paths.size(), 10u);
  EXPECT_EQ(spec->linux.readonly_paths.size(), 5u);
  EXPECT_TRUE(spec->linux.uid_mappings.empty());
}

TEST(ExampleSpecTest, RootlessMapsTheCallerAndDropsNetworkAndResources) {
  ExampleSpecOptions o;
  o.rootless = true;
  o.uid = 1000;
  o.gid = 1001;
  auto spec = ParseSpec(ExampleSpecJson(o));
  ASSERT_TRUE(spec.ok()) << spec.status();
  EXPECT_EQ(NamespaceTypes(*spec), (std::vector<std::string>{"pid", "ipc", "uts", "mount", "user"}));
  ASSERT_EQ(spec->linux.uid_mappings.size(), 1u);
  EXPECT_EQ(spec->linux.uid_mappings[0].container_id, 0u);
  EXPECT_EQ(spec->linux.uid_mappings[0].host_id, 1000u);
  EXPECT_EQ(spec->linux.uid_mappings[0].size, 1u);
  ASSERT_EQ(spec->linux.gid_mappings.size(), 1u);
  EXPECT_EQ(spec->linux.gid_mappings[0].host_id, 1001u);
  EXPECT_FALSE(spec->linux.resources.has_value());
  const Mount* sys = FindMount(*spec, "/sys");
  ASSERT_NE(sys, nullptr);
  EXPECT_EQ(sys->type, "none");
  EXPECT_EQ(sys->source, "/sys");
  EXPECT_EQ(sys->options,
            (std::vector<std::string>{"rbind", "nosuid", "noexec", "nodev", "ro"}));
  const auto& pts = FindMount(*spec, "/dev/pts")->options;
  EXPECT_EQ(std::count(pts.begin(), pts.end(), "gid=5"), 0);
  EXPECT_EQ(pts.size(), 5u);
}

TEST(ExampleSpecTest, KeyOrderFollowsRuntimeSpecStructs) {
  // runc marshals Go structs: field order, not alphabetical (diffable against `runc spec`).
  auto j = nlohmann::ordered_json::parse(ExampleSpecJson({}));
  std::vector<std::string> keys;
  for (auto& [k, v] : j.items()) keys.push_back(k);
  EXPECT_EQ(keys, (std::vector<std::string>{"ociVersion", "process", "root", "hostname", "mounts",
                                            "linux"}));
}

}  // namespace
}  // namespace berth::executor
