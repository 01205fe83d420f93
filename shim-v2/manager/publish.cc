#include "shim-v2/manager/publish.h"

#include <unistd.h>

#include <cstdio>
#include <string>

#include "absl/strings/match.h"
#include "absl/time/clock.h"
#include "containerd/services/ttrpc/events/v1/events.pb.h"
#include "shim-v2/ttrpc/client.h"

namespace berth::runtime {
namespace {

int Fail(const std::string& message) {
  std::fprintf(stderr, "berthd publish: %s\n", message.c_str());
  return 1;
}

}  // namespace

int RunPublish(int argc, char** argv) {
  std::string address, topic, ns;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    std::string* target = nullptr;
    for (auto [name, dst] : {std::pair<const char*, std::string*>{"address", &address},
                             {"topic", &topic},
                             {"namespace", &ns}}) {
      for (const std::string& prefix : {std::string("--") + name, std::string("-") + name}) {
        if (arg == prefix) target = dst;
        if (absl::StartsWith(arg, prefix + "=")) *dst = arg.substr(prefix.size() + 1);
      }
    }
    if (target != nullptr) {
      if (i + 1 >= argc) return Fail("flag " + arg + " needs a value");
      *target = argv[++i];
    }
  }
  if (address.empty() || topic.empty() || ns.empty()) {
    return Fail("usage: berthd publish --address ADDR --topic TOPIC --namespace NS < event");
  }
  std::string input;
  char buf[4096];
  ssize_t n;
  while ((n = ::read(STDIN_FILENO, buf, sizeof(buf))) > 0) input.append(buf, static_cast<size_t>(n));
  ::containerd::services::events::ttrpc::v1::ForwardRequest req;
  auto* env = req.mutable_envelope();
  if (!env->mutable_event()->ParseFromString(input)) return Fail("stdin is not a protobuf Any");
  int64_t now = absl::ToUnixNanos(absl::Now());
  env->mutable_timestamp()->set_seconds(now / 1000000000);
  env->mutable_timestamp()->set_nanos(static_cast<int32_t>(now % 1000000000));
  env->set_namespace_(ns);
  env->set_topic(topic);
  std::string target = absl::EndsWith(address, ".ttrpc") ? address : address + ".ttrpc";
  auto client = ttrpc::Client::Dial(target);
  if (!client.ok()) return Fail(std::string(client.status().message()));
  auto out = (*client)->Call("containerd.services.events.ttrpc.v1.Events", "Forward",
                             req.SerializeAsString(), {}, absl::Seconds(10));
  if (!out.ok()) return Fail(std::string(out.status().message()));
  return 0;
}

}  // namespace berth::runtime
