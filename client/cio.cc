#include "client/cio.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>

#include "absl/strings/str_cat.h"
#include "core/fs.h"
#include "core/status.h"

namespace berth::client {
namespace {

// Waits for `fd` readable or the cancel pipe; false when cancelled.
bool PollReadable(int fd, int cancel_fd) {
  pollfd p[2] = {{fd, POLLIN, 0}, {cancel_fd, POLLIN, 0}};
  while (true) {
    int r = poll(p, 2, -1);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) return false;
    if (p[1].revents) return false;
    if (p[0].revents) return true;
  }
}

}  // namespace

absl::StatusOr<FifoSet> NewFifoSet(const std::string& base_dir, const std::string& id,
                                   bool with_stdin, bool terminal) {
  if (mkdir(base_dir.c_str(), 0700) != 0 && errno != EEXIST) {
    return ErrnoStatus(absl::StrCat("mkdir ", base_dir));
  }
  std::string tmpl = absl::StrCat(base_dir, "/", id, "-XXXXXX");
  if (mkdtemp(tmpl.data()) == nullptr) return ErrnoStatus(absl::StrCat("mkdtemp ", tmpl));
  FifoSet set;
  set.dir = tmpl;
  set.terminal = terminal;
  set.out = absl::StrCat(set.dir, "/", id, "-stdout");
  if (with_stdin) set.in = absl::StrCat(set.dir, "/", id, "-stdin");
  if (!terminal) set.err = absl::StrCat(set.dir, "/", id, "-stderr");
  for (const std::string* p : {&set.in, &set.out, &set.err}) {
    if (!p->empty() && mkfifo(p->c_str(), 0600) != 0) {
      absl::Status s = ErrnoStatus(absl::StrCat("mkfifo ", *p));
      RemoveFifoSet(set).IgnoreError();
      return s;
    }
  }
  return set;
}

absl::Status RemoveFifoSet(const FifoSet& set) {
  for (const std::string* p : {&set.in, &set.out, &set.err}) {
    if (!p->empty()) unlink(p->c_str());
  }
  if (!set.dir.empty() && rmdir(set.dir.c_str()) != 0 && errno != ENOENT) {
    return ErrnoStatus(absl::StrCat("rmdir ", set.dir));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<Attachment>> Attachment::Open(const FifoSet& set,
                                                             LocalStreams local,
                                                             std::function<void()> on_eof) {
  std::unique_ptr<Attachment> a(new Attachment());
  if (pipe2(a->cancel_pipe_, O_CLOEXEC) != 0) return ErrnoStatus("cancel pipe");
  // Read ends open non-blocking right away: the shim's non-blocking writer open then finds a
  // reader. poll() reports POLLHUP only after a writer came and went, so a not-yet-opened
  // writer does not read as EOF.
  std::vector<std::pair<int, int>> outs;
  for (auto [path, fd] : {std::pair{set.out, local.out}, std::pair{set.err, local.err}}) {
    if (path.empty()) continue;
    int f = open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (f < 0) {
      absl::Status s = ErrnoStatus(absl::StrCat("open ", path));
      for (auto& [o, l] : outs) close(o);
      return s;
    }
    outs.emplace_back(f, fd);
  }
  a->outputs_open_ = static_cast<int>(outs.size());
  for (auto [f, l] : outs) a->threads_.emplace_back(&Attachment::CopyOut, a.get(), f, l);
  if (!set.in.empty()) {
    a->stdin_path_ = set.in;
    a->stdin_thread_ = std::thread(&Attachment::CopyIn, a.get(), set.in, local.in,
                                   std::move(on_eof));
  }
  return a;
}

void Attachment::CopyOut(int fifo_fd, int local_fd) {
  char buf[32 * 1024];
  while (PollReadable(fifo_fd, cancel_pipe_[0])) {
    ssize_t r = read(fifo_fd, buf, sizeof(buf));
    if (r < 0 && (errno == EINTR || errno == EAGAIN)) continue;
    if (r <= 0) break;  // EOF: every writer closed
    // A closed local side must not stop the drain: the process would block on a full fifo.
    absl::string_view chunk(buf, static_cast<size_t>(r));
    if (local_fd >= 0 && !fs::WriteAll(local_fd, chunk, "local output").ok()) local_fd = -1;
  }
  close(fifo_fd);
  outputs_open_.fetch_sub(1);
}

void Attachment::CopyIn(std::string path, int local_fd, std::function<void()> on_eof) {
  // Blocks until the shim opens its reader (or Cancel opens one for us).
  int fifo = open(path.c_str(), O_WRONLY | O_CLOEXEC);
  stdin_opened_ = true;
  if (fifo < 0) return;
  char buf[32 * 1024];
  bool eof = local_fd < 0;
  while (!eof && PollReadable(local_fd, cancel_pipe_[0])) {
    ssize_t r = read(local_fd, buf, sizeof(buf));
    if (r < 0 && (errno == EINTR || errno == EAGAIN)) continue;
    if (r <= 0 || !fs::WriteAll(fifo, absl::string_view(buf, static_cast<size_t>(r)), path).ok()) {
      eof = true;
    }
  }
  close(fifo);
  // Only a real end of input closes the process's stdin; a cancel means it is gone anyway.
  if (eof && on_eof) on_eof();
}

bool Attachment::WaitOutput(absl::Duration timeout) {
  absl::Time deadline = absl::Now() + timeout;
  while (outputs_open_.load() > 0) {
    if (absl::Now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return true;
}

void Attachment::Cancel() {
  if (cancel_pipe_[1] >= 0) {
    char c = 1;
    (void)!write(cancel_pipe_[1], &c, 1);
  }
  if (!stdin_path_.empty() && !stdin_opened_) {
    // A writer blocked in open() waits for a reader: be that reader for a moment.
    int r = open(stdin_path_.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    for (int i = 0; i < 200 && !stdin_opened_; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    if (r >= 0) close(r);
  }
}

Attachment::~Attachment() {
  Cancel();
  for (auto& t : threads_) t.join();
  if (stdin_thread_.joinable()) stdin_thread_.join();
  for (int fd : cancel_pipe_) {
    if (fd >= 0) close(fd);
  }
}

}  // namespace berth::client
