// Task IO through fifos: the shim opens the fifos we create for writing, berthd reads them.
//
// A fifo is opened O_RDONLY|O_NONBLOCK before the task is created, so the shim's open for
// writing never blocks; Linux reports POLLHUP on a fifo only after a writer came and went, so
// the pump does not see a false end before the shim has opened it.
#pragma once

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
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

// What an attach session reaches of a running container (shared, so a session may outlive the
// logger that feeds it): taps that see the container's stdout/stderr as the log pump reads them,
// and the writing end of the container's stdin fifo when it has one (ContainerConfig.stdin).
// Thread-safe.
class AttachPoint {
 public:
  using TapFn = std::function<void(int stream, absl::string_view data)>;  // 0 stdout, 1 stderr

  ~AttachPoint();

  // Registers `fn` for output read from now on; it runs on the pump thread, so it must not
  // block for long (a slow tap holds back the container's log). Returns an id for RemoveTap.
  int AddTap(TapFn fn);
  // After it returns, `fn` is not running and will not run again.
  void RemoveTap(int id);
  // Called by the pump.
  void Publish(int stream, absl::string_view data);

  // Both output streams ended (the container exited) or the logger went away.
  void MarkEnded();
  bool ended();
  // True when ended, waiting at most `timeout`.
  bool WaitEnded(absl::Duration timeout);

  // Creates the fifo at `path` (it must exist before the shim starts the task: the shim opens
  // it for reading) and keeps it open O_RDWR, so the container never reads a premature EOF and
  // writes never block on a missing reader. `once`: ContainerConfig.stdin_once.
  // Internal naming the fifo on failure.
  absl::Status OpenStdin(const std::string& path, bool once);
  bool has_stdin();
  bool stdin_once();
  // Writes all of `data` to the container's stdin. FailedPrecondition when it has none or it
  // was closed; Internal on a write error.
  absl::Status WriteStdin(absl::string_view data);
  // Closes berthd's end: the shim reads EOF and closes the container's stdin. Idempotent.
  void CloseStdin();

 private:
  absl::Mutex mu_;
  std::map<int, TapFn> taps_ ABSL_GUARDED_BY(mu_);
  int next_tap_ ABSL_GUARDED_BY(mu_) = 1;
  bool ended_ ABSL_GUARDED_BY(mu_) = false;
  absl::Mutex stdin_mu_;  // separate: a blocked stdin write must not hold back output
  int stdin_fd_ ABSL_GUARDED_BY(stdin_mu_) = -1;
  bool has_stdin_ ABSL_GUARDED_BY(stdin_mu_) = false;
  bool stdin_once_ ABSL_GUARDED_BY(stdin_mu_) = false;
};

// The container's stdin fifo: "stdin" beside its stdout fifo (<state>/containers/<id>/).
std::string StdinFifoBeside(const std::string& stdout_fifo);

// A container's stdout/stderr fifos -> its log_path in the CRI format (cri/log_format.h), and
// to the taps of its AttachPoint.
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

  // For attach sessions: shared, valid after the logger is gone (then ended()).
  std::shared_ptr<AttachPoint> attach_point() const { return attach_; }

 private:
  struct State;
  std::shared_ptr<AttachPoint> attach_ = std::make_shared<AttachPoint>();
  std::shared_ptr<State> state_;
  std::unique_ptr<FifoPump> pump_;
};

}  // namespace berth::cri
