// Running a process attached to this terminal: fifos + copy threads, raw mode and window
// size for -t, signal forwarding otherwise. Shared by `run` and `exec`.
#pragma once

#include <functional>
#include <string>

#include "absl/status/statusor.h"
#include "client/client.h"

namespace berth::ctl {

// Blocks SIGINT/SIGTERM/SIGWINCH in this thread (call before any other thread starts, i.e.
// before dialing) so a helper thread can take them with sigwait.
void BlockForwardedSignals();

// A fifo set for container/exec `id` under /run/berthctl (or /tmp/berthctl).
absl::StatusOr<client::FifoSet> MakeFifos(const std::string& id, bool interactive, bool tty);

struct AttachedProcess {
  std::string container_id;
  std::string exec_id;  // "" for the init process
  bool tty = false;
  bool interactive = false;
};

// Attaches to `fifos` (readers first), creates the process via `create` (Tasks.Create /
// Exec), starts waiting for it, starts it via `start`, forwards signals / window size, waits
// for its exit and the end of its output, and returns its exit status. The terminal is
// restored whatever happens.
absl::StatusOr<int> RunAttached(client::Client& c, const AttachedProcess& p,
                                const client::FifoSet& fifos,
                                const std::function<absl::Status()>& create,
                                const std::function<absl::Status()>& start);

}  // namespace berth::ctl
