#include "shim-v2/shim/reaper.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <dirent.h>

#include <deque>
#include <map>
#include <set>

#include "absl/synchronization/mutex.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "core/fs.h"
#include "core/status.h"
#include "shim-v2/ttrpc/thread.h"

namespace berth::shim {
namespace {

constexpr size_t kMaxUnclaimed = 1024;

struct State {
  absl::Mutex mu;
  std::map<pid_t, std::function<void(int)>> callbacks ABSL_GUARDED_BY(mu);
  std::map<pid_t, int> exited ABSL_GUARDED_BY(mu);  // reaped by the sweep, unclaimed
  std::deque<pid_t> order ABSL_GUARDED_BY(mu);      // to bound `exited`
};

State& S() {
  static State* s = new State();
  return *s;
}

// Reaps pid if it exited; fires its callback (if registered) outside the lock.
// Returns true when it was reaped here.
bool TryReap(pid_t pid) {
  int ws = 0;
  pid_t r = waitpid(pid, &ws, WNOHANG);
  if (r != pid) return false;
  int code = ExitCodeFromWaitStatus(ws);
  std::function<void(int)> fn;
  {
    absl::MutexLock lock(&S().mu);
    auto it = S().callbacks.find(pid);
    if (it != S().callbacks.end()) {
      fn = std::move(it->second);
      S().callbacks.erase(it);
    } else {
      S().exited[pid] = code;
      S().order.push_back(pid);
      while (S().order.size() > kMaxUnclaimed) {
        S().exited.erase(S().order.front());
        S().order.pop_front();
      }
    }
  }
  if (fn) fn(code);
  return true;
}

// Zombie children of this process (every thread's children).
std::set<pid_t> ZombieChildren() {
  std::set<pid_t> out;
  DIR* d = opendir("/proc/self/task");
  if (d == nullptr) return out;
  while (dirent* e = readdir(d)) {
    if (e->d_name[0] == '.') continue;
    auto kids = berth::fs::ReadFile(absl::StrCat("/proc/self/task/", e->d_name, "/children"));
    if (!kids.ok()) continue;
    for (absl::string_view t : absl::StrSplit(*kids, ' ', absl::SkipEmpty())) {
      int pid;
      if (!absl::SimpleAtoi(absl::StripAsciiWhitespace(t), &pid)) continue;
      auto stat = berth::fs::ReadFile(absl::StrCat("/proc/", pid, "/stat"));
      if (!stat.ok()) continue;
      size_t p = stat->rfind(')');
      if (p != std::string::npos && p + 2 < stat->size() && (*stat)[p + 2] == 'Z') out.insert(pid);
    }
  }
  closedir(d);
  return out;
}

void Loop() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGCHLD);
  std::set<pid_t> seen_zombies;
  absl::Time last_sweep = absl::Now();
  bool sweep_due = false;
  while (true) {
    siginfo_t info;
    // An idle shim sleeps here until a child changes state: no periodic wake-up (each one
    // faulted the sweep's code back into every idle shim's RSS). A timeout only while a sweep
    // is due or an unclaimed zombie waits for its second look. One wake-up covers SIGCHLDs
    // merged into one: every registered pid is tried.
    if (seen_zombies.empty() && !sweep_due) {
      sigwaitinfo(&set, &info);
    } else {
      timespec ts{2, 0};
      sigtimedwait(&set, &info, &ts);
    }
    // Only registered pids are waited for: other children belong to code that waits for them
    // itself (the executor waits for its helper processes), and must not be stolen.
    std::vector<pid_t> pids;
    {
      absl::MutexLock lock(&S().mu);
      for (const auto& [pid, fn] : S().callbacks) pids.push_back(pid);
    }
    for (pid_t pid : pids) TryReap(pid);
    if (absl::Now() - last_sweep < absl::Seconds(2)) {
      sweep_due = true;
      continue;
    }
    sweep_due = false;
    last_sweep = absl::Now();
    // Orphans re-parented to us (subreaper) that nobody claims: reap a zombie once it has
    // been seen twice, two seconds apart.
    std::set<pid_t> now = ZombieChildren();
    for (pid_t pid : now) {
      if (seen_zombies.count(pid) != 0) TryReap(pid);
    }
    seen_zombies = std::move(now);
  }
}

}  // namespace

