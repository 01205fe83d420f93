// Task IO through fifos: the shim opens the fifos we create for writing, berthd reads them.
//
// A fifo is opened O_RDONLY|O_NONBLOCK before the task is created, so the shim's open for
// writing never blocks; Linux reports POLLHUP on a fifo only after a writer came and went, so
// the pump does not see a false end before the shim has opened it.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace berth::cri {

// Creates (mkfifo 0600, replacing a stale file) the fifo at `path`. Internal on errno.
absl::Status MakeFifo(const std::string& path);

// Reads a set of fifos on one thread until each reports end of stream (all writers closed) or
// Stop(). `on_data(index, bytes)` and `on_eof(index)` run on that thread.
class FifoPump {
 public:
  using DataFn = std::function<void(int index, const char* data, size_t n)>;
  using EofFn = std::function<void(int index)>;

  // Opens every path (Internal naming the fifo on failure) and starts the thread.
  static absl::StatusOr<std::unique_ptr<FifoPump>> Start(const std::vector<std::string>& paths,
                                                         DataFn on_data, EofFn on_eof);
  ~FifoPump();  // Stop() + join

  // True when every stream ended, waiting at most `timeout`.
  bool WaitDone(absl::Duration timeout);
  // Drains what is readable now, then ends the thread.
  void Stop();

 private:
  FifoPump(std::vector<int> fds, DataFn on_data, EofFn on_eof);
  void Run();

  std::vector<int> fds_;
  DataFn on_data_;
  EofFn on_eof_;
  std::atomic<bool> stop_{false};
  absl::Mutex mu_;
  bool done_ ABSL_GUARDED_BY(mu_) = false;
  std::thread thread_;
};

// A container's stdout/stderr fifos -> its log_path in the CRI format (cri/log_format.h).
class ContainerLogger {
 public:
  // Opens `log_path` for appending (creating its directory) and the fifos. `max_line` as in
  // CriLineSplitter. Errors: Internal naming the file.
  static absl::StatusOr<std::unique_ptr<ContainerLogger>> Start(const std::string& stdout_fifo,
                                                                const std::string& stderr_fifo,
                                                                const std::string& log_path,
                                                                int max_line);
  ~ContainerLogger();

  // Closes and reopens the log file (after kubelet rotated it). Internal on open failure.
  absl::Status Reopen();

 private:
  struct State;
  std::shared_ptr<State> state_;
  std::unique_ptr<FifoPump> pump_;
};

}  // namespace berth::cri
