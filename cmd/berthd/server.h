// Runs berthd: directories, locks, plugins, the gRPC server on the unix socket, and a graceful
// stop on SIGTERM/SIGINT.
#pragma once

#include "absl/status/status.h"
#include "core/config.h"

namespace berth::daemon {

// Blocks until SIGTERM or SIGINT. Returns an error when the daemon cannot start.
absl::Status Serve(const DaemonConfig& config);

}  // namespace berth::daemon
