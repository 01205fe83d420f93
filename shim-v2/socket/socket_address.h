// Where a v2 shim listens, and how its socket is claimed: shared by the shim's `start` and by
// berthd, which starts its own shim's server without `start` (shim-v2/manager/binary.h).
#pragma once

#include <string>

#include "absl/status/statusor.h"

namespace berth::shim {

inline constexpr char kSocketRoot[] = "/run/containerd/s";

// "unix:///run/containerd/s/<hex sha256 of address/ns/id>" (containerd's SocketAddress).
std::string SocketAddress(const std::string& containerd_address, const std::string& ns,
                          const std::string& id);

// The file system path of a "unix://" address (an address without the scheme is a path).
std::string SocketPath(const std::string& address);

// A listening socket (mode 0600, close-on-exec) at `path`; fails when the file exists.
absl::StatusOr<int> ListenUnix(const std::string& path);

// Whether something accepts connections on the socket at `path`.
bool CanConnect(const std::string& path);

// Claims `address` for a new shim server: a listening socket (as ListenUnix), or -1
// when a live shim already listens there - a group's (a pod's) shim, to be shared. A socket file
// nobody answers on (a killed shim's) is replaced. InvalidArgument for a path too long.
absl::StatusOr<int> ListenOrShare(const std::string& address);

}  // namespace berth::shim
