#include "executor/builder.h"

#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/fs.h"
#include "gtest/gtest.h"

namespace berth::executor {
namespace {

class BuilderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/builder-test.XXXXXX";
    bundle_ = mkdtemp(tmpl);
    ASSERT_TRUE(fs::MkdirAll(bundle_ + "/rootfs/etc").ok());
    ASSERT_TRUE(fs::WriteFileAtomic(bundle_ + "/hosts", "127.0.0.1 localhost\n").ok());
  }
  void TearDown() override { (void)fs::RemoveAll(bundle_); }
  std::string bundle_;
};

TEST(MountOptionsTest, FlagsPropagationAndData) {
  auto o = ParseMountOptions({"nosuid", "noexec", "ro", "rw", "rprivate", "mode=755", "size=64k"});
  EXPECT_EQ(o.flags, static_cast<unsigned long>(MS_NOSUID | MS_NOEXEC));
  EXPECT_EQ(o.propagation, static_cast<unsigned long>(MS_PRIVATE | MS_REC));
  EXPECT_EQ(o.data, "mode=755,size=64k");
  EXPECT_FALSE(o.bind);
  auto b = ParseMountOptions({"rbind", "ro"});
  EXPECT_TRUE(b.bind);
  EXPECT_EQ(b.flags, static_cast<unsigned long>(MS_BIND | MS_REC | MS_RDONLY));
}

TEST_F(BuilderTest, SecureJoinStaysInsideRoot) {
  std::string root = bundle_ + "/rootfs";
  ASSERT_EQ(symlink("/etc", (root + "/abs").c_str()), 0);
  ASSERT_EQ(symlink("../../../../etc", (root + "/rel").c_str()), 0);
  EXPECT_EQ(SecureJoin(root, "/abs/passwd"), root + "/etc/passwd");
  EXPECT_EQ(SecureJoin(root, "/rel/passwd"), root + "/etc/passwd");
  EXPECT_EQ(SecureJoin(root, "/../../x"), root + "/x");
  EXPECT_EQ(SecureJoin(root, "/missing/dir"), root + "/missing/dir");
}

TEST_F(BuilderTest, RootfsPlanFromSpec) {
  Spec spec;
  spec.root_path = "rootfs";
  spec.hostname = "box";
  spec.process = Process{};
  spec.process->cwd = "/work";
  spec.linux.namespaces = {{"uts", ""}, {"mount", ""}};
  spec.linux.devices = {{"/dev/fuse", 'c', 10, 229, 0600, std::nullopt, std::nullopt}};
  spec.linux.sysctl = {{"net.ipv4.ip_forward", "1"}};
  spec.mounts = {{"/proc", "proc", "proc", {"nosuid"}},
                 {"/etc/hosts", "bind", bundle_ + "/hosts", {"rbind", "ro"}},
                 {"/sys/fs/cgroup", "cgroup", "cgroup", {"ro", "nosuid"}}};
  RootfsOptions opts;
  opts.bundle = bundle_;
  opts.cgroups.v1 = {{"memory", "/sys/fs/cgroup/memory/ns/id"}, {"pids", "/sys/fs/cgroup/pids/ns/id"}};
  auto plan = BuildRootfsPlan(spec, opts);
  ASSERT_TRUE(plan.ok()) << plan.status();
  std::string root = bundle_ + "/rootfs";
  EXPECT_EQ(plan->rootfs, root);
  EXPECT_EQ(plan->root_propagation, static_cast<unsigned long>(MS_SLAVE | MS_REC));
  EXPECT_TRUE(plan->set_hostname);
  EXPECT_EQ(plan->cwd_target, root + "/work");
  ASSERT_EQ(plan->sysctls.size(), 1u);
  EXPECT_EQ(plan->sysctls[0].first, "/proc/sys/net/ipv4/ip_forward");
  // proc, bind, then the cgroup mount expands into tmpfs + 2 binds + a read-only remount.
  ASSERT_EQ(plan->mounts.size(), 6u);
  EXPECT_EQ(plan->mounts[0].target, root + "/proc");
  EXPECT_EQ(plan->mounts[0].flags, static_cast<unsigned long>(MS_NOSUID));
  EXPECT_TRUE(plan->mounts[1].bind);
  EXPECT_TRUE(plan->mounts[1].file_target);
  EXPECT_TRUE(plan->mounts[1].remount);
  EXPECT_EQ(plan->mounts[2].fstype, "tmpfs");
  EXPECT_EQ(plan->mounts[3].source, "/sys/fs/cgroup/memory/ns/id");
  EXPECT_EQ(plan->mounts[3].target, root + "/sys/fs/cgroup/memory");
  EXPECT_TRUE(plan->mounts[5].flags & MS_REMOUNT);
  EXPECT_TRUE(plan->mounts[5].flags & MS_RDONLY);
  // The spec's device plus the six defaults.
  ASSERT_EQ(plan->devices.size(), 7u);
  EXPECT_EQ(plan->devices[0].target, root + "/dev/fuse");
  EXPECT_EQ(plan->devices[0].mode, static_cast<mode_t>(S_IFCHR | 0600));
  EXPECT_FALSE(plan->devices[0].bind);
}

