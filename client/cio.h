// Container stdio over fifos, in the manner of containerd's cio: a private directory holding
// <id>-stdin, <id>-stdout and <id>-stderr, whose paths go to Tasks.Create / Tasks.Exec; the shim
// opens the other ends. Copy threads move bytes between the fifos and local file descriptors.
// In terminal mode there is one output stream (stdout carries the pty).
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace berth::client {

struct FifoSet {
  std::string dir;  // removed by RemoveFifoSet
  std::string in;   // "" when the process gets no stdin
  std::string out;
  std::string err;  // "" in terminal mode
  bool terminal = false;
};

// Makes a 0700 directory under `base_dir` (created when missing) holding the fifos (0600).
// Errors: the failing mkdir/mkfifo as an errno status.
absl::StatusOr<FifoSet> NewFifoSet(const std::string& base_dir, const std::string& id,
                                   bool with_stdin, bool terminal);
// Removes the fifos and the directory; missing files are fine.
absl::Status RemoveFifoSet(const FifoSet& set);

// Local ends. -1 = not connected (the fifo is still drained so the process never blocks).
struct LocalStreams {
  int in = -1;
  int out = 1;
  int err = 2;
};

// Copies: local `in` -> stdin fifo, stdout fifo -> local `out`, stderr fifo -> local `err`.
// The fifos' read ends are opened before this returns (so the shim never sees a missing reader);
// the stdin writer opens when the shim opens its reader.
class Attachment {
 public:
  // `on_stdin_eof` runs once local stdin reached EOF and the fifo is closed (call
  // Tasks.CloseIO there). Errors: opening a fifo failed.
  static absl::StatusOr<std::unique_ptr<Attachment>> Open(const FifoSet& set, LocalStreams local,
                                                          std::function<void()> on_stdin_eof = {});
  ~Attachment();

  // Waits until stdout and stderr reached EOF (the process and everything sharing its output
  // exited), at most `timeout`; returns false on timeout.
  bool WaitOutput(absl::Duration timeout = absl::InfiniteDuration());
  // Stops every copy now (also unblocks a stdin writer still waiting for the shim).
  void Cancel();

 private:
  Attachment() = default;
  void CopyOut(int fifo_fd, int local_fd);
  void CopyIn(std::string path, int local_fd, std::function<void()> on_eof);

  int cancel_pipe_[2] = {-1, -1};
  std::string stdin_path_;
  std::atomic<bool> stdin_opened_{false};
  std::atomic<int> outputs_open_{0};
  std::vector<std::thread> threads_;
  std::thread stdin_thread_;
};

}  // namespace berth::client
