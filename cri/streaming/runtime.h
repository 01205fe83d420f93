// The interface the CRI runtime core implements for the streaming server.
//
// The server owns every file descriptor it hands over: an implementation reads and writes them
// but never closes them, and must not use them after its call returns. Each fd is one end of a
// unix socketpair, so an implementation may shutdown(fd, SHUT_WR) to signal EOF early.
// The server never knows about shims or namespaces; the runtime does.
#pragma once

#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"

namespace berth::cri::streaming {

// A terminal size as the client sends it on the resize channel ({"Width":..,"Height":..}).
struct TerminalSize {
  uint16_t width = 0;
  uint16_t height = 0;
  bool operator==(const TerminalSize&) const = default;
};

// Resize events for a TTY session, in arrival order. Thread-safe.
class ResizeQueue {
 public:
  // Adds an event; dropped after Close(). Bounded: when `kMaxPending` events wait, the oldest
  // is dropped (only the latest size matters to a terminal).
  void Push(TerminalSize size);
  // No more events will come; wakes Next().
  void Close();
  // Blocks until an event or Close(); nullopt once closed and drained.
  std::optional<TerminalSize> Next();
  // Like Next() but gives up after `timeout` (nullopt; check closed() to tell the cases apart).
  std::optional<TerminalSize> NextWithTimeout(absl::Duration timeout);
  bool closed();

  static constexpr size_t kMaxPending = 64;

 private:
  absl::Mutex mu_;
  std::deque<TerminalSize> events_ ABSL_GUARDED_BY(mu_);
  bool closed_ ABSL_GUARDED_BY(mu_) = false;
};

// The stdio of one exec or attach session, as seen by the runtime.
struct Streams {
  int stdin_fd = -1;   // read from it; EOF when the client closes stdin. -1 without stdin.
  int stdout_fd = -1;  // write to it. -1 when the client did not ask for stdout.
  int stderr_fd = -1;  // write to it. -1 without stderr (always -1 with a TTY).
  bool tty = false;
  ResizeQueue* resize = nullptr;  // non-null iff tty; closed when the session ends.
  // Notified when the client hung up or the server stops: stop waiting and return.
  const absl::Notification* client_gone = nullptr;
};

class Runtime {
 public:
  virtual ~Runtime() = default;

  // Runs `cmd` in the container and blocks until it exits. Returns the exit code (0 included).
  // Errors: NotFound (no such container), FailedPrecondition (container not running), others
  // as the runtime sees fit; they reach the client on the error channel.
  virtual absl::StatusOr<int> Exec(const std::string& container_id,
                                   const std::vector<std::string>& cmd, Streams& streams) = 0;

  // Connects `streams` to the running container's stdio until the container exits or
  // streams.client_gone is notified. Errors as Exec.
  virtual absl::Status Attach(const std::string& container_id, Streams& streams) = 0;

  // Connects to TCP `port` inside the pod's network namespace and copies bytes both ways
  // between that connection and `fd` until both directions reach EOF or either fails.
  // `fd` reads EOF when the client closed its side; the runtime shuts down its write side of
  // `fd` when the pod side closed. Errors: NotFound (no such sandbox), Unavailable (connect
  // refused), others as the runtime sees fit; they reach the client on the error stream.
  virtual absl::Status PortForward(const std::string& pod_sandbox_id, int32_t port, int fd) = 0;
};

}  // namespace berth::cri::streaming