TEST_F(BuilderTest, UserNamespaceBindsDevicesAndRelativeDestinationFails) {
  Spec spec;
  spec.root_path = bundle_ + "/rootfs";
  RootfsOptions opts;
  opts.bundle = bundle_;
  opts.userns = true;
  auto plan = BuildRootfsPlan(spec, opts);
  ASSERT_TRUE(plan.ok());
  for (const auto& d : plan->devices) EXPECT_TRUE(d.bind) << d.target;
  spec.mounts = {{"proc", "proc", "proc", {}}};
  EXPECT_EQ(BuildRootfsPlan(spec, opts).status().code(), absl::StatusCode::kInvalidArgument);
  spec.root_path = "missing";
  spec.mounts.clear();
  EXPECT_EQ(BuildRootfsPlan(spec, opts).status().code(), absl::StatusCode::kNotFound);
}

TEST_F(BuilderTest, DefaultHomeFromPasswd) {
  std::string root = bundle_ + "/rootfs";
  ASSERT_TRUE(fs::WriteFileAtomic(root + "/etc/passwd",
                                  "root:x:0:0:root:/root:/bin/sh\nu:x:1000:1000::/home/u:/bin/sh\n")
                  .ok());
  std::vector<std::string> env = {"PATH=/bin"};
  AddDefaultHome(root, 1000, env);
  EXPECT_EQ(env.back(), "HOME=/home/u");
  std::vector<std::string> unknown;
  AddDefaultHome(root, 4242, unknown);
  EXPECT_EQ(unknown, std::vector<std::string>{"HOME=/"});
  std::vector<std::string> set = {"HOME=/x"};
  AddDefaultHome(root, 0, set);
  EXPECT_EQ(set, std::vector<std::string>{"HOME=/x"});
}

TEST(ProcessPlanTest, PathLookupAndArrays) {
  Process p;
  p.args = {"sh", "-c", "true"};
  p.env = {"PATH=/usr/bin:/bin", "A=b"};
  p.user.uid = 1000;
  auto plan = BuildProcessPlan(p, nullptr);
  ASSERT_TRUE(plan.ok());
  EXPECT_EQ(plan->exec_candidates, (std::vector<std::string>{"/usr/bin/sh", "/bin/sh"}));
  ProcessPlan moved = *std::move(plan);
  moved.Finalize();  // pointers must be refreshed after a move
  ASSERT_EQ(moved.argv.size(), 4u);
  EXPECT_STREQ(moved.argv[2], "true");
  EXPECT_EQ(moved.argv[3], nullptr);
  EXPECT_EQ(moved.envp.size(), 3u);
  EXPECT_FALSE(moved.set_caps);
  p.args = {"./rel/bin"};
  EXPECT_EQ(BuildProcessPlan(p, nullptr)->exec_candidates, std::vector<std::string>{"./rel/bin"});
  p.args.clear();
  EXPECT_EQ(BuildProcessPlan(p, nullptr).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(SeccompTest, CompilesProfileAndRejectsUnknownAction) {
  Seccomp s;
  s.default_action = "SCMP_ACT_ALLOW";
  s.architectures = {"SCMP_ARCH_X86_64"};
  s.syscalls = {{{"mkdir", "mkdirat", "not_a_syscall"}, "SCMP_ACT_ERRNO", 1, {}}};
  unsigned int flags = 0;
  auto bpf = CompileSeccomp(s, &flags);
  ASSERT_TRUE(bpf.ok()) << bpf.status();
  EXPECT_GT(bpf->size(), 4u);
  s.syscalls[0].action = "SCMP_ACT_SOMETHING";
  EXPECT_EQ(CompileSeccomp(s, &flags).status().code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace berth::executor
