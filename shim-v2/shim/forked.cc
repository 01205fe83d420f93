#include "shim-v2/shim/forked.h"

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdint>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "core/fs.h"
#include "core/status.h"
#include "shim-v2/shim/reaper.h"  // ExitCodeFromWaitStatus

namespace berth::shim {
namespace {

// The answer must fit in the pipe: the parent reads it only once the child has exited, since
// the pipe's end may live on in processes the work started (a created init keeps its
// close-on-exec fds until it execs), so EOF does not mean the child is done.
constexpr size_t kMaxAnswer = 32 * 1024;

// The child's answer: 4 bytes of absl::StatusCode (native order, same process image), then the
// payload when OK or the message otherwise.
std::string Encode(const absl::StatusOr<std::string>& r) {
  uint32_t code = static_cast<uint32_t>(r.status().code());
  std::string out(reinterpret_cast<const char*>(&code), sizeof(code));
  out += r.ok() ? *r : std::string(r.status().message());
  if (out.size() > kMaxAnswer) {
    if (r.ok()) return Encode(absl::InternalError("shim helper answer too large"));
    out.resize(kMaxAnswer);  // a message, cut
  }
  return out;
}

// What is in the pipe now (non-blocking).
void ReadAvailable(int fd, std::string* out) {
  char buf[4096];
  while (true) {
    ssize_t r = read(fd, buf, sizeof(buf));
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return;
    out->append(buf, static_cast<size_t>(r));
  }
}

}  // namespace

absl::StatusOr<std::string> RunForked(absl::FunctionRef<absl::StatusOr<std::string>()> work) {
  int fds[2];
  if (pipe2(fds, O_CLOEXEC | O_NONBLOCK) != 0) return ErrnoStatus("pipe");
  pid_t pid = fork();
  if (pid < 0) {
    absl::Status st = ErrnoStatus("fork");
    close(fds[0]);
    close(fds[1]);
    return st;
  }
  if (pid == 0) {
    close(fds[0]);
    fs::WriteAll(fds[1], Encode(work()), "shim helper answer").IgnoreError();  // parent reports it
    _exit(0);
  }
  close(fds[1]);
  int ws = 0;
  while (waitpid(pid, &ws, 0) < 0 && errno == EINTR) {
  }
  int exit_code = ExitCodeFromWaitStatus(ws);
  std::string answer;
  ReadAvailable(fds[0], &answer);
  close(fds[0]);
  uint32_t code;
  if (answer.size() < sizeof(code)) {
    return absl::InternalError(
        absl::StrCat("shim helper process ", pid, " exited with status ", exit_code,
                     " before it answered"));
  }
  memcpy(&code, answer.data(), sizeof(code));
  answer.erase(0, sizeof(code));
  if (code == 0) return answer;
  return absl::Status(static_cast<absl::StatusCode>(code), answer);
}

}  // namespace berth::shim
