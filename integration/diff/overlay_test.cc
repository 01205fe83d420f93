// Root-only: kOverlayUpper layers under a real overlayfs mount, owners, capabilities, devices,
// and Diff of an overlay upper applied back onto a plain copy.
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cstring>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "plugins/diff/diff.h"
#include "tests/diff/test_util.h"

namespace berth::diff {
namespace {

using testing::Exists;
using testing::Lstat;
using testing::ReadAll;
using testing::StringReader;
using testing::TarBuilder;
using testing::TempDir;

std::string Base() {
  return TarBuilder()
      .Dir("etc")
      .File("etc/keep", "k")
      .File("gone", "bye")
      .Dir("o")
      .File("o/old", "old")
      .Dir("o/oldsub")
      .File("o/oldsub/x", "x")
      .Finish();
}

// A vfs_cap_data v2 with CAP_NET_BIND_SERVICE permitted + effective (linux/capability.h).
std::string CapNetBind() {
  uint32_t words[5] = {0x02000001, 1u << 10, 0, 0, 0};
  return std::string(reinterpret_cast<const char*>(words), sizeof(words));
}

std::string Layer() {
  return TarBuilder()
      .Whiteout(".wh.gone")
      .Dir("o")
      .Whiteout("o/.wh..wh..opq")
      .File("o/new", "new")
      .File("tool", "bin",
            {.mode = 04755,
             .uid = 1000,
             .gid = 1000,
             .xattrs = {{"security.capability", CapNetBind()}}})
      .Whiteout("etc/.wh.never-existed")
      .Finish();
}

class OverlayTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root (mknod, trusted xattrs, mount)";
    lower_ = tmp_.Sub("lower");
    upper_ = tmp_.Sub("upper");
    work_ = tmp_.Sub("work");
    merged_ = tmp_.Sub("merged");
    auto b = Apply(StringReader(Base()), "", lower_, {});
    ASSERT_TRUE(b.ok()) << b.status();
    ApplyOptions opts;
    opts.mode = Mode::kOverlayUpper;
    auto l = Apply(StringReader(testing::Gzip(Layer())), kMediaTypeOciLayerGzip, upper_, opts);
    ASSERT_TRUE(l.ok()) << l.status();
    ASSERT_TRUE(SyncFilesystem(upper_).ok());
  }
  void TearDown() override {
    if (mounted_) ::umount2(merged_.c_str(), MNT_DETACH);
  }
  void Mount() {
    std::string data = absl::StrCat("lowerdir=", lower_, ",upperdir=", upper_, ",workdir=", work_);
    ASSERT_EQ(::mount("overlay", merged_.c_str(), "overlay", 0, data.c_str()), 0)
        << std::strerror(errno);
    mounted_ = true;
  }

  TempDir tmp_;
  std::string lower_, upper_, work_, merged_;
  bool mounted_ = false;
};

TEST_F(OverlayTest, UpperHasOverlayWhiteoutsAndOwners) {
  struct stat st = Lstat(upper_ + "/gone");
  EXPECT_TRUE(S_ISCHR(st.st_mode));
  EXPECT_EQ(st.st_rdev, makedev(0, 0));
  EXPECT_TRUE(S_ISCHR(Lstat(upper_ + "/etc/never-existed").st_mode));
  EXPECT_EQ(testing::Xattr(upper_ + "/o", "trusted.overlay.opaque"), "y");
  EXPECT_FALSE(Exists(upper_ + "/o/.wh..wh..opq"));
  st = Lstat(upper_ + "/tool");
  EXPECT_EQ(st.st_uid, 1000u);
  EXPECT_EQ(st.st_mode & 07777, 04755u);
  EXPECT_EQ(testing::Xattr(upper_ + "/tool", "security.capability").size(), 20u)
      << "capability set after chown survives";
}

