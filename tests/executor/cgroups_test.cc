// Cgroup layout parsing and both drivers against a temporary directory tree.
#include "executor/cgroups.h"

#include <unistd.h>

#include "core/fs.h"
#include "gtest/gtest.h"

namespace berth::executor {
namespace {

constexpr char kHybridMountinfo[] =
    "30 22 0:27 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755\n"
    "31 30 0:28 / /sys/fs/cgroup/cpu,cpuacct rw,relatime - cgroup cgroup rw,cpu,cpuacct\n"
    "34 30 0:31 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory\n"
    "39 30 0:36 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,xattr,name=systemd\n"
    "40 30 0:37 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw\n";
constexpr char kHybridSelf[] = "9:name=systemd:/\n4:memory:/proc_api/x\n1:cpu,cpuacct:/\n0::/\n";

TEST(CgroupLayoutTest, HybridHost) {
  CgroupLayout l = ParseCgroupLayout(kHybridMountinfo, kHybridSelf);
  EXPECT_EQ(l.mode, CgroupMode::kHybrid);
  ASSERT_EQ(l.v1.size(), 3u);
  EXPECT_EQ(l.v1[0].controllers, (std::vector<std::string>{"cpu", "cpuacct"}));
  EXPECT_EQ(l.v1[1].own_path, "/proc_api/x");
  EXPECT_EQ(l.v1[2].controllers, std::vector<std::string>{"name=systemd"});
  EXPECT_EQ(l.unified_mount, "/sys/fs/cgroup/unified");

  auto abs = NewCgroupManager(l, "/ns/id", "id")->Paths();
  EXPECT_EQ(abs.at("cpu,cpuacct"), "/sys/fs/cgroup/cpu,cpuacct/ns/id");
  EXPECT_EQ(abs.at("memory"), "/sys/fs/cgroup/memory/ns/id");
  EXPECT_EQ(abs.at("systemd"), "/sys/fs/cgroup/systemd/ns/id");
  EXPECT_EQ(abs.at("unified"), "/sys/fs/cgroup/unified/ns/id");
  // Relative paths (and no path: the id) live below our own cgroup.
  auto rel = NewCgroupManager(l, "", "c1")->Paths();
  EXPECT_EQ(rel.at("memory"), "/sys/fs/cgroup/memory/proc_api/x/c1");
  EXPECT_EQ(rel.at("cpu,cpuacct"), "/sys/fs/cgroup/cpu,cpuacct/c1");
}

TEST(CgroupLayoutTest, PureV2) {
  CgroupLayout l = ParseCgroupLayout(
      "25 22 0:23 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw,nsdelegate\n", "0::/user.slice\n");
  EXPECT_EQ(l.mode, CgroupMode::kV2);
  auto m = NewCgroupManager(l, "/ns/id", "id");
  EXPECT_EQ(m->Paths(), (std::map<std::string, std::string>{{"", "/sys/fs/cgroup/ns/id"}}));
  EXPECT_EQ(NewCgroupManager(l, "sub", "id")->Paths().at(""), "/sys/fs/cgroup/user.slice/sub");
  EXPECT_TRUE(m->MountInfo(true).unified);
}

class CgroupFsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/cgroup-test.XXXXXX";
    root_ = mkdtemp(tmpl);
  }
  void TearDown() override { (void)fs::RemoveAll(root_); }
  std::string Read(const std::string& path) {
    auto s = fs::ReadFile(path);
    return s.ok() ? *s : "<missing>";
  }
  void Touch(const std::string& path, const std::string& v = "") {
    ASSERT_TRUE(fs::MkdirAll(fs::Dirname(path)).ok());
    ASSERT_TRUE(fs::WriteFileAtomic(path, v).ok());
  }
  std::string root_;
};

