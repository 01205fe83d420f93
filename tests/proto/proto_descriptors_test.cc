// Checks that the generated code carries the wire contracts: field numbers and types of a few
// load-bearing messages, the exact ttrpc encoding, and every service with its method count.

#include <csignal>  // before the CRI header on purpose: proto/cri_api.h must cope with SIG* macros
#include <string>
#include <utility>
#include <vector>

#include <google/protobuf/descriptor.h>
#include <gtest/gtest.h>

#include "containerd/runtime/v2/task/shim.pb.h"
#include "containerd/services/containers/v1/containers.grpc.pb.h"
#include "containerd/services/content/v1/content.grpc.pb.h"
#include "containerd/services/diff/v1/diff.grpc.pb.h"
#include "containerd/services/events/v1/events.grpc.pb.h"
#include "containerd/services/images/v1/images.grpc.pb.h"
#include "containerd/services/introspection/v1/introspection.grpc.pb.h"
#include "containerd/services/leases/v1/leases.grpc.pb.h"
#include "containerd/services/namespaces/v1/namespace.grpc.pb.h"
#include "containerd/services/snapshots/v1/snapshots.grpc.pb.h"
#include "containerd/services/tasks/v1/tasks.grpc.pb.h"
#include "containerd/services/ttrpc/events/v1/events.pb.h"
#include "containerd/services/version/v1/version.grpc.pb.h"
#include "proto/cri_api.h"
#include "ttrpc/ttrpc.pb.h"

