// Parsing the host's cgroup layout (the executor's tests cover the directories its drivers use).
#include "core/cgroup_layout.h"

#include "gtest/gtest.h"

namespace berth::cgroup {
namespace {

TEST(CgroupLayoutTest, MountOptionsAreNotControllers) {
  CgroupLayout l = ParseCgroupLayout(
      "31 30 0:28 / /sys/fs/cgroup/pids rw - cgroup cgroup rw,favordynmods,pids\n"
      "39 30 0:36 / /sys/fs/cgroup/systemd rw - cgroup cgroup rw,xattr,name=systemd\n",
      "8:pids:/a\n1:name=systemd:/b\n");
  EXPECT_EQ(l.mode, CgroupMode::kV1);
  ASSERT_EQ(l.v1.size(), 2u);
  EXPECT_EQ(l.v1[0].controllers, std::vector<std::string>{"pids"});
  EXPECT_EQ(l.v1[0].own_path, "/a");
  EXPECT_EQ(l.v1[1].controllers, std::vector<std::string>{"name=systemd"});
  EXPECT_EQ(l.v1[1].own_path, "/b");
}

TEST(CgroupLayoutTest, UnmountedOwnEntriesAndMalformedLinesAreIgnored) {
  CgroupLayout l = ParseCgroupLayout("garbage\n25 22 0:23 /x /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n",
                                     "3:memory:/m\n0::/x/user.slice\n");
  EXPECT_EQ(l.mode, CgroupMode::kV2);
  EXPECT_EQ(l.unified_mount, "/sys/fs/cgroup");
  EXPECT_EQ(l.unified_own_path, "/x/user.slice");
  EXPECT_EQ(DirUnderMount(l.unified_mount, l.unified_root, l.unified_own_path),
            "/sys/fs/cgroup/user.slice");
}

TEST(DirUnderMountTest, JoinsBelowTheMountPoint) {
  EXPECT_EQ(DirUnderMount("/m", "/", "/"), "/m");
  EXPECT_EQ(DirUnderMount("/m", "/", "a//b/"), "/m/a/b");
  EXPECT_EQ(DirUnderMount("/m", "/r", "/r/c"), "/m/c");
  EXPECT_EQ(DirUnderMount("/m", "/r", "/other"), "/m/other");
}

}  // namespace
}  // namespace berth::cgroup
