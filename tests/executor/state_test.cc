#include "executor/state.h"

#include <unistd.h>

#include "core/fs.h"
#include "gtest/gtest.h"
#include "tests/support/topdir_flag.h"

namespace berth::executor {
namespace {

class StateTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/state-test.XXXXXX";
    root_ = mkdtemp(tmpl);
  }
  void TearDown() override { (void)fs::RemoveAll(root_); }
  std::string root_;
};

TEST_F(StateTest, ReserveSaveLoadRemove) {
  StateStore store(root_ + "/r");
  ASSERT_TRUE(store.Reserve("c1").ok());
  EXPECT_EQ(store.Reserve("c1").code(), absl::StatusCode::kAlreadyExists);
  StoredState s;
  s.id = "c1";
  s.bundle = "/b";
  s.pid = 42;
  s.start_time = 7;
  s.cgroup_paths = {{"memory", "/sys/fs/cgroup/memory/x"}};
  s.annotations = {{"k", "v"}};
  ASSERT_TRUE(store.Save(s).ok());
  auto loaded = store.Load("c1");
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_EQ(loaded->pid, 42);
  EXPECT_EQ(loaded->start_time, 7u);
  EXPECT_EQ(loaded->cgroup_paths.at("memory"), "/sys/fs/cgroup/memory/x");
  EXPECT_EQ(loaded->annotations.at("k"), "v");
  auto ids = store.List();
  ASSERT_TRUE(ids.ok());
  EXPECT_EQ(*ids, std::vector<std::string>{"c1"});
  ASSERT_TRUE(store.Remove("c1").ok());
  auto gone = store.Load("c1");
  EXPECT_EQ(gone.status().code(), absl::StatusCode::kNotFound);
  // containerd's shim matches this text to treat a delete as done.
  EXPECT_NE(gone.status().message().find("does not exist"), std::string::npos);
}

// Each container's state directory goes to an ext4 group of its own (core/fs.h).
TEST_F(StateTest, ContainerDirectoriesAreSpreadOverExt4Groups) {
  if (!test_support::HasTopdirFlag(root_).has_value()) GTEST_SKIP() << root_ << " is not on ext4";
  StateStore store(root_ + "/r");
  ASSERT_TRUE(store.Reserve("c1").ok());
  EXPECT_EQ(test_support::HasTopdirFlag(root_ + "/r"), true);
}

TEST_F(StateTest, RejectsBadIds) {
  StateStore store(root_);
  EXPECT_EQ(store.Reserve("../x").code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(store.Reserve("").code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(store.Load("a/b").status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(ProcessStartTimeTest, SelfIsAliveAndBogusIsNot) {
  EXPECT_GT(ProcessStartTime(getpid()), 0u);
  EXPECT_EQ(ProcessStartTime(0), 0u);
  EXPECT_EQ(ProcessStartTime(999999999), 0u);
}

TEST(TimeTest, Rfc3339Nano) {
  std::string t = NowRfc3339Nano();
  ASSERT_EQ(t.size(), 30u) << t;
  EXPECT_EQ(t[4], '-');
  EXPECT_EQ(t[10], 'T');
  EXPECT_EQ(t.back(), 'Z');
}

}  // namespace
}  // namespace berth::executor