namespace {

using google::protobuf::Descriptor;
using google::protobuf::DescriptorPool;
using google::protobuf::FieldDescriptor;

// Static libraries only register the descriptors of object files that are linked in: touch one
// type per file so the pool below holds all of them.
void LinkAllFiles() {
  namespace csv = containerd::services;
  (void)csv::containers::v1::Container::descriptor();
  (void)csv::content::v1::Info::descriptor();
  (void)csv::diff::v1::ApplyRequest::descriptor();
  (void)csv::events::v1::Envelope::descriptor();
  (void)csv::images::v1::Image::descriptor();
  (void)csv::introspection::v1::Plugin::descriptor();
  (void)csv::leases::v1::Lease::descriptor();
  (void)csv::namespaces::v1::Namespace::descriptor();
  (void)csv::snapshots::v1::Info::descriptor();
  (void)csv::tasks::v1::CreateTaskRequest::descriptor();
  (void)csv::version::v1::VersionResponse::descriptor();
  (void)csv::events::ttrpc::v1::ForwardRequest::descriptor();
  (void)containerd::task::v2::CreateTaskRequest::descriptor();
  (void)runtime::v1::VersionRequest::descriptor();
  (void)ttrpc::Request::descriptor();
}

const Descriptor* Message(const std::string& name) {
  LinkAllFiles();
  const Descriptor* d = DescriptorPool::generated_pool()->FindMessageTypeByName(name);
  EXPECT_NE(d, nullptr) << name;
  return d;
}

struct Field {
  std::string name;
  int number;
  FieldDescriptor::Type type;
  bool repeated = false;
};

void ExpectFields(const std::string& message, const std::vector<Field>& want) {
  const Descriptor* d = Message(message);
  ASSERT_NE(d, nullptr);
  EXPECT_EQ(d->field_count(), static_cast<int>(want.size())) << message;
  for (const Field& f : want) {
    const FieldDescriptor* got = d->FindFieldByNumber(f.number);
    ASSERT_NE(got, nullptr) << message << " #" << f.number;
    EXPECT_EQ(got->name(), f.name) << message << " #" << f.number;
    EXPECT_EQ(got->type(), f.type) << message << "." << f.name;
    EXPECT_EQ(got->is_repeated(), f.repeated) << message << "." << f.name;
  }
}

constexpr auto kString = FieldDescriptor::TYPE_STRING;
constexpr auto kBytes = FieldDescriptor::TYPE_BYTES;
constexpr auto kInt64 = FieldDescriptor::TYPE_INT64;
constexpr auto kBool = FieldDescriptor::TYPE_BOOL;
constexpr auto kMessage = FieldDescriptor::TYPE_MESSAGE;
constexpr auto kEnum = FieldDescriptor::TYPE_ENUM;

TEST(ProtoContract, ContentWriteRequest) {
  ExpectFields("containerd.services.content.v1.WriteContentRequest",
               {{"action", 1, kEnum}, {"ref", 2, kString}, {"total", 3, kInt64},
                {"expected", 4, kString}, {"offset", 5, kInt64}, {"data", 6, kBytes},
                {"labels", 7, kMessage, true}});
}

TEST(ProtoContract, ShimCreateTaskRequest) {
  ExpectFields("containerd.task.v2.CreateTaskRequest",
               {{"id", 1, kString}, {"bundle", 2, kString}, {"rootfs", 3, kMessage, true},
                {"terminal", 4, kBool}, {"stdin", 5, kString}, {"stdout", 6, kString},
                {"stderr", 7, kString}, {"checkpoint", 8, kString},
                {"parent_checkpoint", 9, kString}, {"options", 10, kMessage}});
  EXPECT_EQ(Message("containerd.task.v2.CreateTaskRequest")
                ->FindFieldByName("rootfs")->message_type()->full_name(),
            "containerd.types.Mount");
}

TEST(ProtoContract, TtrpcRequestAndResponse) {
  ExpectFields("ttrpc.Request", {{"service", 1, kString}, {"method", 2, kString},
                                 {"payload", 3, kBytes}, {"timeout_nano", 4, kInt64},
                                 {"metadata", 5, kMessage, true}});
  ExpectFields("ttrpc.Response", {{"status", 1, kMessage}, {"payload", 2, kBytes}});
  EXPECT_EQ(Message("ttrpc.Response")->FindFieldByNumber(1)->message_type()->full_name(),
            "google.rpc.Status");
}

TEST(ProtoContract, TtrpcRequestEncodesLikeGo) {
  ttrpc::Request req;
  req.set_service("s");
  req.set_method("m");
  req.set_payload(std::string("\x01", 1));
  req.set_timeout_nano(5);
  auto* kv = req.add_metadata();
  kv->set_key("k");
  kv->set_value("v");
  static constexpr char kWant[] = "\x0a\x01s\x12\x01m\x1a\x01\x01\x20\x05\x2a\x06\x0a\x01k\x12\x01v";
  const std::string want(kWant, sizeof(kWant) - 1);
  ASSERT_EQ(want.size(), 19u);
  EXPECT_EQ(req.SerializeAsString(), want);
}

TEST(ProtoContract, CriRunPodSandboxRequest) {
  ExpectFields("runtime.v1.RunPodSandboxRequest",
               {{"config", 1, kMessage}, {"runtime_handler", 2, kString}});
  EXPECT_EQ(Message("runtime.v1.RunPodSandboxRequest")->FindFieldByNumber(1)
                ->message_type()->full_name(),
            "runtime.v1.PodSandboxConfig");
  // A late addition (ImageSpec skips 3..17 on the wire).
  EXPECT_NE(Message("runtime.v1.ImageSpec")->FindFieldByNumber(18), nullptr);
}

TEST(ProtoContract, CriSignalEnumUsableBesideSignalMacros) {
  runtime::v1::Signal v = runtime::v1::RUNTIME_DEFAULT;
  ASSERT_TRUE(runtime::v1::Signal_Parse("SIGKILL", &v));
  EXPECT_EQ(static_cast<int>(v), 13);  // CRI's number, not the kernel's 9
  EXPECT_EQ(SIGKILL, 9);               // the macro is back after the header
}

TEST(ProtoContract, IntrospectionRequiresKeepsWireAndJsonName) {
  const FieldDescriptor* f =
      Message("containerd.services.introspection.v1.Plugin")->FindFieldByNumber(3);
  ASSERT_NE(f, nullptr);
  EXPECT_EQ(f->json_name(), "requires");
  EXPECT_TRUE(f->is_repeated());
}

TEST(ProtoContract, EveryServiceWithItsMethodCount) {
  LinkAllFiles();
  const std::vector<std::pair<std::string, int>> services = {
      {"containerd.services.containers.v1.Containers", 6},
      {"containerd.services.content.v1.Content", 9},
      {"containerd.services.diff.v1.Diff", 2},
      {"containerd.services.events.v1.Events", 3},
      {"containerd.services.images.v1.Images", 5},
      {"containerd.services.introspection.v1.Introspection", 2},
      {"containerd.services.leases.v1.Leases", 6},
      {"containerd.services.namespaces.v1.Namespaces", 5},
      {"containerd.services.snapshots.v1.Snapshots", 10},
      {"containerd.services.tasks.v1.Tasks", 17},
      {"containerd.services.version.v1.Version", 1},
      {"containerd.services.events.ttrpc.v1.Events", 1},
      {"containerd.task.v2.Task", 17},
      {"runtime.v1.RuntimeService", 35},
      {"runtime.v1.ImageService", 6},
  };
  for (const auto& [name, methods] : services) {
    const auto* s = DescriptorPool::generated_pool()->FindServiceByName(name);
    ASSERT_NE(s, nullptr) << name;
    EXPECT_EQ(s->method_count(), methods) << name;
  }
  // Streaming shapes that clients depend on.
  const auto* content =
      DescriptorPool::generated_pool()->FindServiceByName("containerd.services.content.v1.Content");
  EXPECT_TRUE(content->FindMethodByName("Write")->client_streaming());
  EXPECT_TRUE(content->FindMethodByName("Write")->server_streaming());
  EXPECT_TRUE(content->FindMethodByName("Read")->server_streaming());
  const auto* cri = DescriptorPool::generated_pool()->FindServiceByName("runtime.v1.RuntimeService");
  EXPECT_TRUE(cri->FindMethodByName("GetContainerEvents")->server_streaming());
}

}  // namespace
