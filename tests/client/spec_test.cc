#include "client/oci_spec.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace berth::client {
namespace {

using json = nlohmann::json;
using ::testing::ElementsAre;

json Config() {
  return json::parse(R"({"config": {
      "Env": ["PATH=/bin", "LANG=C"], "Entrypoint": ["/entry"], "Cmd": ["serve", "--x"],
      "WorkingDir": "/app", "User": "app"}})");
}

RootfsReader FakeRootfs() {
  return [](const std::string& path) -> absl::StatusOr<std::string> {
    if (path == "/etc/passwd") return "root:x:0:0::/root:/bin/sh\napp:x:1000:1001::/app:/bin/sh\n";
    if (path == "/etc/group") return "root:x:0:\nstaff:x:50:\n";
    return absl::NotFoundError(path);
  };
}

bool HasMount(const json& spec, const std::string& dst) {
  for (const auto& m : spec["mounts"]) {
    if (m["destination"] == dst) return true;
  }
  return false;
}

bool HasNamespace(const json& spec, const std::string& type) {
  for (const auto& n : spec["linux"]["namespaces"]) {
    if (n["type"] == type) return true;
  }
  return false;
}

TEST(DefaultSpec, MatchesContainerdDefaults) {
  json s = DefaultSpec("default", "c1");
  for (const char* m : {"/proc", "/dev", "/dev/pts", "/dev/shm", "/dev/mqueue", "/sys",
                        "/sys/fs/cgroup"}) {
    EXPECT_TRUE(HasMount(s, m)) << m;
  }
  for (const char* n : {"pid", "ipc", "uts", "mount", "network"}) {
    EXPECT_TRUE(HasNamespace(s, n)) << n;
  }
  EXPECT_FALSE(HasNamespace(s, "user"));
  EXPECT_EQ(s["linux"]["cgroupsPath"], "/default/c1");
  EXPECT_EQ(s["process"]["rlimits"][0]["type"], "RLIMIT_NOFILE");
  EXPECT_EQ(s["process"]["rlimits"][0]["hard"], 1024);
  EXPECT_EQ(s["process"]["capabilities"]["bounding"].size(), 14u);
  EXPECT_TRUE(s["process"]["noNewPrivileges"].get<bool>());
  EXPECT_EQ(s["root"]["path"], "rootfs");
  EXPECT_THAT(s["linux"]["maskedPaths"], ::testing::Contains("/proc/kcore"));
  EXPECT_THAT(s["linux"]["readonlyPaths"], ::testing::Contains("/proc/sys"));
}

TEST(ReplaceOrAppendEnv, ReplacesAppendsAndUnsets) {
  EXPECT_THAT(ReplaceOrAppendEnv({"A=1", "B=2", "C=3"}, {"B=x", "D=4", "C"}),
              ElementsAre("A=1", "B=x", "D=4"));
}

TEST(GenerateSpec, AppliesImageConfig) {
  auto s = GenerateSpec("ns", "id", Config(), {}, FakeRootfs());
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_THAT((*s)["process"]["args"], ElementsAre("/entry", "serve", "--x"));
  EXPECT_EQ((*s)["process"]["cwd"], "/app");
  EXPECT_THAT((*s)["process"]["env"], ElementsAre("PATH=/bin", "LANG=C"));
  EXPECT_EQ((*s)["process"]["user"]["uid"], 1000);
  EXPECT_EQ((*s)["process"]["user"]["gid"], 1001);
}

TEST(GenerateSpec, ArgsReplaceCmdButKeepEntrypoint) {
  SpecOptions o;
  o.args = {"run", "me"};
  o.env = {"LANG=fr", "NEW=1"};
  auto s = GenerateSpec("ns", "id", Config(), o, FakeRootfs());
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_THAT((*s)["process"]["args"], ElementsAre("/entry", "run", "me"));
  EXPECT_THAT((*s)["process"]["env"], ElementsAre("PATH=/bin", "LANG=fr", "NEW=1"));
}

TEST(GenerateSpec, DefaultPathWithoutImageEnv) {
  auto s = GenerateSpec("ns", "id", json::parse(R"({"config":{"Cmd":["/bin/sh"]}})"), {});
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_THAT((*s)["process"]["env"], ElementsAre(kDefaultPathEnv));
  EXPECT_EQ((*s)["process"]["cwd"], "/");
}

