#include "core/status_macros.h"
#include "cri/io.h"

#include <fcntl.h>
#include <cerrno>
#include <poll.h>
#include <sys/stat.h>
#include <unistd.h>

#include "absl/strings/str_cat.h"
#include "core/fs.h"
#include "core/status.h"
#include "cri/log_format.h"

namespace berth::cri {

absl::Status MakeFifo(const std::string& path) {
  ::unlink(path.c_str());
  if (::mkfifo(path.c_str(), 0600) != 0) return ErrnoStatus(absl::StrCat("mkfifo ", path));
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<FifoPump>> FifoPump::Start(const std::vector<std::string>& paths,
                                                          DataFn on_data, EofFn on_eof) {
  std::vector<int> fds;
  for (const auto& p : paths) {
    int fd = ::open(p.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) {
      absl::Status st = ErrnoStatus(absl::StrCat("open fifo ", p));
      for (int f : fds) ::close(f);
      return st;
    }
    fds.push_back(fd);
  }
  auto pump = std::unique_ptr<FifoPump>(new FifoPump(std::move(fds), std::move(on_data), std::move(on_eof)));
  pump->thread_ = std::thread([p = pump.get()] { p->Run(); });
  return pump;
}

FifoPump::FifoPump(std::vector<int> fds, DataFn on_data, EofFn on_eof)
    : fds_(std::move(fds)), on_data_(std::move(on_data)), on_eof_(std::move(on_eof)) {}

FifoPump::~FifoPump() {
  Stop();
  for (int fd : fds_) {
    if (fd >= 0) ::close(fd);
  }
}

void FifoPump::Stop() {
  stop_ = true;
  if (thread_.joinable()) thread_.join();
}

bool FifoPump::WaitDone(absl::Duration timeout) {
  absl::MutexLock lock(&mu_);
  return mu_.AwaitWithTimeout(absl::Condition(&done_), timeout);
}

void FifoPump::Run() {
  char buf[32 * 1024];
  size_t open_count = fds_.size();
  while (open_count > 0) {
    std::vector<pollfd> pfds;
    std::vector<int> index;
    for (size_t i = 0; i < fds_.size(); ++i) {
      if (fds_[i] < 0) continue;
      pfds.push_back({fds_[i], POLLIN, 0});
      index.push_back(static_cast<int>(i));
    }
    bool stopping = stop_.load();
    int n = ::poll(pfds.data(), pfds.size(), stopping ? 0 : 200);
    if (n < 0 && errno != EINTR) break;
    for (size_t k = 0; n > 0 && k < pfds.size(); ++k) {
      if (pfds[k].revents == 0) continue;
      int i = index[k];
      ssize_t r = ::read(fds_[i], buf, sizeof(buf));
      if (r > 0) {
        on_data_(i, buf, static_cast<size_t>(r));
      } else if (r == 0 || (r < 0 && errno != EAGAIN && errno != EINTR)) {
        // POLLHUP with nothing left to read: every writer closed.
        ::close(fds_[i]);
        fds_[i] = -1;
        --open_count;
        if (on_eof_) on_eof_(i);
      }
    }
    if (stopping && n <= 0) break;  // drained what was readable when Stop() came
  }
  absl::MutexLock lock(&mu_);
  done_ = true;
}

std::string StdinFifoBeside(const std::string& stdout_fifo) {
  size_t slash = stdout_fifo.rfind('/');
  return (slash == std::string::npos ? std::string(".") : stdout_fifo.substr(0, slash)) + "/stdin";
}

AttachPoint::~AttachPoint() { CloseStdin(); }

int AttachPoint::AddTap(TapFn fn) {
  absl::MutexLock lock(&mu_);
  int id = next_tap_++;
  taps_[id] = std::move(fn);
  return id;
}

void AttachPoint::RemoveTap(int id) {
  // Publish holds mu_ while calling taps, so taking it here waits out a running call.
  absl::MutexLock lock(&mu_);
  taps_.erase(id);
}

void AttachPoint::Publish(int stream, absl::string_view data) {
  absl::MutexLock lock(&mu_);
  for (auto& [id, fn] : taps_) fn(stream, data);
}

void AttachPoint::MarkEnded() {
  absl::MutexLock lock(&mu_);
  ended_ = true;
}

bool AttachPoint::ended() {
  absl::MutexLock lock(&mu_);
  return ended_;
}

bool AttachPoint::WaitEnded(absl::Duration timeout) {
  absl::MutexLock lock(&mu_);
  return mu_.AwaitWithTimeout(absl::Condition(&ended_), timeout);
}

absl::Status AttachPoint::OpenStdin(const std::string& path, bool once) {
  BERTH_RETURN_IF_ERROR(MakeFifo(path));
  // O_RDWR on a fifo never blocks (Linux) and makes us a writer before the shim's reader comes.
  int fd = ::open(path.c_str(), O_RDWR | O_CLOEXEC);
  if (fd < 0) return ErrnoStatus(absl::StrCat("open stdin fifo ", path));
  absl::MutexLock lock(&stdin_mu_);
  if (stdin_fd_ >= 0) ::close(stdin_fd_);
  stdin_fd_ = fd;
  has_stdin_ = true;
  stdin_once_ = once;
  return absl::OkStatus();
}

bool AttachPoint::has_stdin() {
  absl::MutexLock lock(&stdin_mu_);
  return has_stdin_;
}

bool AttachPoint::stdin_once() {
  absl::MutexLock lock(&stdin_mu_);
  return stdin_once_;
}

absl::Status AttachPoint::WriteStdin(absl::string_view data) {
  absl::MutexLock lock(&stdin_mu_);
  if (stdin_fd_ < 0) {
    return absl::FailedPreconditionError(has_stdin_ ? "container stdin is closed"
                                                    : "container has no stdin");
  }
  while (!data.empty()) {
    ssize_t n = ::write(stdin_fd_, data.data(), data.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return ErrnoStatus("write container stdin");
    data.remove_prefix(static_cast<size_t>(n));
  }
  return absl::OkStatus();
}

void AttachPoint::CloseStdin() {
  absl::MutexLock lock(&stdin_mu_);
  if (stdin_fd_ >= 0) ::close(stdin_fd_);
  stdin_fd_ = -1;
}

struct ContainerLogger::State {
  absl::Mutex mu;
  std::string path;
  int fd ABSL_GUARDED_BY(mu) = -1;
  CriLineSplitter out, err;
  State(std::string p, int max) : path(std::move(p)), out("stdout", max), err("stderr", max) {}
  ~State() {
    absl::MutexLock lock(&mu);
    if (fd >= 0) ::close(fd);
  }
  absl::Status Open() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) {
    if (fd >= 0) ::close(fd);
    fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
    if (fd < 0) return ErrnoStatus(absl::StrCat("open container log ", path));
    return absl::OkStatus();
  }
  void Write(const std::vector<std::string>& lines) {
    absl::MutexLock lock(&mu);
    if (fd < 0) return;  // a failed reopen drops output, as containerd does, until the next one
    for (const auto& l : lines) {
      [[maybe_unused]] ssize_t w = ::write(fd, l.data(), l.size());
    }
  }
};

absl::StatusOr<std::unique_ptr<ContainerLogger>> ContainerLogger::Start(
    const std::string& stdout_fifo, const std::string& stderr_fifo, const std::string& log_path,
    int max_line) {
  auto logger = std::unique_ptr<ContainerLogger>(new ContainerLogger());
  logger->state_ = std::make_shared<State>(log_path, max_line);
  if (!log_path.empty()) {
    BERTH_RETURN_IF_ERROR(fs::MkdirAll(fs::Dirname(log_path), 0755));
    absl::MutexLock lock(&logger->state_->mu);
    BERTH_RETURN_IF_ERROR(logger->state_->Open());
  }
  auto st = logger->state_;
  auto ap = logger->attach_;
  auto eofs = std::make_shared<int>(0);  // only touched on the pump thread
  BERTH_ASSIGN_OR_RETURN(
      logger->pump_,
      FifoPump::Start(
          {stdout_fifo, stderr_fifo},
          [st, ap](int i, const char* d, size_t n) {
            std::vector<std::string> lines;
            (i == 0 ? st->out : st->err).Feed(absl::string_view(d, n), absl::Now(), &lines);
            st->Write(lines);
            ap->Publish(i, absl::string_view(d, n));
          },
          [st, ap, eofs](int i) {
            std::vector<std::string> lines;
            (i == 0 ? st->out : st->err).Flush(absl::Now(), &lines);
            st->Write(lines);
            if (++*eofs == 2) ap->MarkEnded();
          }));
  return logger;
}

ContainerLogger::~ContainerLogger() {
  pump_.reset();
  attach_->MarkEnded();
  attach_->CloseStdin();
}

absl::Status ContainerLogger::Reopen() {
  absl::MutexLock lock(&state_->mu);
  if (state_->path.empty()) return absl::OkStatus();
  return state_->Open();
}

}  // namespace berth::cri
