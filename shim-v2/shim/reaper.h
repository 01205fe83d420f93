// Process reaping for the shim. The shim is a child subreaper (PR_SET_CHILD_SUBREAPER): the
// container's init and exec'd processes are re-parented to it when the forked helper or the
// runtime command that started them exits. The reaper thread waits only for pids registered
// with OnExit/Wait (waitpid(pid, WNOHANG) on each SIGCHLD): a child stays a zombie until its pid
// is known, so a fast `echo` never loses its status, and helpers that their starter waits for
// itself are never stolen. Unclaimed zombies (orphans re-parented to us) are swept after they
// have been seen twice, two seconds apart; with none, the thread sleeps until a SIGCHLD.
#pragma once

#include <sys/types.h>

#include <functional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace berth::shim {

// Exit status the containerd way: the exit code, or 128 + signal.
int ExitCodeFromWaitStatus(int wait_status);

class Reaper {
 public:
  static Reaper& Get();

  // Blocks SIGCHLD in the calling thread (call before creating any thread, so every thread
  // inherits the mask), makes this process a child subreaper and starts the reaping thread.
  absl::Status Start();

  // Calls fn(exit_code) once pid exits (at once when it already did). fn runs on the reaper
  // thread: keep it short, never block on other processes.
  void OnExit(pid_t pid, std::function<void(int exit_code)> fn);

  // Blocks until pid exits; returns its exit code.
  int Wait(pid_t pid);

  struct Command {
    std::vector<std::string> argv;  // argv[0] is looked up in PATH
    int stdin_fd = -1, stdout_fd = -1, stderr_fd = -1;  // -1: /dev/null
    std::vector<int> extra_fds;   // become fds 3, 4, ... in the child
    std::string dir;              // "" = inherit
  };
  // Forks and execs; the child gets an empty signal mask. Errors: errno codes of fork.
  absl::StatusOr<pid_t> Spawn(const Command& cmd);
  // Spawn + Wait, capturing the output when capture != nullptr (stdout+stderr combined,
  // bounded to 64 KiB). Returns the exit code.
  absl::StatusOr<int> Run(Command cmd, std::string* capture = nullptr);
};

}  // namespace berth::shim
