// A process's stdio as containerd hands it to the shim: paths of fifos the client created
// (ctr opens its ends first), `file:///path` or `binary:///path?args` log URIs, or "".
//
// Without a terminal: stdin is a pipe fed by a copy thread from the stdin fifo (so the process
// blocks for input instead of seeing an early EOF, and CloseIO can end it); stdout/stderr
// fifos and files are given to the process directly (no copying, no threads).
// With a terminal: the runtime sends the pty master over a console socket; two copy threads
// move bytes between it and the fifos, and Resize sets the window size.
#pragma once

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "shim-v2/shim/runtime.h"

namespace berth::shim {

struct StdioPaths {
  std::string in, out, err;
  bool terminal = false;
};

class ProcessIo {
 public:
  // Opens everything the process needs. container_id/ns go to binary:// loggers' env.
  // Errors: errno codes of open/pipe/socket; InvalidArgument for an unknown URI scheme.
  static absl::StatusOr<std::unique_ptr<ProcessIo>> Open(const StdioPaths& paths,
                                                         const std::string& container_id,
                                                         const std::string& ns);
  ~ProcessIo();

  // What to hand to the runtime. For a terminal, fds are -1 and ConsoleSocket() is set.
  StdioFds ChildFds() const { return child_; }
  std::string ConsoleSocket() const { return console_path_; }

  // After the runtime created the process: closes the shim's copies of the child's ends, and
  // for a terminal waits (up to 10 s) for the pty master and starts the copy threads.
  absl::Status AfterStart();

  // Stops feeding stdin (CloseIO).
  void CloseStdin();
  // TIOCSWINSZ on the pty master. FailedPrecondition without a terminal.
  absl::Status Resize(uint32_t width, uint32_t height);

 private:
  ProcessIo() = default;
  absl::Status OpenOutput(const std::string& uri, int* fd, const std::string& id,
                          const std::string& ns);
  absl::Status StartStdinCopy(const std::string& path, int dst);
  absl::Status SetupConsoleSocket();

  StdioPaths paths_;
  StdioFds child_;
  std::vector<int> owned_child_fds_;
  int stdin_write_ = -1;  // shim end of the stdin pipe (non-terminal)
  int console_listen_ = -1;
  std::string console_dir_, console_path_;
  absl::Mutex mu_;
  int master_ ABSL_GUARDED_BY(mu_) = -1;
  bool stdin_closed_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace berth::shim
