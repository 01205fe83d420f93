#include "plugins/events/exchange.h"

#include <thread>

#include "containerd/events/container.pb.h"
#include "containerd/events/task.pb.h"
#include "gtest/gtest.h"

namespace berth::events {
namespace {

::containerd::events::TaskExit Exit(const std::string& id, uint32_t status) {
  ::containerd::events::TaskExit e;
  e.set_container_id(id);
  e.set_id(id);
  e.set_exit_status(status);
  return e;
}

TEST(ExchangeTest, PublishReachesSubscriberWithBareTypeUrl) {
  Exchange ex;
  auto sub = ex.Subscribe({});
  ASSERT_TRUE(sub.ok());
  ASSERT_TRUE(ex.Publish("default", "/tasks/exit", Exit("c1", 3)).ok());
  auto e = (*sub)->Next(absl::Seconds(1));
  ASSERT_TRUE(e.ok()) << e.status();
  EXPECT_EQ(e->ns, "default");
  EXPECT_EQ(e->topic, "/tasks/exit");
  EXPECT_EQ(e->event.type_url(), "containerd.events.TaskExit");
  ::containerd::events::TaskExit got;
  ASSERT_TRUE(got.ParseFromString(e->event.value()));
  EXPECT_EQ(got.exit_status(), 3u);
  EXPECT_LE(absl::Now() - e->timestamp, absl::Seconds(5));
}

TEST(ExchangeTest, FiltersOnTopicNamespaceAndEventFields) {
  Exchange ex;
  auto by_topic = ex.Subscribe({"topic==\"/tasks/exit\""});
  auto by_ns = ex.Subscribe({"namespace==other"});
  auto by_field = ex.Subscribe({"event.container_id==c2"});
  auto any_of = ex.Subscribe({"topic~=^/containers/", "event.exit_status==7"});
  ASSERT_TRUE(by_topic.ok() && by_ns.ok() && by_field.ok() && any_of.ok());
  ::containerd::events::ContainerDelete del;
  del.set_id("c2");
  ASSERT_TRUE(ex.Publish("default", "/tasks/exit", Exit("c1", 7)).ok());
  ASSERT_TRUE(ex.Publish("other", "/containers/delete", del).ok());

  auto next_topic = [](std::shared_ptr<Subscription>& s) {
    auto e = s->Next(absl::Milliseconds(50));
    return e.ok() ? e->topic : std::string(e.status().message());
  };
  EXPECT_EQ(next_topic(*by_topic), "/tasks/exit");
  EXPECT_EQ(next_topic(*by_topic), "no event yet");
  EXPECT_EQ(next_topic(*by_ns), "/containers/delete");
  EXPECT_EQ(next_topic(*by_ns), "no event yet");
  // TaskExit has container_id c1, ContainerDelete has no container_id field.
  EXPECT_EQ(next_topic(*by_field), "no event yet");
  EXPECT_EQ(next_topic(*any_of), "/tasks/exit");
  EXPECT_EQ(next_topic(*any_of), "/containers/delete");
}

TEST(ExchangeTest, BadFilterTopicOrNamespaceIsInvalidArgument) {
  Exchange ex;
  EXPECT_EQ(ex.Subscribe({"topic=="}).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ex.Publish("default", "tasks/exit", Exit("c", 0)).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ex.Publish("default", "/tasks//exit", Exit("c", 0)).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ex.Publish("bad ns", "/tasks/exit", Exit("c", 0)).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ex.Forward(Envelope{absl::Now(), "default", "/x", {}}).code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(ExchangeTest, SlowSubscriberIsDroppedOthersKeepGoing) {
  Exchange ex(/*queue_capacity=*/4);
  auto slow = ex.Subscribe({});
  auto fast = ex.Subscribe({});
  ASSERT_TRUE(slow.ok() && fast.ok());
  for (int i = 0; i < 10; ++i) {
    ASSERT_TRUE(ex.Publish("default", "/tasks/exit", Exit("c", i)).ok());
    auto e = (*fast)->Next(absl::Seconds(1));
    ASSERT_TRUE(e.ok());
  }
  EXPECT_EQ((*slow)->Next(absl::Seconds(1)).status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(ex.SubscriberCountForTest(), 1u);
}

TEST(ExchangeTest, CloseWakesABlockedNext) {
  Exchange ex;
  auto sub = ex.Subscribe({});
  ASSERT_TRUE(sub.ok());
  std::thread closer([&] {
    absl::SleepFor(absl::Milliseconds(50));
    (*sub)->Close();
  });
  EXPECT_EQ((*sub)->Next(absl::Seconds(10)).status().code(), absl::StatusCode::kCancelled);
  closer.join();
  ASSERT_TRUE(ex.Publish("default", "/tasks/exit", Exit("c", 0)).ok());
  EXPECT_EQ(ex.SubscriberCountForTest(), 0u);
}

TEST(ExchangeTest, ListenersSeeEveryEnvelope) {
  Exchange ex;
  std::vector<std::string> seen;
  ex.AddListener([&](const Envelope& e) { seen.push_back(e.ns + e.topic); });
  ASSERT_TRUE(ex.Publish("a", "/tasks/exit", Exit("c", 0)).ok());
  ASSERT_TRUE(ex.Forward(Envelope{absl::Now(), "b", "/tasks/start", PackEvent(Exit("c", 0))}).ok());
  EXPECT_EQ(seen, (std::vector<std::string>{"a/tasks/exit", "b/tasks/start"}));
}

}  // namespace
}  // namespace berth::events
