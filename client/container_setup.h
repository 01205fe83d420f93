// The steps `run` and `rm` take in containerd's Go client (NewContainer with WithNewSnapshot
// and WithImageConfig; Delete with WithSnapshotCleanup), as plain functions over a Client.
#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "client/client.h"
#include "client/oci_spec.h"

namespace berth::client {

struct ContainerConfig {
  std::string id;  // required; see GenerateId
  std::string image;
  std::string runtime = kDefaultRuntime;
  std::string snapshotter = "overlayfs";
  SpecOptions spec;
  Labels labels;
};

// 32 random hex characters (docker-like ids are longer; 32 keeps paths short).
std::string GenerateId();

// Resolves `config.image`, unpacks it when its snapshots are missing, prepares the active
// snapshot `id` on the image's chain id, generates the spec (image config + options; user
// names resolved from the snapshot) and creates the container record. Undoes the snapshot on
// failure. Errors: NotFound (image), AlreadyExists (id or snapshot taken), InvalidArgument
// (spec options), and those of the services involved.
absl::StatusOr<ctrpb::Container> CreateContainerFromImage(Client& client,
                                                          const ContainerConfig& config,
                                                          const CallOptions& call = {});

// Removes container `id`: with `force` kills a running task (SIGKILL) and waits for it;
// deletes the task, the record and its snapshot. FailedPrecondition when the task runs and
// not `force`; NotFound when there is no such container.
absl::Status RemoveContainer(Client& client, const std::string& id, bool force,
                             const CallOptions& call = {});

// Reads files of a rootfs described by snapshot mounts without mounting: overlay
// upperdir/lowerdirs in order, or a bind mount's source. Whiteouts are not interpreted.
RootfsReader ReaderForMounts(const std::vector<tpb_types::Mount>& mounts);

}  // namespace berth::client
