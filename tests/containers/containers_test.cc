#include "plugins/containers/containers.h"

#include "containerd/events/container.pb.h"
#include "gtest/gtest.h"
#include "tests/metadata/temp_db.h"

namespace berth::containers {
namespace {

class RecordingPublisher : public events::Publisher {
 public:
  absl::Status Publish(const std::string& ns, const std::string& topic,
                       const google::protobuf::Message& event) override {
    topics.push_back(ns + " " + topic + " " + event.GetDescriptor()->full_name());
    return absl::OkStatus();
  }
  std::vector<std::string> topics;
};

Container Sample(const std::string& id) {
  Container c;
  c.id = id;
  c.labels = {{"a", "1"}};
  c.image = "docker.io/library/busybox:latest";
  c.runtime_name = "io.containerd.runc.v2";
  c.spec.set_type_url("types.containerd.io/opencontainers/runtime-spec/1/Spec");
  c.spec.set_value("{\"ociVersion\":\"1.0.2\"}");
  c.snapshotter = "overlayfs";
  c.snapshot_key = id;
  return c;
}

class ContainersTest : public metadata::TempDbTest {
 protected:
  RecordingPublisher events_;
};

TEST_F(ContainersTest, CreateGetListDeleteWithEvents) {
  ContainerStore store(db_.get(), &events_);
  auto created = store.Create("ns1", Sample("c1"));
  ASSERT_TRUE(created.ok()) << created.status();
  EXPECT_GT(created->created_at, absl::UnixEpoch());
  EXPECT_EQ(created->created_at, created->updated_at);
  EXPECT_EQ(store.Create("ns1", Sample("c1")).status().code(), absl::StatusCode::kAlreadyExists);
  ASSERT_TRUE(store.Create("ns1", Sample("c2")).ok());
  ASSERT_TRUE(store.Create("ns2", Sample("c1")).ok());

  auto got = store.Get("ns1", "c1");
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->spec.value(), "{\"ociVersion\":\"1.0.2\"}");
  EXPECT_EQ(got->snapshot_key, "c1");
  EXPECT_EQ(got->created_at, created->created_at);
  auto list = store.List("ns1", {});
  ASSERT_TRUE(list.ok());
  EXPECT_EQ(list->size(), 2u);
  EXPECT_EQ(store.Get("ns3", "c1").status().code(), absl::StatusCode::kNotFound);

