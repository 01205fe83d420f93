// Native snapshotter: the conformance suite (metadata rules, unprivileged) plus its copy.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "core/fs.h"
#include "gtest/gtest.h"
#include "tests/snapshotter/factories.h"
#include "tests/support/topdir_flag.h"

namespace berth::snapshotter::testing {
namespace {

namespace stdfs = std::filesystem;

INSTANTIATE_TEST_SUITE_P(Native, SnapshotterConformance, ::testing::Values(NativeFactory()),
                         FactoryName);

class NativeCopy : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/berth-native-test-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    root_ = tmpl;
    auto s = NewNativeSnapshotter({.root_path = root_});
    ASSERT_TRUE(s.ok()) << s.status();
    sn_ = *std::move(s);
  }
  void TearDown() override {
    sn_.reset();
    stdfs::remove_all(root_);
  }
  std::string root_;
  std::unique_ptr<Snapshotter> sn_;
};

TEST_F(NativeCopy, ActiveChildIsAFullIndependentCopy) {
  auto base = sn_->Prepare("default", "a", "");
  ASSERT_TRUE(base.ok());
  const std::string src = (*base)[0].source;
  std::ofstream(src + "/file") << "content";
  ASSERT_EQ(::chmod((src + "/file").c_str(), 0640), 0);
  ASSERT_TRUE(stdfs::create_directories(src + "/dir/sub"));
  ASSERT_EQ(::chmod((src + "/dir").c_str(), 0750), 0);
  stdfs::create_symlink("../file", src + "/dir/link");
  ASSERT_EQ(::link((src + "/file").c_str(), (src + "/dir/hard").c_str()), 0);
  ASSERT_EQ(::mkfifo((src + "/fifo").c_str(), 0600), 0);
  ASSERT_TRUE(sn_->Commit("default", "l1", "a").ok());

  auto child = sn_->Prepare("default", "b", "l1");
  ASSERT_TRUE(child.ok());
  ASSERT_EQ(child->size(), 1u);
  const std::string dst = (*child)[0].source;
  EXPECT_NE(dst, src);
  EXPECT_EQ(*fs::ReadFile(dst + "/file"), "content");
  struct stat s1, s2, h;
  ASSERT_EQ(::lstat((src + "/file").c_str(), &s1), 0);
  ASSERT_EQ(::lstat((dst + "/file").c_str(), &s2), 0);
  EXPECT_NE(s1.st_ino, s2.st_ino);  // copied, not linked to the parent
  EXPECT_EQ(s2.st_mode & 07777, 0640u);
  EXPECT_EQ(s2.st_mtim.tv_sec, s1.st_mtim.tv_sec);
  ASSERT_EQ(::lstat((dst + "/dir/hard").c_str(), &h), 0);
  EXPECT_EQ(h.st_ino, s2.st_ino);  // hardlinks inside the tree stay hardlinks
  EXPECT_EQ(stdfs::read_symlink(dst + "/dir/link"), "../file");
  EXPECT_EQ(stdfs::status(dst + "/dir").permissions() & stdfs::perms::all,
            stdfs::perms::owner_all | stdfs::perms::group_read | stdfs::perms::group_exec);
  EXPECT_TRUE(stdfs::is_fifo(dst + "/fifo"));
  EXPECT_TRUE(stdfs::is_directory(dst + "/dir/sub"));

  std::ofstream(dst + "/file") << "changed";  // the parent is not affected
  EXPECT_EQ(*fs::ReadFile(src + "/file"), "content");
}

TEST_F(NativeCopy, ViewBindsTheParentReadOnly) {
  auto base = sn_->Prepare("default", "a", "");
  ASSERT_TRUE(base.ok());
  ASSERT_TRUE(sn_->Commit("default", "l1", "a").ok());
  auto view = sn_->View("default", "v", "l1");
  ASSERT_TRUE(view.ok());
  EXPECT_EQ((*view)[0].source, (*base)[0].source);
  EXPECT_EQ((*view)[0].options, (std::vector<std::string>{"ro", "rbind"}));
}

TEST_F(NativeCopy, RemoveIsSynchronous) {
  auto base = sn_->Prepare("default", "a", "");
  ASSERT_TRUE(base.ok());
  ASSERT_TRUE(sn_->Remove("default", "a").ok());
  EXPECT_FALSE(stdfs::exists(root_ + "/snapshots/1"));
}

}  // namespace
}  // namespace berth::snapshotter::testing

namespace berth::snapshotter::testing {
namespace {

// On ext4 the snapshots directory carries the "top of directory hierarchy" flag, so each
// snapshot's tree is placed in an allocation group of its own (core/fs.h, SpreadSubdirectories).
TEST(LocalSnapshotterInit, SpreadsSnapshotDirectoriesOnExt4) {
  char tmpl[] = "/var/tmp/berth-topdir-test-XXXXXX";
  ASSERT_NE(::mkdtemp(tmpl), nullptr);
  const std::string root = tmpl;
  if (!test_support::HasTopdirFlag(root).has_value()) {
    stdfs::remove_all(root);
    GTEST_SKIP() << root << " is not on ext4";
  }
  NativeConfig config;
  config.root_path = root + "/native";
  auto sn = NewNativeSnapshotter(config);
  ASSERT_TRUE(sn.ok()) << sn.status();
  EXPECT_EQ(test_support::HasTopdirFlag(root + "/native/snapshots"), true);
  sn->reset();
  stdfs::remove_all(root);
}

}  // namespace
}  // namespace berth::snapshotter::testing