TEST(GenerateSpec, NothingToRunIsInvalid) {
  auto s = GenerateSpec("ns", "id", json::parse(R"({"config":{}})"), {});
  EXPECT_TRUE(absl::IsInvalidArgument(s.status())) << s.status();
}

TEST(GenerateSpec, Options) {
  SpecOptions o;
  o.args = {"true"};
  o.user = "1000:staff";
  o.memory_bytes = 64 << 20;
  o.cpus = 1.5;
  o.hostname = "box";
  o.read_only = true;
  o.net = NetworkMode::kHost;
  o.terminal = true;
  o.mounts = {{"/host", "/data", true}};
  auto s = GenerateSpec("ns", "id", json::parse(R"({"config":{}})"), o, FakeRootfs());
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ((*s)["process"]["user"]["uid"], 1000);
  EXPECT_EQ((*s)["process"]["user"]["gid"], 50);
  EXPECT_EQ((*s)["linux"]["resources"]["memory"]["limit"], 64 << 20);
  EXPECT_EQ((*s)["linux"]["resources"]["cpu"]["quota"], 150000);
  EXPECT_EQ((*s)["linux"]["resources"]["cpu"]["period"], 100000);
  EXPECT_EQ((*s)["hostname"], "box");
  EXPECT_TRUE((*s)["root"]["readonly"].get<bool>());
  EXPECT_FALSE(HasNamespace(*s, "network"));
  EXPECT_TRUE(HasMount(*s, "/etc/resolv.conf"));
  EXPECT_TRUE((*s)["process"]["terminal"].get<bool>());
  EXPECT_THAT((*s)["process"]["env"], ::testing::Contains("TERM=xterm"));
  const json& last_bind = (*s)["mounts"][(*s)["mounts"].size() - 3];
  EXPECT_EQ(last_bind["destination"], "/data");
  EXPECT_THAT(last_bind["options"], ::testing::Contains("ro"));
}

TEST(GenerateSpec, UnknownUserName) {
  SpecOptions o;
  o.args = {"true"};
  o.user = "nobody";
  auto s = GenerateSpec("ns", "id", json::object(), o, FakeRootfs());
  EXPECT_TRUE(absl::IsNotFound(s.status())) << s.status();
  auto no_rootfs = GenerateSpec("ns", "id", json::object(), o, nullptr);
  EXPECT_TRUE(absl::IsInvalidArgument(no_rootfs.status())) << no_rootfs.status();
}

TEST(ExecProcessSpec, KeepsContainerProcess) {
  json spec = DefaultSpec("ns", "id");
  spec["process"]["env"] = {"PATH=/bin"};
  spec["process"]["cwd"] = "/w";
  json p = ExecProcessSpec(spec, {"ls", "-l"}, true, {"A=1"});
  EXPECT_THAT(p["args"], ElementsAre("ls", "-l"));
  EXPECT_EQ(p["cwd"], "/w");
  EXPECT_TRUE(p["terminal"].get<bool>());
  EXPECT_THAT(p["env"], ElementsAre("PATH=/bin", "TERM=xterm", "A=1"));
}

TEST(ParseMemory, Units) {
  EXPECT_EQ(*ParseMemory("512m"), 512 << 20);
  EXPECT_EQ(*ParseMemory("1G"), int64_t{1} << 30);
  EXPECT_EQ(*ParseMemory("100kb"), 100 << 10);
  EXPECT_EQ(*ParseMemory("4096"), 4096);
  EXPECT_FALSE(ParseMemory("lots").ok());
  EXPECT_FALSE(ParseMemory("-1m").ok());
  EXPECT_FALSE(ParseMemory("").ok());
}

TEST(ParseVolume, Forms) {
  auto v = ParseVolume("/a:/b:ro");
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(v->source, "/a");
  EXPECT_EQ(v->destination, "/b");
  EXPECT_TRUE(v->read_only);
  EXPECT_FALSE(ParseVolume("/a:/b")->read_only);
  EXPECT_FALSE(ParseVolume("rel:/b").ok());
  EXPECT_FALSE(ParseVolume("/a").ok());
  EXPECT_FALSE(ParseVolume("/a:/b:rx").ok());
}

}  // namespace
}  // namespace berth::client
