#include "cmd/berthctl/attach.h"

#include <pthread.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

#include <atomic>
#include <future>
#include <thread>

#include "client/cio.h"

namespace berth::ctl {
namespace {

sigset_t ForwardedSet() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGWINCH);
  return set;
}

// Raw mode on stdin for the life of the object (only when stdin is a terminal).
class RawTerminal {
 public:
  explicit RawTerminal(bool enable) {
    if (!enable || isatty(STDIN_FILENO) != 1 || tcgetattr(STDIN_FILENO, &saved_) != 0) return;
    termios raw = saved_;
    cfmakeraw(&raw);
    active_ = tcsetattr(STDIN_FILENO, TCSANOW, &raw) == 0;
  }
  ~RawTerminal() {
    if (active_) tcsetattr(STDIN_FILENO, TCSANOW, &saved_);
  }

 private:
  termios saved_{};
  bool active_ = false;
};

void Resize(client::Client& c, const AttachedProcess& p) {
  winsize ws{};
  int fd = isatty(STDIN_FILENO) ? STDIN_FILENO : STDOUT_FILENO;
  if (ioctl(fd, TIOCGWINSZ, &ws) != 0 || ws.ws_col == 0) return;
  c.tasks().ResizePty(p.container_id, p.exec_id, ws.ws_col, ws.ws_row).IgnoreError();
}

}  // namespace

void BlockForwardedSignals() {
  sigset_t set = ForwardedSet();
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
}

absl::StatusOr<client::FifoSet> MakeFifos(const std::string& id, bool interactive, bool tty) {
  auto set = client::NewFifoSet("/run/berthctl", id, interactive, tty);
  if (set.ok()) return set;
  return client::NewFifoSet("/tmp/berthctl", id, interactive, tty);
}

absl::StatusOr<int> RunAttached(client::Client& c, const AttachedProcess& p,
                                const client::FifoSet& fifos,
                                const std::function<absl::Status()>& create,
                                const std::function<absl::Status()>& start) {
  client::LocalStreams local;
  local.in = p.interactive ? STDIN_FILENO : -1;
  auto attachment = client::Attachment::Open(fifos, local, [&c, p] {
    c.tasks().CloseStdin(p.container_id, p.exec_id).IgnoreError();
  });
  if (!attachment.ok()) return attachment.status();
  if (absl::Status s = create(); !s.ok()) {
    (*attachment)->Cancel();
    return s;
  }
  // Wait before Start so a quick exit is never missed. Detached: when Start fails the Wait
  // may never return, and berthctl exits soon after anyway.
  auto promise = std::make_shared<std::promise<absl::StatusOr<client::ExitStatus>>>();
  auto exited = promise->get_future();
  std::thread([&c, p, promise] {
    promise->set_value(c.tasks().Wait(p.container_id, p.exec_id));
  }).detach();
  RawTerminal raw(p.tty && p.interactive);
  if (absl::Status s = start(); !s.ok()) {
    (*attachment)->Cancel();
    return s;
  }
  if (p.tty) Resize(c, p);
  std::atomic<bool> done{false};
  std::thread signals([&] {
    sigset_t set = ForwardedSet();
    timespec tick{0, 100 * 1000 * 1000};
    while (!done) {
      int sig = sigtimedwait(&set, nullptr, &tick);
      if (sig == SIGWINCH && p.tty) {
        Resize(c, p);
      } else if (sig == SIGINT || sig == SIGTERM) {
        c.tasks().Kill(p.container_id, static_cast<uint32_t>(sig), false, p.exec_id).IgnoreError();
      }
    }
  });
  absl::StatusOr<client::ExitStatus> status = exited.get();
  // Output may lag the exit a little; a background process holding it must not hang us.
  (*attachment)->WaitOutput(absl::Seconds(2));
  (*attachment)->Cancel();
  done = true;
  signals.join();
  if (!status.ok()) return status.status();
  return static_cast<int>(status->code);
}

}  // namespace berth::ctl
