#include "client/meta.h"

#include <unistd.h>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "google/protobuf/empty.pb.h"

namespace berth::client {

Meta::Meta(std::shared_ptr<Connection> conn)
    : conn_(std::move(conn)),
      version_(vpb::Version::NewStub(conn_->channel())),
      introspection_(ipb::Introspection::NewStub(conn_->channel())),
      namespaces_(nspb::Namespaces::NewStub(conn_->channel())),
      leases_(lpb::Leases::NewStub(conn_->channel())) {}

absl::StatusOr<vpb::VersionResponse> Meta::Version(const CallOptions& call) {
  auto ctx = conn_->NewContext(call);
  vpb::VersionResponse resp;
  auto s = version_->Version(ctx.get(), google::protobuf::Empty(), &resp);
  if (!s.ok()) return FromGrpc(s, "version");
  return resp;
}

absl::StatusOr<std::string> Meta::ServerUuid(const CallOptions& call) {
  auto ctx = conn_->NewContext(call);
  ipb::ServerResponse resp;
  auto s = introspection_->Server(ctx.get(), google::protobuf::Empty(), &resp);
  if (!s.ok()) return FromGrpc(s, "introspection server");
  return resp.uuid();
}

absl::StatusOr<std::vector<ipb::Plugin>> Meta::Plugins(const std::vector<std::string>& filters,
                                                       const CallOptions& call) {
  auto ctx = conn_->NewContext(call);
  ipb::PluginsRequest req;
  for (const auto& f : filters) req.add_filters(f);
  ipb::PluginsResponse resp;
  auto s = introspection_->Plugins(ctx.get(), req, &resp);
  if (!s.ok()) return FromGrpc(s, "list plugins");
  return std::vector<ipb::Plugin>(resp.plugins().begin(), resp.plugins().end());
}

absl::StatusOr<std::vector<nspb::Namespace>> Meta::ListNamespaces(const CallOptions& call) {
  auto ctx = conn_->NewContext(call);
  nspb::ListNamespacesResponse resp;
  auto s = namespaces_->List(ctx.get(), nspb::ListNamespacesRequest(), &resp);
  if (!s.ok()) return FromGrpc(s, "list namespaces");
  return std::vector<nspb::Namespace>(resp.namespaces().begin(), resp.namespaces().end());
}

absl::Status Meta::CreateNamespace(const std::string& name, const Labels& labels,
                                   const CallOptions& call) {
  auto ctx = conn_->NewContext(call);
  nspb::CreateNamespaceRequest req;
  req.mutable_namespace_()->set_name(name);
  for (const auto& [k, v] : labels) (*req.mutable_namespace_()->mutable_labels())[k] = v;
  nspb::CreateNamespaceResponse resp;
  return FromGrpc(namespaces_->Create(ctx.get(), req, &resp),
                  absl::StrCat("create namespace ", name));
}

absl::Status Meta::RemoveNamespace(const std::string& name, const CallOptions& call) {
  auto ctx = conn_->NewContext(call);
  nspb::DeleteNamespaceRequest req;
  req.set_name(name);
  google::protobuf::Empty resp;
  return FromGrpc(namespaces_->Delete(ctx.get(), req, &resp),
                  absl::StrCat("remove namespace ", name));
}

absl::StatusOr<std::vector<lpb::Lease>> Meta::ListLeases(const std::vector<std::string>& filters,
                                                         const CallOptions& call) {
  auto ctx = conn_->NewContext(call);
  lpb::ListRequest req;
  for (const auto& f : filters) req.add_filters(f);
  lpb::ListResponse resp;
  auto s = leases_->List(ctx.get(), req, &resp);
  if (!s.ok()) return FromGrpc(s, "list leases");
  return std::vector<lpb::Lease>(resp.leases().begin(), resp.leases().end());
}

absl::StatusOr<lpb::Lease> Meta::CreateLease(const std::string& id, const Labels& labels,
                                             const CallOptions& call) {
  auto ctx = conn_->NewContext(call);
  lpb::CreateRequest req;
  req.set_id(id);
  for (const auto& [k, v] : labels) (*req.mutable_labels())[k] = v;
  lpb::CreateResponse resp;
  auto s = leases_->Create(ctx.get(), req, &resp);
  if (!s.ok()) return FromGrpc(s, "create lease");
  return resp.lease();
}

absl::StatusOr<lpb::Lease> Meta::CreateTemporaryLease(const std::string& purpose,
                                                       absl::Duration ttl,
                                                       const CallOptions& call) {
  absl::Time now = absl::Now();
  std::string expire = absl::FormatTime(absl::RFC3339_sec, now + ttl, absl::UTCTimeZone());
  return CreateLease(absl::StrCat(purpose, "-", getpid(), "-", absl::ToUnixNanos(now)),
                     {{"containerd.io/gc.expire", expire}}, call);
}

absl::Status Meta::DeleteLease(const std::string& id, bool sync, const CallOptions& call) {
  auto ctx = conn_->NewContext(call);
  lpb::DeleteRequest req;
  req.set_id(id);
  req.set_sync(sync);
  google::protobuf::Empty resp;
  return FromGrpc(leases_->Delete(ctx.get(), req, &resp), absl::StrCat("delete lease ", id));
}

Snapshots::Snapshots(std::shared_ptr<Connection> conn)
    : conn_(std::move(conn)),
      stub_(spb::Snapshots::NewStub(conn_->channel())),
      diff_(dpb::Diff::NewStub(conn_->channel())) {}

absl::StatusOr<std::vector<spb::Info>> Snapshots::List(const std::string& snapshotter,
                                                       const std::vector<std::string>& filters,
                                                       const CallOptions& call) {
  auto ctx = conn_->NewContext(call, /*stream=*/true);
  spb::ListSnapshotsRequest req;
  req.set_snapshotter(snapshotter);
  for (const auto& f : filters) req.add_filters(f);
  auto reader = stub_->List(ctx.get(), req);
  std::vector<spb::Info> out;
  spb::ListSnapshotsResponse resp;
  while (reader->Read(&resp)) out.insert(out.end(), resp.info().begin(), resp.info().end());
  auto s = reader->Finish();
  if (!s.ok()) return FromGrpc(s, absl::StrCat("list snapshots of ", snapshotter));
  return out;
}

absl::StatusOr<spb::Info> Snapshots::Stat(const std::string& snapshotter, const std::string& key,
                                          const CallOptions& call) {
  auto ctx = conn_->NewContext(call);
  spb::StatSnapshotRequest req;
  req.set_snapshotter(snapshotter);
  req.set_key(key);
  spb::StatSnapshotResponse resp;
  auto s = stub_->Stat(ctx.get(), req, &resp);
  if (!s.ok()) return FromGrpc(s, absl::StrCat("stat snapshot ", key));
  return resp.info();
}

absl::StatusOr<std::vector<tpb_types::Mount>> Snapshots::Prepare(const std::string& snapshotter,
                                                                 const std::string& key,
                                                                 const std::string& parent,
                                                                 const Labels& labels,
                                                                 const CallOptions& call) {
  auto ctx = conn_->NewContext(call);
  spb::PrepareSnapshotRequest req;
  req.set_snapshotter(snapshotter);
  req.set_key(key);
  req.set_parent(parent);
  for (const auto& [k, v] : labels) (*req.mutable_labels())[k] = v;
  spb::PrepareSnapshotResponse resp;
  auto s = stub_->Prepare(ctx.get(), req, &resp);
  if (!s.ok()) return FromGrpc(s, absl::StrCat("prepare snapshot ", key));
  return std::vector<tpb_types::Mount>(resp.mounts().begin(), resp.mounts().end());
}

absl::StatusOr<std::vector<tpb_types::Mount>> Snapshots::Mounts(const std::string& snapshotter,
                                                                const std::string& key,
                                                                const CallOptions& call) {
  auto ctx = conn_->NewContext(call);
  spb::MountsRequest req;
  req.set_snapshotter(snapshotter);
  req.set_key(key);
  spb::MountsResponse resp;
  auto s = stub_->Mounts(ctx.get(), req, &resp);
  if (!s.ok()) return FromGrpc(s, absl::StrCat("mounts of snapshot ", key));
  return std::vector<tpb_types::Mount>(resp.mounts().begin(), resp.mounts().end());
}

absl::Status Snapshots::Commit(const std::string& snapshotter, const std::string& name,
                               const std::string& key, const Labels& labels,
                               const CallOptions& call) {
  auto ctx = conn_->NewContext(call);
  spb::CommitSnapshotRequest req;
  req.set_snapshotter(snapshotter);
  req.set_name(name);
  req.set_key(key);
  for (const auto& [k, v] : labels) (*req.mutable_labels())[k] = v;
  google::protobuf::Empty resp;
  return FromGrpc(stub_->Commit(ctx.get(), req, &resp), absl::StrCat("commit snapshot ", name));
}

absl::Status Snapshots::Remove(const std::string& snapshotter, const std::string& key,
                               const CallOptions& call) {
  auto ctx = conn_->NewContext(call);
  spb::RemoveSnapshotRequest req;
  req.set_snapshotter(snapshotter);
  req.set_key(key);
  google::protobuf::Empty resp;
  return FromGrpc(stub_->Remove(ctx.get(), req, &resp), absl::StrCat("remove snapshot ", key));
}

absl::StatusOr<tpb_types::Descriptor> Snapshots::Apply(const tpb_types::Descriptor& layer,
                                                       const std::vector<tpb_types::Mount>& mounts,
                                                       const CallOptions& call) {
  auto ctx = conn_->NewContext(call, /*stream=*/true);  // a big layer takes its time
  dpb::ApplyRequest req;
  *req.mutable_diff() = layer;
  for (const auto& m : mounts) *req.add_mounts() = m;
  dpb::ApplyResponse resp;
  auto s = diff_->Apply(ctx.get(), req, &resp);
  if (!s.ok()) return FromGrpc(s, absl::StrCat("apply layer ", layer.digest()));
  return resp.applied();
}

}  // namespace berth::client