TEST_F(OverlayTest, MergedViewFollowsOciSemantics) {
  Mount();
  EXPECT_FALSE(Exists(merged_ + "/gone"));
  EXPECT_FALSE(Exists(merged_ + "/o/old"));
  EXPECT_FALSE(Exists(merged_ + "/o/oldsub"));
  EXPECT_EQ(ReadAll(merged_ + "/o/new"), "new");
  EXPECT_EQ(ReadAll(merged_ + "/etc/keep"), "k");
  EXPECT_EQ(Lstat(merged_ + "/tool").st_mode & 07777, 04755u);
}

TEST_F(OverlayTest, DiffOfUpperAppliedToPlainCopyEqualsMergedView) {
  std::string blob;
  auto d = Diff("", upper_, Mode::kOverlayUpper, testing::StringWriter(&blob));
  ASSERT_TRUE(d.ok()) << d.status();
  std::string copy = tmp_.Sub("copy");
  ASSERT_TRUE(Apply(StringReader(Base()), "", copy, {}).ok());
  ApplyOptions opts;
  opts.expected_diff_id = d->diff_id;
  auto a = Apply(StringReader(blob), d->media_type, copy, opts);
  ASSERT_TRUE(a.ok()) << a.status();
  Mount();
  EXPECT_EQ(testing::Tree(copy), testing::Tree(merged_));
  EXPECT_EQ(testing::Xattr(copy + "/tool", "security.capability"), CapNetBind());
}

TEST(OverlayParentsTest, ImplicitParentsInheritFromLowers) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root (chown)";
  TempDir tmp;
  std::string lower = tmp.Sub("lower"), upper = tmp.Sub("upper"), bare = tmp.Sub("bare");
  std::string base = TarBuilder()
                         .Dir("deep", {.mode = 0711, .uid = 5, .mtime = 1111})
                         .Dir("deep/er", {.mode = 0700, .uid = 1234, .gid = 99, .mtime = 2222})
                         .Finish();
  ASSERT_TRUE(Apply(StringReader(base), "", lower, {}).ok());
  std::string layer = TarBuilder().File("deep/er/file", "x").Finish();
  ApplyOptions opts;
  opts.mode = Mode::kOverlayUpper;
  opts.parents = {tmp.path() + "/missing-is-fine-only-if-exists"};
  EXPECT_TRUE(absl::IsNotFound(Apply(StringReader(layer), "", upper, opts).status()));
  opts.parents = {lower};
  auto r = Apply(StringReader(layer), "", upper, opts);
  ASSERT_TRUE(r.ok()) << r.status();
  struct stat st = Lstat(upper + "/deep/er");
  EXPECT_EQ(st.st_mode & 07777, 0700u);
  EXPECT_EQ(st.st_uid, 1234u);
  EXPECT_EQ(st.st_gid, 99u);
  EXPECT_EQ(st.st_mtim.tv_sec, 2222);
  EXPECT_EQ(Lstat(upper + "/deep").st_mode & 07777, 0711u);
  opts.parents.clear();
  ASSERT_TRUE(Apply(StringReader(layer), "", bare, opts).ok());
  EXPECT_EQ(Lstat(bare + "/deep/er").st_mode & 07777, 0755u) << "no lowers: defaults";
}

TEST(DeviceNodesTest, CharAndBlockDevicesAndFifos) {
  if (::geteuid() != 0) GTEST_SKIP() << "mknod needs root";
  TempDir tmp;
  std::string tar =
      TarBuilder().CharDev("dev/null", 1, 3, {.mode = 0666}).Fifo("dev/fifo").Finish();
  auto r = Apply(StringReader(tar), "", tmp.path(), {});
  ASSERT_TRUE(r.ok()) << r.status();
  struct stat st = Lstat(tmp.path() + "/dev/null");
  EXPECT_TRUE(S_ISCHR(st.st_mode));
  EXPECT_EQ(st.st_rdev, makedev(1, 3));
  EXPECT_EQ(st.st_mode & 0777, 0666u);
  EXPECT_TRUE(S_ISFIFO(Lstat(tmp.path() + "/dev/fifo").st_mode));
}

}  // namespace
}  // namespace berth::diff
