// containerd-shim-berth-v2's command line, as containerd 1.6 drives a v2 shim:
//
//   shim -namespace NS -address GRPC_SOCK -publish-binary CTRD [-debug] -id ID start
//     cwd = bundle, env TTRPC_ADDRESS, stdin = runtime options (Any). Starts the serving shim
//     (same binary, no action, listening socket as fd 3, own session), writes <bundle>/address
//     and prints the ttrpc address unix:///run/containerd/s/<sha256(GRPC_SOCK/NS/ID)> on stdout.
//     Containers with annotation io.kubernetes.cri.sandbox-id share their sandbox's shim.
//   shim -namespace NS -address A -publish-binary P -id ID -bundle B delete
//     cleanup after a dead shim: runtime delete --force, unmount B/rootfs, print a
//     containerd.task.v2.DeleteResponse (exit status 137, now) on stdout.
//   shim -namespace NS -id ID -address A            (serve)
//     serves containerd.task.v2.Task on fd 3 (or -socket PATH), logs to the bundle's `log` fifo,
//     publishes events to TTRPC_ADDRESS, exits after Shutdown.
#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace berth::shim {

struct Flags {
  std::string ns, address, publish_binary, id, bundle, socket;
  bool debug = false;
  bool version = false;
  std::string action;  // "start", "delete" or "" (serve)
};

// Go `flag` syntax: -name value, -name=value, --name; bool -debug; the first non-flag word is
// the action. InvalidArgument for an unknown flag or a missing value.
absl::StatusOr<Flags> ParseFlags(const std::vector<std::string>& args);

// The whole program; returns the exit code.
int RunShim(int argc, char** argv);

}  // namespace berth::shim
