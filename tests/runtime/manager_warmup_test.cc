// TaskManager starts the cgroup warm-up (cgroup_warmer.h) as soon as a container is created,
// before its task is, and when an exec is added: the exchange's events reach it through a
// listener.
#include <unistd.h>

#include "absl/time/clock.h"
#include "containerd/events/container.pb.h"
#include "containerd/events/task.pb.h"
#include "gtest/gtest.h"
#include "shim-v2/manager/manager.h"

namespace berth::runtime {
namespace {

int MovesAfter(TaskManager& m, int at_least) {
  const absl::Time deadline = absl::Now() + absl::Seconds(10);
  while (m.CgroupWarmMovesForTest() < at_least && absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(1));
  }
  return m.CgroupWarmMovesForTest();
}

TEST(ManagerWarmupTest, ContainerCreateAndExecAddedWarmOtherTopicsDoNot) {
  if (::geteuid() != 0) GTEST_SKIP() << "writing cgroup files needs root";
  auto exchange = std::make_shared<events::Exchange>();
  ::containerd::events::ContainerCreate created;
  created.set_id("c1");
  {
    TaskManager manager(ManagerOptions{}, exchange);
    ::containerd::events::ContainerDelete deleted;
    deleted.set_id("c1");
    ASSERT_TRUE(exchange->Publish("ns1", "/containers/delete", deleted).ok());
    absl::SleepFor(absl::Milliseconds(50));
    EXPECT_EQ(manager.CgroupWarmMovesForTest(), 0);
    ASSERT_TRUE(exchange->Publish("ns1", "/containers/create", created).ok());
    EXPECT_GE(MovesAfter(manager, 1), 1);
    // An exec's process joins the cgroups too: its /tasks/exec-added warms (the burst of the
    // create above may still be repeating, so only "more moves" can be told apart).
    absl::SleepFor(CgroupWarmer::kKeepWarm + absl::Milliseconds(100));
    const int rested = manager.CgroupWarmMovesForTest();
    ::containerd::events::TaskExecAdded exec;
    exec.set_container_id("c1");
    exec.set_exec_id("e1");
    ASSERT_TRUE(exchange->Publish("ns1", "/tasks/exec-added", exec).ok());
    EXPECT_GT(MovesAfter(manager, rested + 1), rested);
  }
  // The exchange outlives the manager: its listener must find the warmer gone, not freed.
  EXPECT_TRUE(exchange->Publish("ns1", "/containers/create", created).ok());
}

}  // namespace
}  // namespace berth::runtime
