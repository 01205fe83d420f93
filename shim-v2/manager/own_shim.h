// Starting our own shim without its `start` process. `containerd-shim-berth-v2 ... start` only
// claims the task's socket and spawns the serving shim on it (shim-v2/shim/shim.h); the daemon
// can do both itself and save that process - an exec and a start-up, about 1 ms of every task
// create. Other shims (containerd-shim-runc-v2, any binary we do not know) keep `start`.
#pragma once

#include <string>

#include "absl/status/statusor.h"
#include "shim-v2/manager/binary.h"

namespace berth::runtime {

// Whether `binary` is containerd-shim-berth-v2, whose serving command line we know.
bool IsOwnShim(const std::string& binary);

// The shim a task joins: its pod's (annotation io.kubernetes.cri.sandbox-id in the spec), else
// its own id - the same rule the shim's `start` applies.
std::string ShimGroup(const std::string& id, const std::string& spec_json);

// What `start` does: claims the socket of `group`, spawns the serving shim with it as fd 3 in
// its own session (cwd the bundle, stdio /dev/null, the shim environment) and returns the ttrpc
// address. The server is not our child: like the one `start` spawns, it belongs to init (or
// the nearest subreaper) and outlives the daemon. A group shim that is already running is
// shared: its address is returned and nothing is spawned.
absl::StatusOr<std::string> StartOwnShim(const ShimCommand& cmd, const std::string& group);

}  // namespace berth::runtime
