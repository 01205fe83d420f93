#include "executor/spec.h"

#include <sys/resource.h>

#include "gtest/gtest.h"

namespace berth::executor {
namespace {

constexpr char kConfig[] = R"({
  "ociVersion": "1.1.0",
  "root": {"path": "rootfs", "readonly": true},
  "hostname": "box",
  "process": {
    "terminal": false,
    "user": {"uid": 1000, "gid": 1000, "additionalGids": [5, 6], "umask": 18},
    "args": ["sh", "-c", "true"],
    "env": ["PATH=/bin"],
    "cwd": "/work",
    "capabilities": {"bounding": ["CAP_CHOWN", "CAP_KILL"], "effective": ["CAP_KILL"],
                     "permitted": ["CAP_KILL", "CAP_BOGUS"]},
    "rlimits": [{"type": "RLIMIT_NOFILE", "hard": 1024, "soft": 512}],
    "noNewPrivileges": true,
    "oomScoreAdj": 100
  },
  "mounts": [{"destination": "/proc", "type": "proc", "source": "proc", "options": ["nosuid"]}],
  "hooks": {"poststop": [{"path": "/bin/true", "timeout": 3}]},
  "annotations": {"a": "b"},
  "linux": {
    "namespaces": [{"type": "pid"}, {"type": "network", "path": "/proc/1/ns/net"}],
    "uidMappings": [{"containerID": 0, "hostID": 100000, "size": 65536}],
    "cgroupsPath": "/ns/id",
    "resources": {"memory": {"limit": 33554432}, "pids": {"limit": 10},
                  "cpu": {"shares": 512, "quota": 50000, "cpus": "0"},
                  "devices": [{"allow": false, "access": "rwm"},
                              {"allow": true, "type": "c", "major": 1, "minor": 3, "access": "rwm"}]},
    "maskedPaths": ["/proc/kcore"],
    "readonlyPaths": ["/proc/sys"],
    "sysctl": {"net.ipv4.ip_forward": "1"},
    "seccomp": {"defaultAction": "SCMP_ACT_ALLOW",
                "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1}]}
  }
})";

TEST(SpecTest, ParsesEverySection) {
  auto spec = ParseSpec(kConfig);
  ASSERT_TRUE(spec.ok()) << spec.status();
  EXPECT_EQ(spec->root_path, "rootfs");
  EXPECT_TRUE(spec->root_readonly);
  ASSERT_TRUE(spec->process.has_value());
  const Process& p = *spec->process;
  EXPECT_EQ(p.user.uid, 1000u);
  EXPECT_EQ(p.user.additional_gids, (std::vector<uint32_t>{5, 6}));
  EXPECT_EQ(p.user.umask, 18u);
  EXPECT_EQ(p.cwd, "/work");
  ASSERT_TRUE(p.capabilities.has_value());
  EXPECT_EQ(p.capabilities->bounding, (1ull << 0) | (1ull << 5));
  EXPECT_EQ(p.capabilities->permitted, 1ull << 5);  // the unknown name is dropped
  ASSERT_EQ(p.rlimits.size(), 1u);
  EXPECT_EQ(p.rlimits[0].resource, RLIMIT_NOFILE);
  EXPECT_EQ(p.rlimits[0].soft, 512u);
  EXPECT_TRUE(p.no_new_privileges);
  EXPECT_EQ(p.oom_score_adj, 100);
  ASSERT_EQ(spec->mounts.size(), 1u);
  EXPECT_EQ(spec->mounts[0].options, std::vector<std::string>{"nosuid"});
  EXPECT_EQ(spec->hooks.poststop.size(), 1u);
  EXPECT_EQ(spec->hooks.poststop[0].timeout, 3);
  const Linux& l = spec->linux;
  EXPECT_TRUE(l.HasNamespace("pid"));
  EXPECT_EQ(l.FindNamespace("network")->path, "/proc/1/ns/net");
  EXPECT_FALSE(l.HasNamespace("user"));
  EXPECT_EQ(l.uid_mappings[0].host_id, 100000u);
  EXPECT_EQ(l.cgroups_path, "/ns/id");
  ASSERT_TRUE(l.resources.has_value());
  EXPECT_EQ(l.resources->memory.limit, 33554432);
  EXPECT_EQ(l.resources->pids_limit, 10);
  EXPECT_EQ(l.resources->cpu.cpus, "0");
  ASSERT_EQ(l.resources->devices.size(), 2u);
  EXPECT_EQ(l.resources->devices[0].type, "a");
  EXPECT_EQ(l.resources->devices[1].major, 1);
  EXPECT_EQ(l.masked_paths, std::vector<std::string>{"/proc/kcore"});
  EXPECT_EQ(l.sysctl.at("net.ipv4.ip_forward"), "1");
  ASSERT_TRUE(l.seccomp.has_value());
  EXPECT_EQ(l.seccomp->syscalls[0].errno_ret, 1u);
}

TEST(SpecTest, BadInputIsInvalidArgument) {
  EXPECT_EQ(ParseSpec("{").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ParseSpec("[]").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ParseSpec(R"({"process": {"args": "sh"}})").status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ParseSpec(R"({"process": {"rlimits": [{"type": "RLIMIT_NOPE"}]}})").status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(SpecTest, ProcessAndResourcesAlone) {
  auto p = ParseProcess(R"({"args": ["echo"], "cwd": ""})");
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->cwd, "/");
  auto r = ParseResources(R"({"memory": {"limit": -1}, "unified": {"memory.high": "1M"}})");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->memory.limit, -1);
  EXPECT_EQ(r->unified.at("memory.high"), "1M");
}

// nlohmann's own conversion casts: a float beyond the field's range was undefined behaviour
// (oci_spec fuzzer), an integer beyond it wrapped. Both are refused now, naming the value.
TEST(SpecTest, NumbersOutsideTheirFieldAreInvalidArgument) {
  auto period = ParseResources(R"({"cpu": {"period": 100008888888888888880}})");
  EXPECT_EQ(period.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(period.status().message().find("expected an integer, got number 1.00008"),
            std::string::npos)
      << period.status();
  EXPECT_EQ(ParseResources(R"({"cpu": {"shares": 1.5}})").status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ParseProcess(R"({"args": ["sh"], "user": {"uid": -1}})").status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ParseProcess(R"({"args": ["sh"], "user": {"uid": 4294967296}})").status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ParseProcess(R"({"args": ["sh"], "user": {"additionalGids": [1e30]}})")
                .status()
                .code(),
            absl::StatusCode::kInvalidArgument);
  auto ok = ParseResources(R"({"memory": {"limit": -1}, "cpu": {"quota": -1, "period": 100000}})");
  ASSERT_TRUE(ok.ok()) << ok.status();
  EXPECT_EQ(ok->memory.limit, -1);
  EXPECT_EQ(ok->cpu.quota, -1);
  EXPECT_EQ(ok->cpu.period, 100000u);
}

TEST(SpecTest, CapabilityNames) {
  EXPECT_EQ(CapabilityFromName("CAP_CHOWN"), 0);
  EXPECT_EQ(CapabilityFromName("CAP_SYS_ADMIN"), 21);
  EXPECT_EQ(CapabilityFromName("CAP_NOPE"), -1);
}

}  // namespace
}  // namespace berth::executor