int ExitCodeFromWaitStatus(int ws) {
  if (WIFEXITED(ws)) return WEXITSTATUS(ws);
  if (WIFSIGNALED(ws)) return 128 + WTERMSIG(ws);
  return 255;
}

Reaper& Reaper::Get() {
  static Reaper* r = new Reaper();
  return *r;
}

absl::Status Reaper::Start() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGCHLD);
  if (int rc = pthread_sigmask(SIG_BLOCK, &set, nullptr); rc != 0) {
    return ErrnoStatus(rc, "block SIGCHLD");
  }
  if (prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0) return ErrnoStatus("PR_SET_CHILD_SUBREAPER");
  return ttrpc::StartDetached(Loop, 64 * 1024);
}

void Reaper::OnExit(pid_t pid, std::function<void(int)> fn) {
  int code;
  {
    absl::MutexLock lock(&S().mu);
    auto it = S().exited.find(pid);
    if (it == S().exited.end()) {
      S().callbacks[pid] = std::move(fn);
      code = -1;
    } else {
      code = it->second;
      S().exited.erase(it);
    }
  }
  if (code >= 0) {
    fn(code);
    return;
  }
  // It may have exited already (its SIGCHLD consumed before it was registered).
  TryReap(pid);
}

int Reaper::Wait(pid_t pid) {
  absl::Mutex mu;
  bool done = false;
  int code = 0;
  OnExit(pid, [&](int c) {
    absl::MutexLock lock(&mu);
    code = c;
    done = true;
  });
  absl::MutexLock lock(&mu);
  mu.Await(absl::Condition(&done));
  return code;
}

absl::StatusOr<pid_t> Reaper::Spawn(const Command& cmd) {
  // Everything the child needs is prepared before fork: after fork only system calls.
  std::vector<char*> argv;
  for (const auto& a : cmd.argv) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  int devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
  pid_t pid = fork();
  if (pid < 0) {
    absl::Status st = ErrnoStatus("fork");
    if (devnull >= 0) close(devnull);
    return st;
  }
  if (pid == 0) {
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    signal(SIGPIPE, SIG_DFL);
    // Move the sources above the targets first so dup2 never clobbers a source.
    int src[3 + 16];
    int n = 0;
    src[n++] = cmd.stdin_fd >= 0 ? cmd.stdin_fd : devnull;
    src[n++] = cmd.stdout_fd >= 0 ? cmd.stdout_fd : devnull;
    src[n++] = cmd.stderr_fd >= 0 ? cmd.stderr_fd : devnull;
    for (size_t i = 0; i < cmd.extra_fds.size() && n < 19; ++i) src[n++] = cmd.extra_fds[i];
    for (int i = 0; i < n; ++i) src[i] = fcntl(src[i], F_DUPFD_CLOEXEC, 100);
    for (int i = 0; i < n; ++i) {
      if (src[i] < 0 || dup2(src[i], i) < 0) _exit(127);
    }
    if (!cmd.dir.empty() && chdir(cmd.dir.c_str()) != 0) _exit(127);
    execvp(argv[0], argv.data());
    _exit(127);
  }
  if (devnull >= 0) close(devnull);
  return pid;
}

absl::StatusOr<int> Reaper::Run(Command cmd, std::string* capture) {
  int pipefd[2] = {-1, -1};
  if (capture != nullptr) {
    if (pipe2(pipefd, O_CLOEXEC) != 0) return ErrnoStatus("pipe");
    if (cmd.stdout_fd < 0) cmd.stdout_fd = pipefd[1];
    if (cmd.stderr_fd < 0) cmd.stderr_fd = pipefd[1];
  }
  absl::StatusOr<pid_t> pid = Spawn(cmd);
  if (pipefd[1] >= 0) close(pipefd[1]);
  if (!pid.ok()) {
    if (pipefd[0] >= 0) close(pipefd[0]);
    return pid.status();
  }
  if (capture != nullptr) {
    char buf[4096];
    ssize_t r;
    while ((r = read(pipefd[0], buf, sizeof(buf))) != 0) {
      if (r < 0) {
        if (errno == EINTR) continue;
        break;
      }
      if (capture->size() < 64 * 1024) capture->append(buf, static_cast<size_t>(r));
    }
    close(pipefd[0]);
  }
  return Wait(*pid);
}

}  // namespace berth::shim
