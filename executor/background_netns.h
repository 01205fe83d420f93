// A network namespace made on a helper thread while the caller does other work.
//
// A new network namespace is the dearest part of a container's clone(): ~0.6 ms of the
// cloning thread's time here (the kernel sets up loopback, sysctl tables and every
// subsystem's per-namespace state), against ~0.1 ms for each other kind. Create starts one of
// these before it makes the container's cgroups and plans (~1 ms), then clones the init
// without CLONE_NEWNET and has it join this namespace with setns - the same fresh namespace,
// owned by the same user namespace, made on the other CPU meanwhile.
#pragma once

#include <thread>

#include "absl/status/statusor.h"

namespace berth::executor {

class BackgroundNetns {
 public:
  BackgroundNetns();   // starts the helper thread
  ~BackgroundNetns();  // waits for it; closes a namespace nobody took
  BackgroundNetns(const BackgroundNetns&) = delete;
  BackgroundNetns& operator=(const BackgroundNetns&) = delete;

  // Waits for the helper; the namespace's fd (close-on-exec, the caller's to close), or why
  // it could not be made (the caller then clones a new one as usual).
  absl::StatusOr<int> Take();

 private:
  int fd_ = -1;  // or -errno; written by the helper before it ends
  bool taken_ = false;
  std::thread helper_;
};

}  // namespace berth::executor