TEST_F(CgroupFsTest, V2CreateEnablesControllersAndSetWritesLimits) {
  std::string mount = root_ + "/cg";
  Touch(mount + "/cgroup.controllers", "cpu memory pids\n");
  Touch(mount + "/cgroup.subtree_control");
  Touch(mount + "/ns/cgroup.controllers", "cpu memory pids\n");
  Touch(mount + "/ns/cgroup.subtree_control");
  auto m = NewV2Manager(mount + "/ns/id", mount);
  ASSERT_TRUE(m->Create().ok());
  EXPECT_EQ(Read(mount + "/cgroup.subtree_control"), "+cpu +memory +pids");
  EXPECT_EQ(Read(mount + "/ns/cgroup.subtree_control"), "+cpu +memory +pids");
  std::string d = mount + "/ns/id";
  for (const char* f : {"memory.max", "memory.swap.max", "pids.max", "cpu.max", "cpu.weight",
                        "memory.high", "cgroup.freeze", "cgroup.procs"}) {
    Touch(d + "/" + f);
  }
  Resources r;
  r.memory.limit = 33554432;
  r.memory.swap = 67108864;
  r.pids_limit = -1;
  r.cpu.quota = 50000;
  r.cpu.period = 100000;
  r.cpu.shares = 1024;
  r.unified["memory.high"] = "1M";
  ASSERT_TRUE(m->Set(r).ok());
  EXPECT_EQ(Read(d + "/memory.max"), "33554432");
  EXPECT_EQ(Read(d + "/memory.swap.max"), "33554432");  // swap alone on v2
  EXPECT_EQ(Read(d + "/pids.max"), "max");
  EXPECT_EQ(Read(d + "/cpu.max"), "50000 100000");
  EXPECT_EQ(Read(d + "/cpu.weight"), "39");
  EXPECT_EQ(Read(d + "/memory.high"), "1M");
  r.unified = {{"../escape", "1"}};
  EXPECT_EQ(m->Set(r).code(), absl::StatusCode::kInvalidArgument);
  ASSERT_TRUE(m->Freeze(true).ok());
  EXPECT_EQ(Read(d + "/cgroup.freeze"), "1");
  EXPECT_TRUE(*m->Frozen());
  ASSERT_TRUE(m->Apply(1234).ok());
  EXPECT_EQ(Read(d + "/cgroup.procs"), "1234");
  Touch(d + "/cgroup.procs", "1\n2\n");
  EXPECT_EQ(*m->Pids(), (std::vector<pid_t>{1, 2}));
  Touch(d + "/pids.current", "2\n");
  EXPECT_EQ(m->Stats()->pids_current, 2u);
}

TEST_F(CgroupFsTest, V1SetWritesPerControllerAndInitialisesCpuset) {
  std::string mem = root_ + "/memory/ns/id", pids = root_ + "/pids/ns/id";
  std::string cpuset = root_ + "/cpuset/ns/id", dev = root_ + "/devices/ns/id";
  Touch(root_ + "/cpuset/cpuset.cpus", "0-1\n");
  Touch(root_ + "/cpuset/cpuset.mems", "0\n");
  // The kernel creates these (empty) with each directory; the fake tree has them up front.
  for (const std::string& d : {root_ + "/cpuset/ns", cpuset}) {
    Touch(d + "/cpuset.cpus");
    Touch(d + "/cpuset.mems");
  }
  auto m = NewV1Manager({{"memory", mem}, {"pids", pids}, {"cpuset", cpuset}, {"devices", dev}});
  ASSERT_TRUE(m->Create().ok());
  EXPECT_EQ(Read(root_ + "/cpuset/ns/cpuset.cpus"), "0-1");
  EXPECT_EQ(Read(cpuset + "/cpuset.mems"), "0");
  for (const char* f : {"memory.limit_in_bytes", "memory.memsw.limit_in_bytes"}) Touch(mem + "/" + f);
  Touch(pids + "/pids.max");
  Touch(dev + "/devices.allow");
  Touch(dev + "/devices.deny");
  Resources r;
  r.memory.limit = 1000;
  r.memory.swap = 2000;
  r.pids_limit = 10;
  r.devices = {{false, "a", std::nullopt, std::nullopt, "rwm"}, {true, "c", 1, 3, "rwm"},
               {true, "c", 136, std::nullopt, "rwm"}};
  ASSERT_TRUE(m->Set(r).ok());
  EXPECT_EQ(Read(mem + "/memory.limit_in_bytes"), "1000");
  EXPECT_EQ(Read(mem + "/memory.memsw.limit_in_bytes"), "2000");
  EXPECT_EQ(Read(pids + "/pids.max"), "10");
  EXPECT_EQ(Read(dev + "/devices.deny"), "a");
  EXPECT_EQ(Read(dev + "/devices.allow"), "c 136:* rwm");  // the last write wins in a plain file
  EXPECT_EQ(m->ProcsFiles().size(), 4u);
  EXPECT_EQ(m->MountInfo(false).v1.size(), 4u);
}

}  // namespace
}  // namespace berth::executor
