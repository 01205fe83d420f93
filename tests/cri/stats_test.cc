// cgroupfs and /proc/net/dev parsing over fake directories (cri/stats.h).
#include "cri/stats.h"

#include <unistd.h>

#include "core/fs.h"
#include "gtest/gtest.h"

namespace berth::cri {
namespace {

class FakeCgroup : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/berth-stats-XXXXXX";
    root_ = ::mkdtemp(tmpl);
  }
  void TearDown() override { ASSERT_TRUE(fs::RemoveAll(root_).ok()); }
  void Write(const std::string& rel, const std::string& data) {
    std::string p = root_ + "/" + rel;
    ASSERT_TRUE(fs::MkdirAll(fs::Dirname(p)).ok());
    ASSERT_TRUE(fs::WriteFileAtomic(p, data).ok());
  }
  std::string root_;
};

TEST_F(FakeCgroup, V1WorkingSetIsUsageMinusInactiveFile) {
  Write("cpuacct/kubepods/pod1/c1/cpuacct.usage", "123456789\n");
  Write("memory/kubepods/pod1/c1/memory.usage_in_bytes", "10485760\n");
  Write("memory/kubepods/pod1/c1/memory.limit_in_bytes", "9223372036854771712\n");
  Write("memory/kubepods/pod1/c1/memory.stat",
        "cache 100\nrss 7\ninactive_file 1\ntotal_cache 4096\ntotal_rss 8388608\n"
        "total_inactive_file 2097152\ntotal_pgfault 5000\ntotal_pgmajfault 3\n");
  Write("memory/kubepods/pod1/c1/memory.oom_control",
        "oom_kill_disable 0\nunder_oom 0\noom_kill 2\n");
  Write("pids/kubepods/pod1/c1/pids.current", "4\n");
  auto u = ReadCgroupUsage(root_, "/kubepods/pod1/c1");
  ASSERT_TRUE(u.ok()) << u.status();
  EXPECT_EQ(u->cpu_usage_ns, 123456789u);
  EXPECT_EQ(u->memory_usage, 10485760u);
  EXPECT_EQ(u->working_set, 10485760u - 2097152u);
  EXPECT_EQ(u->rss, 8388608u);  // the hierarchical total, not the cgroup's own "rss"
  EXPECT_EQ(u->page_faults, 5000u);
  EXPECT_EQ(u->major_page_faults, 3u);
  EXPECT_EQ(u->memory_limit, 0u);  // the kernel's "unlimited"
  EXPECT_EQ(u->oom_kills, 2u);
  EXPECT_EQ(u->pids, 4u);
}

TEST_F(FakeCgroup, V1InactiveAboveUsageClampsToZeroAndLimitGivesAvailable) {
  Write("memory/c/memory.usage_in_bytes", "100\n");
  Write("memory/c/memory.limit_in_bytes", "8388608\n");
  Write("memory/c/memory.stat", "total_inactive_file 200\n");
  auto u = ReadCgroupUsage(root_, "c");  // relative: taken from the root
  ASSERT_TRUE(u.ok()) << u.status();
  EXPECT_EQ(u->working_set, 0u);
  EXPECT_EQ(u->cpu_usage_ns, 0u);  // no cpuacct dir: zero, not an error
  ::runtime::v1::MemoryUsage m;
  FillMemoryUsage(*u, 42, &m);
  EXPECT_EQ(m.timestamp(), 42);
  EXPECT_EQ(m.available_bytes().value(), 8388608u);
  EXPECT_TRUE(m.has_working_set_bytes());
}

