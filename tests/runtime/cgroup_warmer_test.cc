// The no-op cgroup move that warms the kernel's cgroup migration lock before a task's shim starts.
#include "shim-v2/manager/cgroup_warmer.h"

#include <unistd.h>

#include "core/fs.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"

namespace berth::runtime {
namespace {

constexpr char kHybridMountinfo[] =
    "31 30 0:28 / /sys/fs/cgroup/cpu,cpuacct rw,relatime - cgroup cgroup rw,cpu,cpuacct\n"
    "34 30 0:31 /lxc /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory\n"
    "40 30 0:37 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw\n";

TEST(InPlaceMoveTest, UnifiedHierarchyWhenMounted) {
  auto layout = cgroup::ParseCgroupLayout(kHybridMountinfo, "4:memory:/lxc/a\n0::/svc\n");
  auto move = InPlaceMoveOf(layout, 42);
  ASSERT_TRUE(move.ok()) << move.status();
  EXPECT_EQ(move->file, "/sys/fs/cgroup/unified/svc/cgroup.threads");
  EXPECT_EQ(move->tid, "42");
}

TEST(InPlaceMoveTest, FirstV1HierarchyOtherwise) {
  std::string v1_only(kHybridMountinfo, std::string(kHybridMountinfo).rfind("40 30"));
  auto layout = cgroup::ParseCgroupLayout(v1_only, "4:memory:/lxc/a\n1:cpu,cpuacct:/b/c\n");
  auto move = InPlaceMoveOf(layout, 7);
  ASSERT_TRUE(move.ok()) << move.status();
  EXPECT_EQ(move->file, "/sys/fs/cgroup/cpu,cpuacct/b/c/tasks");
  // The mount's root is not repeated below its mount point.
  layout.v1.erase(layout.v1.begin());
  EXPECT_EQ(InPlaceMoveOf(layout, 7)->file, "/sys/fs/cgroup/memory/a/tasks");
}

TEST(InPlaceMoveTest, NoHierarchyIsNotFound) {
  auto layout = cgroup::ParseCgroupLayout("22 1 0:21 / /proc rw - proc proc rw\n", "");
  EXPECT_EQ(InPlaceMoveOf(layout, 7).status().code(), absl::StatusCode::kNotFound);
}

// The real move: allowed for root, and the thread (and process) stay where they were.
TEST(InPlaceMoverTest, LeavesTheThreadWhereItWas) {
  if (::geteuid() != 0) GTEST_SKIP() << "writing cgroup files needs root";
  auto before = fs::ReadFile("/proc/thread-self/cgroup");
  ASSERT_TRUE(before.ok());
  auto mover = InPlaceMover::ForCallingThread();
  ASSERT_TRUE(mover.ok()) << mover.status();
  for (int i = 0; i < 3; ++i) {  // the file stays open: every repeat is a write
    absl::Status st = mover->Move();
    ASSERT_TRUE(st.ok()) << st;
  }
  EXPECT_EQ(*fs::ReadFile("/proc/thread-self/cgroup"), *before);
  EXPECT_EQ(*fs::ReadFile("/proc/self/cgroup"), *before);
}

TEST(CgroupWarmerTest, MovesInTheBackgroundAndShutsDown) {
  if (::geteuid() != 0) GTEST_SKIP() << "writing cgroup files needs root";
  auto before = fs::ReadFile("/proc/self/cgroup");
  ASSERT_TRUE(before.ok());
  {
    CgroupWarmer warmer(absl::ZeroDuration());  // no repeats: one move per request
    for (int i = 0; i < 5; ++i) warmer.Warm();  // folded into one or two moves
    absl::Time deadline = absl::Now() + absl::Seconds(10);
    while (warmer.moves() == 0 && absl::Now() < deadline) absl::SleepFor(absl::Milliseconds(1));
    EXPECT_GE(warmer.moves(), 1);
    EXPECT_LE(warmer.moves(), 2);
    warmer.Warm();
  }  // joins its worker even with a request pending
  CgroupWarmer idle;  // never started: nothing to join
  EXPECT_EQ(*fs::ReadFile("/proc/self/cgroup"), *before);
}

// After a Warm, the move repeats (every kRepeat) for keep_warm, then stops until the next one.
TEST(CgroupWarmerTest, KeepsTheWindowOpenThenRests) {
  if (::geteuid() != 0) GTEST_SKIP() << "writing cgroup files needs root";
  CgroupWarmer warmer(absl::Milliseconds(300));
  warmer.Warm();
  absl::SleepFor(absl::Milliseconds(600));
  const int burst = warmer.moves();
  EXPECT_GE(burst, 10);  // ~60 at 5 ms; a loaded machine stretches the waits, not the count
  EXPECT_LE(burst, 300 / 5 + 10);
  absl::SleepFor(absl::Milliseconds(200));
  EXPECT_EQ(warmer.moves(), burst);  // resting: no move without a task
  warmer.Warm();
  const absl::Time deadline = absl::Now() + absl::Seconds(10);
  while (warmer.moves() == burst && absl::Now() < deadline) absl::SleepFor(absl::Milliseconds(1));
  EXPECT_GT(warmer.moves(), burst);
}

}  // namespace
}  // namespace berth::runtime
