// The container event fan-out (cri/events.h) and sysctl classification (cri/netns.h).
#include <thread>

#include "cri/events.h"
#include "cri/netns.h"
#include "gtest/gtest.h"

namespace berth::cri {
namespace {

namespace v1 = ::runtime::v1;

v1::ContainerEventResponse Ev(const std::string& id, v1::ContainerEventType t) {
  v1::ContainerEventResponse e;
  e.set_container_id(id);
  e.set_container_event_type(t);
  return e;
}

TEST(EventBroker, EverySubscriberSeesEventsInOrder) {
  EventBroker b(10);
  auto s1 = b.Subscribe();
  auto s2 = b.Subscribe();
  b.Publish(Ev("a", v1::CONTAINER_CREATED_EVENT));
  b.Publish(Ev("a", v1::CONTAINER_STARTED_EVENT));
  for (auto& s : {s1, s2}) {
    v1::ContainerEventResponse e;
    ASSERT_TRUE(s->Next(&e, absl::Milliseconds(100)));
    EXPECT_EQ(e.container_event_type(), v1::CONTAINER_CREATED_EVENT);
    ASSERT_TRUE(s->Next(&e, absl::Milliseconds(100)));
    EXPECT_EQ(e.container_event_type(), v1::CONTAINER_STARTED_EVENT);
    EXPECT_FALSE(s->Next(&e, absl::Milliseconds(10)));  // timeout, not closed
    EXPECT_FALSE(s->closed());
  }
  b.Unsubscribe(s1);
  EXPECT_EQ(b.subscribers(), 1u);
}

TEST(EventBroker, SlowSubscriberIsDroppedOthersKeepGoing) {
  EventBroker b(3);
  auto slow = b.Subscribe();
  auto fast = b.Subscribe();
  v1::ContainerEventResponse e;
  for (int i = 0; i < 5; ++i) {
    b.Publish(Ev(std::to_string(i), v1::CONTAINER_CREATED_EVENT));
    ASSERT_TRUE(fast->Next(&e, absl::Milliseconds(100)));
    EXPECT_EQ(e.container_id(), std::to_string(i));
  }
  EXPECT_TRUE(slow->closed());
  EXPECT_FALSE(slow->Next(&e, absl::Milliseconds(10)));
  EXPECT_FALSE(fast->closed());
  EXPECT_EQ(b.subscribers(), 1u);
}

TEST(EventBroker, WaitingSubscriberWakesOnPublishAndShutdown) {
  EventBroker b;
  auto s = b.Subscribe();
  std::thread t([&] { b.Publish(Ev("x", v1::CONTAINER_DELETED_EVENT)); });
  v1::ContainerEventResponse e;
  EXPECT_TRUE(s->Next(&e, absl::Seconds(5)));
  t.join();
  EXPECT_EQ(e.container_id(), "x");
  b.Shutdown();
  EXPECT_FALSE(s->Next(&e, absl::Seconds(5)));
  EXPECT_TRUE(s->closed());
}

TEST(Sysctl, Classification) {
  EXPECT_EQ(ClassifySysctl("net.ipv4.ip_unprivileged_port_start"), SysctlNamespace::kNet);
  EXPECT_EQ(ClassifySysctl("net/core/somaxconn"), SysctlNamespace::kNet);
  EXPECT_EQ(ClassifySysctl("kernel.shmmax"), SysctlNamespace::kIpc);
  EXPECT_EQ(ClassifySysctl("kernel.msgmax"), SysctlNamespace::kIpc);
  EXPECT_EQ(ClassifySysctl("kernel.sem"), SysctlNamespace::kIpc);
  EXPECT_EQ(ClassifySysctl("fs.mqueue.msg_max"), SysctlNamespace::kIpc);
  EXPECT_EQ(ClassifySysctl("kernel.domainname"), SysctlNamespace::kUts);
  EXPECT_EQ(ClassifySysctl("kernel.pid_max"), SysctlNamespace::kNone);
  EXPECT_EQ(ClassifySysctl("vm.overcommit_memory"), SysctlNamespace::kNone);
  EXPECT_EQ(ClassifySysctl("kernel.semX"), SysctlNamespace::kNone);
}

TEST(Sysctl, Paths) {
  EXPECT_EQ(*SysctlPath("net.ipv4.ip_forward"), "/proc/sys/net/ipv4/ip_forward");
  EXPECT_EQ(*SysctlPath("net/ipv4/conf/eth0.100/forwarding"),
            "/proc/sys/net/ipv4/conf/eth0.100/forwarding");
  EXPECT_TRUE(absl::IsInvalidArgument(SysctlPath("net/../../etc/passwd").status()));
  EXPECT_TRUE(absl::IsInvalidArgument(SysctlPath("net..x").status()));
  EXPECT_TRUE(absl::IsInvalidArgument(SysctlPath("net.ipv4 x").status()));
  EXPECT_TRUE(absl::IsInvalidArgument(SysctlPath("").status()));
}

TEST(Sysctl, HostNamespacesAndNodeWideAreRefused) {
  PodNamespaces host;  // host network and host IPC
  EXPECT_TRUE(absl::IsInvalidArgument(ApplyPodSysctls(host, {{"net.core.somaxconn", "100"}})));
  EXPECT_TRUE(absl::IsInvalidArgument(ApplyPodSysctls(host, {{"kernel.shmmax", "100"}})));
  EXPECT_TRUE(absl::IsInvalidArgument(ApplyPodSysctls(host, {{"kernel.pid_max", "100"}})));
  EXPECT_TRUE(ApplyPodSysctls(host, {}).ok());
}

}  // namespace
}  // namespace berth::cri