TEST_F(FakeCgroup, V2UsesCpuStatMemoryCurrentAndEvents) {
  Write("cgroup.controllers", "cpu memory pids\n");
  Write("pod/c/cpu.stat", "usage_usec 2500\nuser_usec 2000\nsystem_usec 500\n");
  Write("pod/c/memory.current", "5000\n");
  Write("pod/c/memory.max", "max\n");
  Write("pod/c/memory.stat",
        "anon 3000\nfile 2000\ninactive_file 1500\npgfault 77\npgmajfault 1\n");
  Write("pod/c/memory.events", "low 0\nhigh 0\nmax 3\noom 1\noom_kill 1\n");
  Write("pod/c/pids.current", "2\n");
  auto u = ReadCgroupUsage(root_, "/pod/c");
  ASSERT_TRUE(u.ok()) << u.status();
  EXPECT_EQ(u->cpu_usage_ns, 2500000u);
  EXPECT_EQ(u->memory_usage, 5000u);
  EXPECT_EQ(u->working_set, 3500u);
  EXPECT_EQ(u->rss, 3000u);
  EXPECT_EQ(u->page_faults, 77u);
  EXPECT_EQ(u->memory_limit, 0u);
  EXPECT_EQ(u->oom_kills, 1u);
  EXPECT_EQ(u->pids, 2u);
  ::runtime::v1::CpuUsage c;
  FillCpuUsage(*u, 7, &c);
  EXPECT_EQ(c.usage_core_nano_seconds().value(), 2500000u);
}

TEST_F(FakeCgroup, MissingCgroupIsNotFoundAndEscapesAreRefused) {
  EXPECT_TRUE(absl::IsNotFound(ReadCgroupUsage(root_, "/nope").status()));
  EXPECT_TRUE(absl::IsInvalidArgument(ReadCgroupUsage(root_, "/a/../../etc").status()));
  EXPECT_TRUE(absl::IsInvalidArgument(ReadCgroupUsage(root_, "").status()));
}

TEST(CgroupPath, SystemdAndRelativeForms) {
  EXPECT_EQ(CgroupRelativePath("/berth/abc"), "/berth/abc");
  EXPECT_EQ(CgroupRelativePath("berth/abc"), "/berth/abc");
  EXPECT_EQ(CgroupRelativePath("kubepods.slice:cri-containerd:abc"),
            "/kubepods.slice/cri-containerd-abc.scope");
  EXPECT_EQ(SpecCgroupsPath(R"({"linux":{"cgroupsPath":"/x/y"}})"), "/x/y");
  EXPECT_EQ(SpecCgroupsPath("not json"), "");
  EXPECT_EQ(SpecCgroupsPath(R"({"linux":{}})"), "");
}

TEST(CgroupUsageSum, AddsAndKeepsUnlimited) {
  CgroupUsage a, b;
  a.cpu_usage_ns = 5;
  a.memory_limit = 100;
  b.cpu_usage_ns = 7;
  b.working_set = 3;
  a += b;
  EXPECT_EQ(a.cpu_usage_ns, 12u);
  EXPECT_EQ(a.working_set, 3u);
  EXPECT_EQ(a.memory_limit, 0u);  // one unlimited member makes the sum unlimited
}

TEST(NetDev, ParsesInterfacesSkippingHeaders) {
  const char* text =
      "Inter-|   Receive                                                |  Transmit\n"
      " face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs "
      "drop fifo colls carrier compressed\n"
      "    lo:     140       2    0    0    0     0          0         0      140       2    0    "
      "0    0     0       0          0\n"
      "  eth0:   90000     100    3    0    0     0          0         0     5000      50    1    "
      "0    0     0       0          0\n"
      "  bad: 1 2 3\n";
  auto v = ParseNetDev(text);
  ASSERT_EQ(v.size(), 2u);
  EXPECT_EQ(v[0].name, "lo");
  EXPECT_EQ(v[1].name, "eth0");
  EXPECT_EQ(v[1].rx_bytes, 90000u);
  EXPECT_EQ(v[1].rx_errors, 3u);
  EXPECT_EQ(v[1].tx_bytes, 5000u);
  EXPECT_EQ(v[1].tx_errors, 1u);
  ::runtime::v1::NetworkInterfaceUsage n;
  FillInterfaceUsage(v[1], &n);
  EXPECT_EQ(n.name(), "eth0");
  EXPECT_EQ(n.tx_bytes().value(), 5000u);
}

TEST(NetDev, OwnNetnsHasLoopback) {
  // The daemon's own namespace through the same thread-joining path the pods use.
  auto v = ReadNetnsUsage("/proc/self/ns/net");
  if (!v.ok() && absl::IsPermissionDenied(v.status())) GTEST_SKIP() << "setns needs CAP_SYS_ADMIN";
  ASSERT_TRUE(v.ok()) << v.status();
  bool lo = false;
  for (const auto& i : *v) lo |= i.name == "lo";
  EXPECT_TRUE(lo);
}

}  // namespace
}  // namespace berth::cri