  ASSERT_TRUE(store.Delete("ns1", "c1").ok());
  EXPECT_EQ(store.Delete("ns1", "c1").code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(store.Get("ns1", "c1").status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(events_.topics,
            (std::vector<std::string>{
                "ns1 /containers/create containerd.events.ContainerCreate",
                "ns1 /containers/create containerd.events.ContainerCreate",
                "ns2 /containers/create containerd.events.ContainerCreate",
                "ns1 /containers/delete containerd.events.ContainerDelete"}));
}

TEST_F(ContainersTest, Validation) {
  ContainerStore store(db_.get(), nullptr);
  Container c = Sample("bad id!");
  EXPECT_EQ(store.Create("ns", c).status().code(), absl::StatusCode::kInvalidArgument);
  c = Sample("c");
  c.runtime_name = "";
  EXPECT_EQ(store.Create("ns", c).status().code(), absl::StatusCode::kInvalidArgument);
  c = Sample("c");
  c.spec.Clear();
  EXPECT_EQ(store.Create("ns", c).status().code(), absl::StatusCode::kInvalidArgument);
  c = Sample("c");
  c.snapshotter = "";
  EXPECT_EQ(store.Create("ns", c).status().code(), absl::StatusCode::kInvalidArgument);
  c = Sample("c");
  c.labels[""] = "x";
  EXPECT_EQ(store.Create("ns", c).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(store.List("ns", {}).value().empty());
}

TEST_F(ContainersTest, UpdateWithFieldMasks) {
  ContainerStore store(db_.get(), &events_);
  auto created = store.Create("ns", Sample("c"));
  ASSERT_TRUE(created.ok());
  absl::SleepFor(absl::Milliseconds(2));
  Container u = Sample("c");
  u.labels = {{"b", "2"}, {"a", ""}};
  u.image = "other";
  auto r = store.Update("ns", u, {"labels.b", "labels.a"});
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->labels, (std::map<std::string, std::string>{{"b", "2"}}));
  EXPECT_EQ(r->image, "docker.io/library/busybox:latest");  // not in the mask
  EXPECT_GT(r->updated_at, r->created_at);
  EXPECT_EQ(r->created_at, created->created_at);

  r = store.Update("ns", u, {"image"});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->image, "other");
  EXPECT_EQ(store.Update("ns", u, {"id"}).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(store.Update("ns", Sample("nosuch"), {}).status().code(), absl::StatusCode::kNotFound);

  // A full replace keeps the snapshotter and runtime immutable.
  Container full = Sample("c");
  full.snapshotter = "native";
  EXPECT_EQ(store.Update("ns", full, {}).status().code(), absl::StatusCode::kInvalidArgument);
  full = Sample("c");
  full.labels = {{"z", "26"}};
  full.extensions["ext"].set_type_url("x.y.Z");
  r = store.Update("ns", full, {});
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->labels, (std::map<std::string, std::string>{{"z", "26"}}));
  EXPECT_EQ(r->extensions.count("ext"), 1u);
  // Removing the spec is refused.
  Container nospec = Sample("c");
  nospec.spec.Clear();
  EXPECT_EQ(store.Update("ns", nospec, {"spec"}).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(events_.topics.back(), "ns /containers/update containerd.events.ContainerUpdate");
}

TEST_F(ContainersTest, ListFilters) {
  ContainerStore store(db_.get(), nullptr);
  Container a = Sample("a");
  Container b = Sample("b");
  b.labels = {{"role", "web"}};
  b.image = "nginx";
  b.runtime_name = "io.containerd.berth.v2";
  ASSERT_TRUE(store.Create("ns", a).ok());
  ASSERT_TRUE(store.Create("ns", b).ok());
  auto ids = [&](std::vector<std::string> f) {
    std::vector<std::string> out;
    auto list = store.List("ns", f);  // (a range-for over .value() of a temporary dangles)
    EXPECT_TRUE(list.ok()) << list.status();
    if (list.ok()) {
      for (const auto& c : *list) out.push_back(c.id);
    }
    return out;
  };
  EXPECT_EQ(ids({"id==a"}), (std::vector<std::string>{"a"}));
  EXPECT_EQ(ids({"labels.role==web"}), (std::vector<std::string>{"b"}));
  EXPECT_EQ(ids({"image==nginx"}), (std::vector<std::string>{"b"}));
  EXPECT_EQ(ids({"runtime.name==io.containerd.runc.v2"}), (std::vector<std::string>{"a"}));
  EXPECT_EQ(ids({"id==a", "id==b"}), (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(store.List("ns", {"id=="}).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST_F(ContainersTest, RecordSurvivesReopenAndNamesItsSnapshot) {
  {
    ContainerStore store(db_.get(), nullptr);
    ASSERT_TRUE(store.Create("ns", Sample("c")).ok());
  }
  Reopen();
  // The GC reads these two fields of the JSON record.
  auto raw = [&]() {
    std::string out;
    EXPECT_TRUE(db_->View([&](const metadata::Reader& r) {
                     auto v = r.Get(metadata::ObjectKey("ns", kBucket, "c"));
                     if (v.ok() && *v) out = **v;
                     return absl::OkStatus();
                   }).ok());
    return out;
  }();
  EXPECT_NE(raw.find("\"snapshotter\":\"overlayfs\""), std::string::npos) << raw;
  EXPECT_NE(raw.find("\"snapshot_key\":\"c\""), std::string::npos) << raw;
  ContainerStore store(db_.get(), nullptr);
  EXPECT_TRUE(store.Get("ns", "c").ok());
}

}  // namespace
}  // namespace berth::containers
