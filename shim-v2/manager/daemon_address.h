// Where berthd listens: the gRPC socket (given to shims as -address) and the ttrpc socket next
// to it ("<grpc>.ttrpc", given to shims as TTRPC_ADDRESS), and berthd's own executable (given as
// -publish-binary).
//
// Plugins do not see the daemon config, so the daemon may call SetDaemonGrpcAddress() before
// initialising plugins. When it has not, the address is discovered from the lock file the daemon
// holds on "<grpc address>.lock" (cmd/berthd/server.cc takes it before plugins start).
#pragma once

#include <string>

namespace berth::runtime {

void SetDaemonGrpcAddress(const std::string& address);

// The daemon's gRPC socket path. `daemon_root` excludes <root>/berthd.lock from discovery.
// Falls back to /run/berth/berth.sock.
std::string DaemonGrpcAddress(const std::string& daemon_root);

inline std::string TtrpcAddressFor(const std::string& grpc_address) {
  return grpc_address + ".ttrpc";
}

// /proc/self/exe, resolved.
std::string SelfExecutable();

}  // namespace berth::runtime
