#include "core/fs.h"

#include <stdlib.h>
#include <sys/stat.h>

#include "gtest/gtest.h"

namespace berth::fs {
namespace {

class FsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/berth-fs-test.XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { ASSERT_TRUE(RemoveAll(dir_).ok()); }
  std::string dir_;
};

TEST_F(FsTest, AtomicWriteReplacesContent) {
  std::string path = dir_ + "/file";
  ASSERT_TRUE(WriteFileAtomic(path, "one").ok());
  ASSERT_TRUE(WriteFileAtomic(path, "two", 0600).ok());
  auto got = ReadFile(path);
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(*got, "two");
  struct stat st;
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
}

TEST_F(FsTest, ReadMissingIsNotFound) {
  EXPECT_EQ(ReadFile(dir_ + "/nope").status().code(), absl::StatusCode::kNotFound);
}

TEST_F(FsTest, MkdirAllCreatesChainAndAcceptsExisting) {
  std::string deep = dir_ + "/a/b/c";
  ASSERT_TRUE(MkdirAll(deep).ok());
  ASSERT_TRUE(MkdirAll(deep).ok());
  ASSERT_TRUE(WriteFileAtomic(dir_ + "/f", "x").ok());
  EXPECT_EQ(MkdirAll(dir_ + "/f").code(), absl::StatusCode::kFailedPrecondition);
}

TEST(Dirname, Cases) {
  EXPECT_EQ(Dirname("/a/b"), "/a");
  EXPECT_EQ(Dirname("/a"), "/");
  EXPECT_EQ(Dirname("b"), ".");
}

}  // namespace
}  // namespace berth::fs
