#include "client/container_setup.h"

#include <fcntl.h>
#include <unistd.h>

#include <csignal>
#include <fstream>
#include <random>
#include <sstream>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "absl/strings/str_split.h"
#include "client/image_resolve.h"
#include "core/status.h"
#include "core/status_macros.h"

namespace berth::client {

std::string GenerateId() {
  std::random_device rd;
  std::string out;
  static constexpr char kHex[] = "0123456789abcdef";
  for (int i = 0; i < 32; ++i) out += kHex[rd() & 15];
  return out;
}

RootfsReader ReaderForMounts(const std::vector<tpb_types::Mount>& mounts) {
  std::vector<std::string> dirs;
  for (const auto& m : mounts) {
    if (m.type() == "bind" || m.type() == "rbind") dirs.push_back(m.source());
    if (m.type() != "overlay") continue;
    std::string lower;
    for (const auto& o : m.options()) {
      absl::string_view v = o;
      if (absl::ConsumePrefix(&v, "upperdir=")) dirs.insert(dirs.begin(), std::string(v));
      if (absl::ConsumePrefix(&v, "lowerdir=")) lower = std::string(v);
    }
    for (absl::string_view l : absl::StrSplit(lower, ':', absl::SkipEmpty())) {
      dirs.push_back(std::string(l));
    }
  }
  return [dirs](const std::string& path) -> absl::StatusOr<std::string> {
    for (const auto& d : dirs) {
      std::ifstream f(d + path);
      if (!f) continue;
      std::stringstream ss;
      ss << f.rdbuf();
      return ss.str();
    }
    return absl::NotFoundError(absl::StrCat(path, " not in the rootfs"));
  };
}

namespace {

absl::StatusOr<ctrpb::Container> CreateUnderLease(Client& client, const ContainerConfig& config,
                                                  const CallOptions& call) {
  absl::StatusOr<ResolvedImage> image =
      ResolveImage(client.images(), client.content(), config.image, call);
  if (!image.ok()) return image.status();
  // Like ctr run: an image imported without unpack gets unpacked on first use.
  if (!image->chain_id.empty() &&
      !client.snapshots().Stat(config.snapshotter, image->chain_id, call).ok()) {
    absl::Status s = Unpack(client.snapshots(), client.content(), *image, config.snapshotter, call);
    if (!s.ok()) return Annotate(s, "unpack " + config.image);
  }
  absl::StatusOr<std::vector<tpb_types::Mount>> mounts = client.snapshots().Prepare(
      config.snapshotter, config.id, image->chain_id, {}, call);
  if (!mounts.ok()) return mounts.status();
  auto undo = [&](absl::Status s) {
    client.snapshots().Remove(config.snapshotter, config.id, call).IgnoreError();
    return s;
  };
  absl::StatusOr<nlohmann::json> spec =
      GenerateSpec(call.ns.value_or(client.ns()), config.id, image->config_json, config.spec,
                   ReaderForMounts(*mounts));
  if (!spec.ok()) return undo(spec.status());
  NewContainer nc;
  nc.id = config.id;
  nc.image = image->record.name();
  nc.runtime = config.runtime;
  nc.snapshotter = config.snapshotter;
  nc.snapshot_key = config.id;
  nc.spec = std::move(*spec);
  nc.labels = config.labels;
  absl::StatusOr<ctrpb::Container> c = client.containers().Create(nc, call);
  if (!c.ok()) return undo(c.status());
  return c;
}

}  // namespace

// As containerd's client does (WithLease): the unpacked chain and the container's snapshot are
// held by a lease until the container record references them; a collection scheduled by
// another client's delete (berthctl run --rm) otherwise took the fresh snapshot in between.
absl::StatusOr<ctrpb::Container> CreateContainerFromImage(Client& client,
                                                          const ContainerConfig& config,
                                                          const CallOptions& call) {
  if (!call.lease.empty()) return CreateUnderLease(client, config, call);
  absl::StatusOr<lpb::Lease> lease =
      client.meta().CreateTemporaryLease("berthctl-create", absl::Hours(1), call);
  if (!lease.ok()) return lease.status();
  CallOptions leased = call;
  leased.lease = lease->id();
  absl::StatusOr<ctrpb::Container> c = CreateUnderLease(client, config, leased);
  client.meta().DeleteLease(lease->id(), false, call).IgnoreError();
  return c;
}

absl::Status RemoveContainer(Client& client, const std::string& id, bool force,
                             const CallOptions& call) {
  absl::StatusOr<ctrpb::Container> c = client.containers().Get(id, call);
  if (!c.ok()) return c.status();
  absl::StatusOr<tasktypes::Process> task = client.tasks().Get(id, "", call);
  if (task.ok()) {
    if (task->status() == tasktypes::RUNNING || task->status() == tasktypes::PAUSED ||
        task->status() == tasktypes::CREATED) {
      if (!force) {
        return absl::FailedPreconditionError(
            absl::StrCat("container ", id, " is ", TaskStatusName(task->status()),
                         ": stop it first or use --force"));
      }
      absl::Status k = client.tasks().Kill(id, SIGKILL, /*all=*/true, "", call);
      if (!k.ok() && !absl::IsNotFound(k)) return k;
      CallOptions wait = call;
      wait.timeout = absl::Seconds(30);
      client.tasks().Wait(id, "", wait).IgnoreError();
    }
    absl::StatusOr<ExitStatus> d = client.tasks().Delete(id, call);
    if (!d.ok() && !absl::IsNotFound(d.status())) return d.status();
  } else if (!absl::IsNotFound(task.status())) {
    return task.status();
  }
  BERTH_RETURN_IF_ERROR(client.containers().Delete(id, call));
  if (!c->snapshot_key().empty()) {
    absl::Status s = client.snapshots().Remove(c->snapshotter(), c->snapshot_key(), call);
    if (!s.ok() && !absl::IsNotFound(s)) return s;
  }
  return absl::OkStatus();
}

}  // namespace berth::client
