// Native snapshotter through real mounts, and its copy of what only root can create.
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "gtest/gtest.h"
#include "snapshotter/fsutil.h"
#include "tests/snapshotter/factories.h"

namespace berth::snapshotter::testing {
namespace {

namespace stdfs = std::filesystem;

INSTANTIATE_TEST_SUITE_P(Native, SnapshotterMountConformance, ::testing::Values(NativeFactory()),
                         FactoryName);

TEST(NativeCopyAsRoot, OwnersDevicesSetuidAndTrustedXattrs) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root (chown, mknod, trusted.* xattrs)";
  char tmpl[] = "/tmp/berth-copy-test-XXXXXX";
  ASSERT_NE(::mkdtemp(tmpl), nullptr);
  const std::string base = tmpl, src = base + "/src", dst = base + "/dst";
  ASSERT_TRUE(stdfs::create_directories(src + "/dir"));
  ASSERT_TRUE(stdfs::create_directory(dst));
  std::ofstream(src + "/suid") << "x";
  ASSERT_EQ(::chown((src + "/suid").c_str(), 1000, 1000), 0);
  ASSERT_EQ(::chmod((src + "/suid").c_str(), 04755), 0);
  ASSERT_EQ(::mknod((src + "/null").c_str(), S_IFCHR | 0666, makedev(1, 3)), 0);
  ASSERT_EQ(::mknod((src + "/whiteout").c_str(), S_IFCHR, makedev(0, 0)), 0);
  ASSERT_EQ(::setxattr((src + "/dir").c_str(), "trusted.overlay.opaque", "y", 1, 0), 0);
  ASSERT_EQ(::lchown((src + "/dir").c_str(), 0, 1234), 0);
  stdfs::create_symlink("/etc/passwd", src + "/abs-link");  // never followed
  ASSERT_EQ(::lchown((src + "/abs-link").c_str(), 7, 8), 0);
  ASSERT_EQ(::chmod(src.c_str(), 0711), 0);

  absl::Status st = CopyDir(src, dst);
  ASSERT_TRUE(st.ok()) << st;
  struct stat s;
  ASSERT_EQ(::lstat((dst + "/suid").c_str(), &s), 0);
  EXPECT_EQ(s.st_uid, 1000u);
  EXPECT_EQ(s.st_gid, 1000u);
  EXPECT_EQ(s.st_mode & 07777, 04755u);
  ASSERT_EQ(::lstat((dst + "/null").c_str(), &s), 0);
  EXPECT_TRUE(S_ISCHR(s.st_mode));
  EXPECT_EQ(s.st_rdev, makedev(1, 3));
  ASSERT_EQ(::lstat((dst + "/whiteout").c_str(), &s), 0);
  EXPECT_TRUE(S_ISCHR(s.st_mode));
  EXPECT_EQ(s.st_rdev, makedev(0, 0));
  char value[8] = {};
  EXPECT_EQ(::getxattr((dst + "/dir").c_str(), "trusted.overlay.opaque", value, sizeof(value)), 1);
  EXPECT_EQ(value[0], 'y');
  ASSERT_EQ(::lstat((dst + "/dir").c_str(), &s), 0);
  EXPECT_EQ(s.st_gid, 1234u);
  ASSERT_EQ(::lstat((dst + "/abs-link").c_str(), &s), 0);
  EXPECT_TRUE(S_ISLNK(s.st_mode));
  EXPECT_EQ(s.st_uid, 7u);
  ASSERT_EQ(::lstat(dst.c_str(), &s), 0);
  EXPECT_EQ(s.st_mode & 07777, 0711u);
  stdfs::remove_all(base);
}

}  // namespace
}  // namespace berth::snapshotter::testing
