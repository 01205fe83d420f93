#include "executor/rootfs_mount.h"

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/mount/mountinfo.h"
#include "executor/spec.h"
#include "gtest/gtest.h"
#include "tests/support/temp_dir.h"

namespace berth::executor {
namespace {

Spec SpecFrom(const std::string& json) {
  absl::StatusOr<Spec> spec = ParseSpec(json);
  EXPECT_TRUE(spec.ok()) << spec.status();
  return spec.ok() ? *spec : Spec{};
}

TEST(RootfsMayBePrivate, PlainContainer) {
  EXPECT_TRUE(RootfsMayBePrivate(SpecFrom(R"({"ociVersion":"1.0.2","root":{"path":"rootfs"},
      "mounts":[{"destination":"/data","type":"bind","source":"/tmp","options":["rbind","rslave"]}],
      "linux":{"rootfsPropagation":"rslave"}})")));
}

TEST(RootfsMayBePrivate, HooksKeepItOnTheHost) {
  EXPECT_FALSE(RootfsMayBePrivate(SpecFrom(R"({"ociVersion":"1.0.2","root":{"path":"rootfs"},
      "hooks":{"poststop":[{"path":"/bin/true"}]}})")));
  EXPECT_FALSE(RootfsMayBePrivate(SpecFrom(R"({"ociVersion":"1.0.2","root":{"path":"rootfs"},
      "hooks":{"createRuntime":[{"path":"/bin/true"}]}})")));
}

TEST(RootfsMayBePrivate, SharedPropagationKeepsItOnTheHost) {
  EXPECT_FALSE(RootfsMayBePrivate(SpecFrom(R"({"ociVersion":"1.0.2","root":{"path":"rootfs"},
      "linux":{"rootfsPropagation":"rshared"}})")));
  EXPECT_FALSE(RootfsMayBePrivate(SpecFrom(R"({"ociVersion":"1.0.2","root":{"path":"rootfs"},
      "mounts":[{"destination":"/m","type":"bind","source":"/tmp","options":["rbind","shared"]}]})")));
}

TEST(MountBundleRootfs, NoMountsIsNothingToDo) {
  test_support::TempDir dir("rootfs-mount");
  ASSERT_TRUE(MountBundleRootfs({}, dir.path()).ok());
  EXPECT_NE(::access((dir.path() + "/rootfs").c_str(), F_OK), 0);
}

// What the shim's create helper does: the mount exists in the child's namespace, never in ours.
TEST(LeaveHostMountNamespace, MountsStayInTheChild) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root (mount namespaces)";
  test_support::TempDir dir("rootfs-mount");
  std::string source = dir.Sub("source");
  ASSERT_EQ(::close(::creat((source + "/marker").c_str(), 0644)), 0);
  pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    bool ok = LeaveHostMountNamespace().ok() &&
              MountBundleRootfs({{"bind", source, "", {"rbind", "ro"}}}, dir.path()).ok() &&
              ::access((dir.path() + "/rootfs/marker").c_str(), F_OK) == 0;
    _exit(ok ? 0 : 1);
  }
  int ws = 0;
  ASSERT_EQ(::waitpid(pid, &ws, 0), pid);
  EXPECT_TRUE(WIFEXITED(ws) && WEXITSTATUS(ws) == 0) << "child could not mount its rootfs";
  absl::StatusOr<bool> mounted = mount::IsMountPoint(dir.path() + "/rootfs");
  ASSERT_TRUE(mounted.ok()) << mounted.status();
  EXPECT_FALSE(*mounted);
  EXPECT_NE(::access((dir.path() + "/rootfs/marker").c_str(), F_OK), 0);
}

}  // namespace
}  // namespace berth::executor
