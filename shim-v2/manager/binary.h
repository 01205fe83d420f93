// Running a shim binary the way containerd 1.6 does (runtime/v2/binary.go, shim/util.go):
//
//   <shim> -namespace NS -address <grpc sock> -publish-binary <berthd> [-debug] -id ID start
//       cwd = bundle, stdin = the options Any (serialized), env += TTRPC_ADDRESS, GRPC_ADDRESS,
//       NAMESPACE, GOMAXPROCS=2; own process group. Combined output = the ttrpc address.
//   <shim> -namespace NS -address A -publish-binary P -id ID -bundle B delete
//       cleanup after a dead shim; stdout = a containerd.task.v2.DeleteResponse.
#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "containerd/runtime/v2/task/shim.pb.h"

namespace berth::runtime {

struct ShimCommand {
  std::string binary;  // absolute path
  std::string ns, id, bundle;
  std::string grpc_address, ttrpc_address, publish_binary;
  bool debug = false;
};

// <binary> -namespace NS -address A -publish-binary P: what every shim command line starts with.
std::vector<std::string> ShimBaseArgs(const ShimCommand& cmd);
// The daemon's environment with containerd's additions above (GOMAXPROCS, TTRPC_ADDRESS, ...).
std::vector<std::string> ShimEnvironment(const ShimCommand& cmd);

// "io.containerd.runc.v2" -> "containerd-shim-runc-v2"; "" when the name has < 2 dot parts.
std::string ShimBinaryName(const std::string& runtime);

// The absolute path of the shim for `runtime`: an absolute path is used as is; a name maps to
// containerd-shim-<name>-<version>, looked up next to `self_dir` first, then on PATH.
// InvalidArgument for a relative path or a malformed name; NotFound when no executable exists.
absl::StatusOr<std::string> ResolveShimBinary(const std::string& runtime,
                                              const std::string& self_dir);

// Runs `start`; returns the trimmed output (the address). Errors carry the shim's output:
// Internal when it exits non-zero, DeadlineExceeded after `timeout` (the shim is killed).
absl::StatusOr<std::string> RunShimStart(const ShimCommand& cmd, const std::string& options,
                                         absl::Duration timeout = absl::Seconds(30));

// Runs `delete`; returns its decoded DeleteResponse. Same errors as RunShimStart.
absl::StatusOr<::containerd::task::v2::DeleteResponse> RunShimDelete(
    const ShimCommand& cmd, absl::Duration timeout = absl::Seconds(30));

}  // namespace berth::runtime
