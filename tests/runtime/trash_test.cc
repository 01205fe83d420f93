// The manager's trash: a discarded directory's name is free at once, the directory goes in the
// background, and what a previous daemon left in the trash goes after a start.
#include "shim-v2/manager/trash.h"

#include <unistd.h>

#include <filesystem>

#include "core/fs.h"
#include "gtest/gtest.h"
#include "tests/support/temp_dir.h"

namespace berth::runtime {
namespace {

class TrashTest : public ::testing::Test {
 protected:
  void MakeTree(const std::string& path) {
    ASSERT_TRUE(fs::MkdirAll(path + "/sub/deeper").ok());
    ASSERT_TRUE(fs::WriteFileAtomic(path + "/file", "x").ok());
    ASSERT_TRUE(fs::WriteFileAtomic(path + "/sub/deeper/file", "y").ok());
  }
  bool Exists(const std::string& path) { return ::access(path.c_str(), F_OK) == 0; }
  bool Empty(const std::string& dir) {
    std::error_code ec;
    return std::filesystem::is_empty(dir, ec) && !ec;
  }
  berth::test_support::TempDir tmp_{"trash-test"};
  const std::string dir_ = tmp_.path();
};

TEST_F(TrashTest, DiscardFreesTheNameAtOnceAndRemovesInTheBackground) {
  Trash trash(Trash::DirIn(dir_));
  MakeTree(dir_ + "/bundle");
  ASSERT_TRUE(trash.Discard(dir_ + "/bundle").ok());
  EXPECT_FALSE(Exists(dir_ + "/bundle"));
  MakeTree(dir_ + "/bundle");  // the same name again, right away
  ASSERT_TRUE(trash.Discard(dir_ + "/bundle").ok());
  trash.Drain();
  EXPECT_TRUE(Empty(dir_ + "/.trash"));
  EXPECT_TRUE(trash.Discard(dir_ + "/nosuch").ok());
}

TEST_F(TrashTest, LeftoversOfAPreviousDaemonGoAfterAStart) {
  MakeTree(dir_ + "/.trash/123-0");
  MakeTree(dir_ + "/.trash/123-1");
  Trash trash(Trash::DirIn(dir_));
  trash.Drain();
  EXPECT_TRUE(Empty(dir_ + "/.trash"));
}

TEST_F(TrashTest, DestructionFinishesTheQueue) {
  for (int i = 0; i < 20; ++i) MakeTree(dir_ + "/b" + std::to_string(i));
  {
    Trash trash(Trash::DirIn(dir_));
    for (int i = 0; i < 20; ++i) ASSERT_TRUE(trash.Discard(dir_ + "/b" + std::to_string(i)).ok());
  }
  EXPECT_TRUE(Empty(dir_ + "/.trash"));
}

TEST_F(TrashTest, NoTrashRemovesInPlace) {
  EXPECT_EQ(Trash::DirIn(""), "");
  Trash none("");
  MakeTree(dir_ + "/bundle");
  ASSERT_TRUE(none.Discard(dir_ + "/bundle").ok());
  EXPECT_FALSE(Exists(dir_ + "/bundle"));
  EXPECT_FALSE(Exists("/.trash"));
}

}  // namespace
}  // namespace berth::runtime
