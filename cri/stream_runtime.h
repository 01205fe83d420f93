// The real streaming::Runtime behind the CRI streaming server (cri/streaming/): what
// `kubectl exec/attach/port-forward` and `crictl exec -it` reach once the client connected to
// the URL that CRI Exec/Attach/PortForward returned.
//
// - Exec: an extra process in the container through its shim (Task.Exec with fifos under
//   <state>/containers/<id>/exec-<exec id>-{stdin,stdout,stderr}), with or without a terminal
//   (ResizePty on resize events, CloseIO when the client's stdin ends). The exec is killed
//   when the client hangs up.
// - Attach: the container's own stdio through its AttachPoint (cri/io.h): output taps beside
//   the CRI log pump, and the stdin fifo kept open by berthd when ContainerConfig.stdin is set
//   (stdin_once: the container's stdin is closed when the first attach session ends).
// - PortForward: a TCP connection to 127.0.0.1:<port> (then [::1]) made inside the pod's
//   pinned network namespace (host-network pods: berthd's own), bytes copied both ways.
#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "cri/runtime.h"
#include "cri/streaming/runtime.h"

namespace berth::cri {

class StreamRuntime : public streaming::Runtime {
 public:
  // `core` must outlive this object (and the streaming server that uses it).
  explicit StreamRuntime(CriRuntime& core) : core_(core) {}

  // NotFound (no such container), FailedPrecondition (not running), the shim's errors for
  // Exec/Start; returns the exit status (128+signal when killed, as the shim reports it).
  absl::StatusOr<int> Exec(const std::string& container_id, const std::vector<std::string>& cmd,
                           streaming::Streams& streams) override;
  // NotFound, FailedPrecondition (not running, or no log pump to tap). Stdin asked for by the
  // client is ignored when the container was created without stdin (as containerd does).
  absl::Status Attach(const std::string& container_id, streaming::Streams& streams) override;
  // NotFound (no such sandbox), FailedPrecondition (sandbox not ready), Unavailable
  // (nothing listens on the port inside the pod), Internal (setns/socket failures).
  absl::Status PortForward(const std::string& pod_sandbox_id, int32_t port, int fd) override;

 private:
  CriRuntime& core_;
};

// Connects to 127.0.0.1:<port>, then [::1]:<port>, from inside the network namespace at
// `netns_path` ("" = the caller's own). The setns happens on a short-lived thread of its own,
// so no other berthd thread changes namespace. Returns the connected socket (CLOEXEC).
// Unavailable when both addresses refuse (or time out after 10 s); Internal for setns errors.
absl::StatusOr<int> DialInNetns(const std::string& netns_path, int port);

// Copies bytes both ways between sockets `a` and `b`: EOF on one side is passed on as
// shutdown(SHUT_WR) of the other; returns when both directions ended or either side failed.
// Exposed for tests.
void CopyBothWays(int a, int b);

}  // namespace berth::cri
