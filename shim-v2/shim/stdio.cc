#include "shim-v2/shim/stdio.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <termios.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>

#include "absl/strings/match.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "core/fd_passing.h"
#include "core/status.h"
#include "core/status_macros.h"
#include "shim-v2/shim/log.h"
#include "shim-v2/shim/reaper.h"
#include "shim-v2/ttrpc/thread.h"

namespace berth::shim {
namespace {

// Copies until EOF/error on either side; closes dst when done if close_dst.
void Copy(int src, int dst) {
  char buf[8192];
  while (true) {
    ssize_t r = read(src, buf, sizeof(buf));
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return;
    for (ssize_t off = 0; off < r;) {
      ssize_t w = write(dst, buf + off, static_cast<size_t>(r - off));
      if (w < 0 && errno == EINTR) continue;
      if (w <= 0) return;
      off += w;
    }
  }
}

// How long a fifo's writer waits for its reader (OpenWriter).
constexpr absl::Duration kReaderWait = absl::Seconds(2);

// Opens a fifo (or file) for writing. The process gets the fifo itself (no copy thread in
// between), so what it writes before anyone reads sits in the fifo - and is gone if every end
// closes first. Go clients (ctr, containerd's cio) open their reading end from a goroutine that
// a loaded machine may not have run yet: a write-only open then fails (ENXIO), and a fast `pwd`
// would write, exit and leave nothing to read. So it polls for the reader for up to
// kReaderWait (containerd's shim blocks in open), and only then opens the fifo O_RDWR, which
// Linux allows and which never blocks.
absl::StatusOr<int> OpenWriter(const std::string& path) {
  int fd = open(path.c_str(), O_WRONLY | O_NONBLOCK | O_CLOEXEC);
  const absl::Time deadline = absl::Now() + kReaderWait;
  for (absl::Duration pause = absl::Microseconds(100);
       fd < 0 && errno == ENXIO && absl::Now() < deadline;
       pause = std::min(pause * 2, absl::Milliseconds(10))) {
    absl::SleepFor(pause);
    fd = open(path.c_str(), O_WRONLY | O_NONBLOCK | O_CLOEXEC);
  }
  if (fd < 0 && errno == ENXIO) fd = open(path.c_str(), O_RDWR | O_CLOEXEC);
  if (fd < 0) {
    // Not a fifo yet: a plain file.
    fd = open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
  }
  if (fd < 0) return ErrnoStatus(absl::StrCat("open ", path));
  int fl = fcntl(fd, F_GETFL);
  fcntl(fd, F_SETFL, fl & ~O_NONBLOCK);
  return fd;
}

absl::StatusOr<int> RecvFd(int sock) {
  char name[1];  // the sender's terminal name: not needed
  int fd;
  ssize_t n = fdpass::RecvWithFd(sock, name, sizeof(name), &fd);
  if (n < 0) return ErrnoStatus(static_cast<int>(-n), "recvmsg console");
  if (fd < 0) return absl::InternalError("console socket: no fd received");
  return fd;
}

}  // namespace

absl::StatusOr<std::unique_ptr<ProcessIo>> ProcessIo::Open(const StdioPaths& paths,
                                                           const std::string& container_id,
                                                           const std::string& ns) {
  std::unique_ptr<ProcessIo> io(new ProcessIo());
  io->paths_ = paths;
  if (paths.terminal) {
    BERTH_RETURN_IF_ERROR(io->SetupConsoleSocket());
    return io;
  }
  if (!paths.in.empty()) {
    int p[2];
    if (pipe2(p, O_CLOEXEC) != 0) return ErrnoStatus("stdin pipe");
    io->child_.in = p[0];
    io->owned_child_fds_.push_back(p[0]);
    io->stdin_write_ = p[1];
  }
  if (!paths.out.empty()) {
    BERTH_RETURN_IF_ERROR(io->OpenOutput(paths.out, &io->child_.out, container_id, ns));
  }
  if (!paths.err.empty()) {
    if (paths.err == paths.out) {
      io->child_.err = io->child_.out;
    } else {
      BERTH_RETURN_IF_ERROR(io->OpenOutput(paths.err, &io->child_.err, container_id, ns));
    }
  }
  return io;
}

absl::Status ProcessIo::OpenOutput(const std::string& uri, int* fd, const std::string& id,
                                   const std::string& ns) {
  if (absl::StartsWith(uri, "file://")) {
    std::string path = uri.substr(7);
    *fd = open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
    if (*fd < 0) return ErrnoStatus(absl::StrCat("open log file ", path));
  } else if (absl::StartsWith(uri, "binary://")) {
    // containerd's logging binary protocol: fd 3 stdout, fd 4 stderr, fd 5 "ready" pipe,
    // env CONTAINER_ID / CONTAINER_NAMESPACE. One binary serves both streams.
    std::string rest = uri.substr(9);
    std::vector<std::string> parts = absl::StrSplit(rest, absl::MaxSplits('?', 1));
    int out[2], err[2], ready[2];
    if (pipe2(out, O_CLOEXEC) || pipe2(err, O_CLOEXEC) || pipe2(ready, O_CLOEXEC)) {
      return ErrnoStatus("logging binary pipes");
    }
    setenv("CONTAINER_ID", id.c_str(), 1);
    setenv("CONTAINER_NAMESPACE", ns.c_str(), 1);
    Reaper::Command cmd;
    cmd.argv = {parts[0]};
    if (parts.size() > 1) {
      for (absl::string_view kv : absl::StrSplit(parts[1], '&', absl::SkipEmpty())) {
        cmd.argv.push_back(std::string(kv));
      }
    }
    cmd.extra_fds = {out[0], err[0], ready[1]};
    absl::StatusOr<pid_t> pid = Reaper::Get().Spawn(cmd);
    close(out[0]);
    close(err[0]);
    close(ready[1]);
    if (!pid.ok()) return pid.status();
    Reaper::Get().OnExit(*pid, [](int) {});
    char c;
    while (read(ready[0], &c, 1) < 0 && errno == EINTR) {
    }
    close(ready[0]);
    *fd = out[1];
    child_.err = err[1];
    owned_child_fds_.push_back(err[1]);
  } else {
    BERTH_ASSIGN_OR_RETURN(*fd, OpenWriter(uri));
  }
  owned_child_fds_.push_back(*fd);
  return absl::OkStatus();
}

absl::Status ProcessIo::SetupConsoleSocket() {
  char tmpl[] = "/tmp/berth-pty-XXXXXX";
  if (mkdtemp(tmpl) == nullptr) return ErrnoStatus("mkdtemp console");
  console_dir_ = tmpl;
  console_path_ = console_dir_ + "/pty.sock";
  console_listen_ = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (console_listen_ < 0) return ErrnoStatus("console socket");
  sockaddr_un sa{};
  sa.sun_family = AF_UNIX;
  strncpy(sa.sun_path, console_path_.c_str(), sizeof(sa.sun_path) - 1);
  if (bind(console_listen_, reinterpret_cast<sockaddr*>(&sa), sizeof(sa)) != 0 ||
      listen(console_listen_, 1) != 0) {
    return ErrnoStatus("bind console socket");
  }
  return absl::OkStatus();
}

absl::Status ProcessIo::StartStdinCopy(const std::string& path, int dst) {
  return ttrpc::StartDetached(
      [path, dst] {
        // Blocks until the client opens its writing end.
        int src = open(path.c_str(), O_RDONLY | O_CLOEXEC);
        if (src >= 0) {
          Copy(src, dst);
          close(src);
        }
        close(dst);
      },
      64 * 1024);
}

absl::Status ProcessIo::AfterStart() {
  for (int fd : owned_child_fds_) close(fd);
  owned_child_fds_.clear();
  if (!paths_.terminal) {
    if (stdin_write_ >= 0) {
      int dst = stdin_write_;
      stdin_write_ = -1;  // the copy thread owns it now
      BERTH_RETURN_IF_ERROR(StartStdinCopy(paths_.in, dst));
    }
    return absl::OkStatus();
  }
  // The runtime has sent the master by the time create returned; don't wait forever anyway.
  pollfd pfd{console_listen_, POLLIN, 0};
  if (poll(&pfd, 1, 10000) != 1) return absl::DeadlineExceededError("no pty master received");
  int conn = accept4(console_listen_, nullptr, nullptr, SOCK_CLOEXEC);
  if (conn < 0) return ErrnoStatus("accept console");
  absl::StatusOr<int> master = RecvFd(conn);
  close(conn);
  close(console_listen_);
  console_listen_ = -1;
  unlink(console_path_.c_str());
  rmdir(console_dir_.c_str());
  if (!master.ok()) return master.status();
  {
    absl::MutexLock lock(&mu_);
    master_ = *master;
  }
  int m = *master;
  if (!paths_.out.empty()) {
    absl::StatusOr<int> out = OpenWriter(paths_.out);
    if (!out.ok()) return out.status();
    // The copy thread owns a duplicate: it may still drain after this ProcessIo is gone.
    int out_master = fcntl(m, F_DUPFD_CLOEXEC, 0);
    if (out_master < 0) {
      close(*out);
      return ErrnoStatus("dup pty master");
    }
    absl::Status started = ttrpc::StartDetached(
        [out_master, o = *out] {
          Copy(out_master, o);  // ends with EIO once the process and its children closed the pty
          close(out_master);
          close(o);
        },
        64 * 1024);
    if (!started.ok()) {
      close(out_master);
      close(*out);
      return started;
    }
  }
  if (!paths_.in.empty()) {
    int in_master = fcntl(m, F_DUPFD_CLOEXEC, 0);
    if (in_master < 0) return ErrnoStatus("dup pty master");
    BERTH_RETURN_IF_ERROR(StartStdinCopy(paths_.in, in_master));
  }
  return absl::OkStatus();
}

void ProcessIo::CloseStdin() {
  absl::MutexLock lock(&mu_);
  stdin_closed_ = true;
  // Non-terminal: the copy thread ends at the fifo's EOF (the client closed its end before
  // calling CloseIO). Terminal: send EOF (^D) the way containerd's shim does.
  if (master_ >= 0) {
    char eot = 4;
    ssize_t w = write(master_, &eot, 1);
    (void)w;
  }
}

absl::Status ProcessIo::Resize(uint32_t width, uint32_t height) {
  absl::MutexLock lock(&mu_);
  if (master_ < 0) return absl::FailedPreconditionError("process has no terminal");
  winsize ws{};
  ws.ws_col = static_cast<unsigned short>(width);
  ws.ws_row = static_cast<unsigned short>(height);
  if (ioctl(master_, TIOCSWINSZ, &ws) != 0) return ErrnoStatus("TIOCSWINSZ");
  return absl::OkStatus();
}

ProcessIo::~ProcessIo() {
  for (int fd : owned_child_fds_) close(fd);
  if (stdin_write_ >= 0) close(stdin_write_);
  if (console_listen_ >= 0) {
    close(console_listen_);
    unlink(console_path_.c_str());
    rmdir(console_dir_.c_str());
  }
  absl::MutexLock lock(&mu_);
  // The copy threads hold their own duplicates of the master (they may still be draining).
  if (master_ >= 0) close(master_);
}

}  // namespace berth::shim
