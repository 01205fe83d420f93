// A network namespace made by a helper process while the caller does other work.
//
// A new network namespace is the dearest part of a container's clone(): ~0.6 ms of the
// cloning thread's time here (the kernel sets up loopback, sysctl tables and every
// subsystem's per-namespace state), against ~0.1 ms for each other kind. Create starts one of
// these before it makes the container's cgroups and plans (~1 ms), then clones the init
// without CLONE_NEWNET and has it join this namespace with setns - the same fresh namespace,
// owned by the same user namespace, made on the other CPU meanwhile.
//
// A process, not a thread: Create runs in the shim's forked helper, a child of a multithreaded
// process, where starting a thread can block on a lock another thread of the shim held when it
// forked (ASan's allocator and thread registry do not reset across fork). The helper makes only
// system calls and hands the namespace back over a socket.
#pragma once

#include <sys/types.h>

#include "absl/status/statusor.h"

namespace berth::executor {

class BackgroundNetns {
 public:
  BackgroundNetns();   // starts the helper
  ~BackgroundNetns();  // reaps it; closes a namespace nobody took
  BackgroundNetns(const BackgroundNetns&) = delete;
  BackgroundNetns& operator=(const BackgroundNetns&) = delete;

  // Waits for the helper; the namespace's fd (close-on-exec, the caller's to close), or why
  // it could not be made (the caller then clones a new one as usual).
  absl::StatusOr<int> Take();

 private:
  void Reap();

  int sock_ = -1;  // our end of the socket pair the helper sends the namespace on
  pid_t pid_ = -1;
  int start_errno_ = 0;
};

}  // namespace berth::executor
