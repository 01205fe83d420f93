// Decoded gRPC requests into the handlers of the namespaces, containers, images and leases
// services, over the same plugins berthd builds (metadata in RocksDB, content, the native
// snapshotter, events, gc), set up once per process in a temporary directory.
//
// Input: up to 24 calls, each [selector][length: 2 bytes, little-endian][request bytes]. The
// selector picks the method (mod the method count) and the caller's namespace metadata (none,
// "default", "k8s.io", or an invalid one). The request bytes are parsed as that method's request
// message, as gRPC would, and the handler is called directly. After each input the database is
// emptied, so every input starts from the same state (and a crash replays).
#include <stdlib.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "containerd/services/containers/v1/containers.grpc.pb.h"
#include "containerd/services/images/v1/images.grpc.pb.h"
#include "containerd/services/leases/v1/leases.grpc.pb.h"
#include "containerd/services/namespaces/v1/namespace.grpc.pb.h"
#include "core/fs.h"
#include "core/log.h"
#include "core/namespaces.h"
#include "fuzz/plugin_daemon.h"
#include "grpcpp/test/server_context_test_spouse.h"
#include "plugins/containers/plugin.h"
#include "plugins/content/plugin.h"
#include "plugins/events/plugin.h"
#include "plugins/gc/plugin.h"
#include "plugins/metadata/plugin.h"
#include "plugins/registry/registry.h"
#include "plugins/snapshots/plugin.h"
#include "services/common/grpc_service.h"
#include "services/containers/service.h"
#include "services/images/service.h"
#include "services/leases/service.h"
#include "services/namespaces/service.h"

namespace {

namespace nspb = ::containerd::services::namespaces::v1;
namespace cpb = ::containerd::services::containers::v1;
namespace ipb = ::containerd::services::images::v1;
namespace lpb = ::containerd::services::leases::v1;

using Call = std::function<void(grpc::ServerContext*, const uint8_t*, size_t)>;

// BERTH_FUZZ_VERBOSE=1 prints each call and its status (to check what seeds reach).
const bool kVerbose = std::getenv("BERTH_FUZZ_VERBOSE") != nullptr;

// Parses the bytes as Req (a failed parse is what gRPC answers INTERNAL to: no call), calls
// the handler and serializes its answer.
template <typename Svc, typename Req, typename Resp>
Call Method(Svc* svc, grpc::Status (Svc::*method)(grpc::ServerContext*, const Req*, Resp*)) {
  return [svc, method](grpc::ServerContext* ctx, const uint8_t* data, size_t size) {
    Req req;
    if (!req.ParseFromArray(data, static_cast<int>(size))) {
      if (kVerbose) std::fprintf(stderr, "%s: does not parse\n", Req::descriptor()->name().c_str());
      return;
    }
    Resp resp;
    grpc::Status st = (svc->*method)(ctx, &req, &resp);
    if (st.ok()) (void)resp.SerializeAsString();
    if (kVerbose) {
      std::fprintf(stderr, "%s: %d %s\n", Req::descriptor()->name().c_str(), st.error_code(),
                   st.error_message().c_str());
    }
  };
}

template <typename Svc>
Svc* ServiceOf(const berth::plugin::Registry& registry, const char* id) {
  auto svc = registry.Find<berth::services::GrpcService>(berth::plugin::kGrpc, id);
  if (svc == nullptr) {
    std::fprintf(stderr, "grpc_requests: service %s is not ready\n", id);
    std::abort();
  }
  return dynamic_cast<Svc*>(svc->Service());
}

struct Daemon {
  std::string dir;
  berth::plugin::Registry registry;
  std::shared_ptr<berth::metadata::Metadata> md;
  std::vector<Call> calls;
};

Daemon* Start() {
  (void)berth::log::Init("error");
  auto* d = new Daemon;  // lives as long as the process (handlers run on its plugins)
  d->dir = berth::fuzz::MakeScratchDir("grpc");
  berth::fuzz::StartPlugins(
      d->registry, d->dir,
      {&berth::content::RegisterContentPlugin, &berth::snapshotter::RegisterNative,
       &berth::metadata::RegisterMetadata, &berth::gc::RegisterGcScheduler,
       &berth::events::RegisterEventsExchange, &berth::containers::RegisterContainersCore,
       &berth::services::RegisterNamespacesService, &berth::services::RegisterContainersService,
       &berth::services::RegisterImagesService, &berth::services::RegisterLeasesService});
  d->md = d->registry.Find<berth::metadata::Metadata>(berth::plugin::kMetadata, "rocksdb");
  if (d->md == nullptr) std::abort();

  auto* ns = ServiceOf<nspb::Namespaces::Service>(d->registry, "namespaces");
  auto* ct = ServiceOf<cpb::Containers::Service>(d->registry, "containers");
  auto* im = ServiceOf<ipb::Images::Service>(d->registry, "images");
  auto* ls = ServiceOf<lpb::Leases::Service>(d->registry, "leases");
  d->calls = {
      Method(ns, &nspb::Namespaces::Service::Get),
      Method(ns, &nspb::Namespaces::Service::List),
      Method(ns, &nspb::Namespaces::Service::Create),
      Method(ns, &nspb::Namespaces::Service::Update),
      Method(ns, &nspb::Namespaces::Service::Delete),
      Method(ct, &cpb::Containers::Service::Get),
      Method(ct, &cpb::Containers::Service::List),
      Method(ct, &cpb::Containers::Service::Create),
      Method(ct, &cpb::Containers::Service::Update),
      Method(ct, &cpb::Containers::Service::Delete),
      Method(im, &ipb::Images::Service::Get),
      Method(im, &ipb::Images::Service::List),
      Method(im, &ipb::Images::Service::Create),
      Method(im, &ipb::Images::Service::Update),
      Method(im, &ipb::Images::Service::Delete),
      Method(ls, &lpb::Leases::Service::Create),
      Method(ls, &lpb::Leases::Service::Delete),
      Method(ls, &lpb::Leases::Service::List),
      Method(ls, &lpb::Leases::Service::AddResource),
      Method(ls, &lpb::Leases::Service::DeleteResource),
      Method(ls, &lpb::Leases::Service::ListResources),
  };
  return d;
}

// Back to an empty database: every namespace and what it holds.
void Reset(Daemon& d) {
  absl::Status st = d.md->db->Update([](berth::metadata::Txn& txn) -> absl::Status {
    if (absl::Status s = txn.DeletePrefix("namespaces/"); !s.ok()) return s;
    return txn.DeletePrefix("ns/");
  });
  if (!st.ok()) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static Daemon* d = Start();
  static const char* const kNamespaces[] = {nullptr, "default", "k8s.io", "bad/namespace"};
  size_t off = 0;
  for (int n = 0; n < 24 && off + 3 <= size; ++n) {
    uint8_t sel = data[off];
    size_t len = data[off + 1] | (size_t{data[off + 2]} << 8);
    off += 3;
    len = std::min(len, size - off);
    grpc::ServerContext ctx;
    grpc::testing::ServerContextTestSpouse spouse(&ctx);
    if (const char* ns = kNamespaces[(sel / d->calls.size()) % 4]) {
      spouse.AddClientMetadata(berth::kNamespaceGrpcHeader, ns);
    }
    d->calls[sel % d->calls.size()](&ctx, data + off, len);
    off += len;
  }
  Reset(*d);
  return 0;
}
