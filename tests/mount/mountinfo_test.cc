#include "core/mount/mountinfo.h"

#include "gtest/gtest.h"

namespace berth::mount {
namespace {

constexpr char kSample[] =
    "22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw,errors=remount-ro\n"
    "23 22 0:21 / /proc rw,nosuid,nodev,noexec,relatime shared:12 - proc proc rw\n"
    "40 22 0:35 / /var/lib/x rw,relatime - tmpfs tmpfs rw,size=1024k\n"
    "41 40 0:36 / /var/lib/x/snap/1 rw,relatime - overlay overlay "
    "rw,lowerdir=/a:/b,upperdir=/c,workdir=/d\n"
    "42 22 8:1 /src\\040dir /mnt/with\\040space ro,relatime master:3 - ext4 /dev/sda1 rw\n"
    "43 22 0:37 / /var/lib/xy rw - tmpfs tmpfs rw\n";

TEST(ParseMountInfo, Fields) {
  auto mounts = ParseMountInfo(kSample);
  ASSERT_TRUE(mounts.ok()) << mounts.status();
  ASSERT_EQ(mounts->size(), 6u);
  const MountInfo& root = (*mounts)[0];
  EXPECT_EQ(root.id, 22);
  EXPECT_EQ(root.parent, 1);
  EXPECT_EQ(root.major, 8u);
  EXPECT_EQ(root.minor, 1u);
  EXPECT_EQ(root.mount_point, "/");
  EXPECT_EQ(root.fs_type, "ext4");
  EXPECT_EQ(root.source, "/dev/sda1");
  EXPECT_EQ(root.super_options, "rw,errors=remount-ro");
  ASSERT_EQ(root.optional.size(), 1u);
  EXPECT_EQ(root.optional[0], "shared:1");
  const MountInfo& ovl = (*mounts)[3];
  EXPECT_EQ(ovl.fs_type, "overlay");
  EXPECT_EQ(ovl.super_options, "rw,lowerdir=/a:/b,upperdir=/c,workdir=/d");
  EXPECT_TRUE(ovl.optional.empty());
}

TEST(ParseMountInfo, UnescapesOctal) {
  auto mounts = ParseMountInfo(kSample);
  ASSERT_TRUE(mounts.ok());
  EXPECT_EQ((*mounts)[4].mount_point, "/mnt/with space");
  EXPECT_EQ((*mounts)[4].root, "/src dir");
  EXPECT_EQ((*mounts)[4].options, "ro,relatime");
}

TEST(ParseMountInfo, MalformedLineIsInvalidArgument) {
  auto bad = ParseMountInfo("22 1 8:1 / / rw\n");
  EXPECT_TRUE(absl::IsInvalidArgument(bad.status()));
  auto no_sep = ParseMountInfo("22 1 8:1 / / rw a b c d e\n");
  EXPECT_FALSE(no_sep.ok());
  auto bad_id = ParseMountInfo("x 1 8:1 / / rw - ext4 /dev/sda1 rw\n");
  EXPECT_TRUE(absl::IsInvalidArgument(bad_id.status()));
}

TEST(MountsUnder, ComponentAwareAndDeepestFirst) {
  auto mounts = ParseMountInfo(kSample);
  ASSERT_TRUE(mounts.ok());
  auto under = MountsUnder(*mounts, "/var/lib/x");
  ASSERT_EQ(under.size(), 2u);  // not /var/lib/xy
  EXPECT_EQ(under[0].mount_point, "/var/lib/x/snap/1");
  EXPECT_EQ(under[1].mount_point, "/var/lib/x");
  EXPECT_EQ(MountsUnder(*mounts, "/var/lib/x/").size(), 2u);
  EXPECT_EQ(MountsUnder(*mounts, "/").size(), 6u);
  EXPECT_TRUE(MountsUnder(*mounts, "/nothing").empty());
}

TEST(IsMountPoint, ProcAndRoot) {
  auto root = IsMountPoint("/");
  ASSERT_TRUE(root.ok()) << root.status();
  EXPECT_TRUE(*root);
  auto missing = IsMountPoint("/definitely/not/here");
  EXPECT_TRUE(absl::IsNotFound(missing.status()));
}

}  // namespace
}  // namespace berth::mount
