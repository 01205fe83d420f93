#include "cri/streaming/remotecommand.h"

#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <thread>

#include "absl/strings/str_cat.h"
#include "core/status.h"
#include "core/status_macros.h"
#include "nlohmann/json.hpp"

namespace berth::cri::streaming {
namespace {

void CloseFd(int& fd) {
  if (fd >= 0) close(fd);
  fd = -1;
}

absl::Status MakePair(int fds[2]) {
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) != 0) {
    return ErrnoStatus("streaming: socketpair");
  }
  return absl::OkStatus();
}

// Copies our end of an output pair to the client until EOF; after a send error keeps
// draining so a runtime writing to a departed client does not block forever.
void Pump(int fd, Channel channel, CommandOutput& out) {
  char buf[32 * 1024];
  bool client_ok = true;
  while (true) {
    ssize_t n = read(fd, buf, sizeof(buf));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;
    if (client_ok) client_ok = out.Send(channel, absl::string_view(buf, n)).ok();
  }
}

}  // namespace

std::string FormatStatus(StatusFormat format, const absl::StatusOr<int>& result) {
  bool success = result.ok() && *result == 0;
  std::string message;
  if (result.ok() && *result != 0) {
    message = absl::StrCat("command terminated with non-zero exit code: exit status ", *result);
  } else if (!result.ok()) {
    message = absl::StrCat("Internal error occurred: ", result.status().message());
  }
  if (format == StatusFormat::kText) return success ? "" : message;
  // metav1.Status as kubelet marshals it (pkg/kubelet/cri/streaming/remotecommand/exec.go).
  nlohmann::ordered_json status;
  status["metadata"] = nlohmann::json::object();
  status["status"] = success ? "Success" : "Failure";
  if (!success) status["message"] = message;
  if (result.ok() && *result != 0) {
    status["reason"] = "NonZeroExitCode";
    status["details"]["causes"] = {{{"reason", "ExitCode"}, {"message", std::to_string(*result)}}};
  } else if (!result.ok()) {
    status["reason"] = "InternalError";
    status["details"]["causes"] = {{{"message", std::string(result.status().message())}}};
    status["code"] = 500;
  }
  return status.dump();
}

std::vector<TerminalSize> ResizeDecoder::Feed(absl::string_view bytes) {
  std::vector<TerminalSize> out;
  pending_.append(bytes.data(), bytes.size());
  size_t start = 0;
  while (true) {
    size_t open = pending_.find('{', start);
    if (open == std::string::npos) {
      pending_.clear();
      return out;
    }
    // Objects hold two numbers, so no nesting or strings with braces: the next '}' ends one.
    size_t close_at = pending_.find('}', open);
    if (close_at == std::string::npos) break;
    nlohmann::json obj = nlohmann::json::parse(pending_.substr(open, close_at - open + 1),
                                               nullptr, /*allow_exceptions=*/false);
    // uint16 fields, as in kubelet's TerminalSize: a larger number is malformed (kubelet's
    // decoder refuses it), not a size modulo 65536.
    auto dimension = [&obj](const char* key) {
      auto it = obj.find(key);
      return it != obj.end() && it->is_number_unsigned() && it->get<uint64_t>() <= 0xffff;
    };
    if (obj.is_object() && dimension("Width") && dimension("Height")) {
      out.push_back(TerminalSize{static_cast<uint16_t>(obj["Width"].get<uint64_t>()),
                                 static_cast<uint16_t>(obj["Height"].get<uint64_t>())});
    }
    start = close_at + 1;
  }
  pending_.erase(0, start);
  if (pending_.size() > 4096) pending_.clear();  // a never-ending object: drop it
  return out;
}

CommandSession::~CommandSession() {
  for (int* pair : {stdin_, stdout_, stderr_}) {
    CloseFd(pair[0]);
    CloseFd(pair[1]);
  }
}

absl::Status CommandSession::Init() {
  if (options_.stdin) BERTH_RETURN_IF_ERROR(MakePair(stdin_));
  if (options_.stdout) BERTH_RETURN_IF_ERROR(MakePair(stdout_));
  if (options_.stderr && !options_.tty) BERTH_RETURN_IF_ERROR(MakePair(stderr_));
  return absl::OkStatus();
}

absl::Status CommandSession::WriteStdin(absl::string_view data) {
  while (!data.empty()) {
    int fd = stdin_[0];
    if (fd < 0) return absl::UnavailableError("streaming: stdin is closed");
    ssize_t n = send(fd, data.data(), data.size(), MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR) continue;
      return absl::UnavailableError("streaming: runtime closed stdin");
    }
    data.remove_prefix(static_cast<size_t>(n));
  }
  return absl::OkStatus();
}

void CommandSession::CloseStdin() {
  // shutdown, not close: a WriteStdin on another thread may still hold the fd number.
  if (stdin_[0] >= 0) shutdown(stdin_[0], SHUT_WR);
}

void CommandSession::FeedResize(absl::string_view bytes) {
  if (!options_.tty) return;
  absl::MutexLock lock(&resize_mu_);
  for (const TerminalSize& size : resize_decoder_.Feed(bytes)) resize_.Push(size);
}

void CommandSession::ClientGone() {
  if (!client_gone_.HasBeenNotified()) client_gone_.Notify();
  CloseStdin();
  resize_.Close();
}

absl::StatusOr<int> CommandSession::Run(CommandOutput& out,
                                        const std::function<absl::StatusOr<int>(Streams&)>& fn) {
  std::vector<std::thread> pumps;
  if (stdout_[0] >= 0) pumps.emplace_back(Pump, stdout_[0], Channel::kStdout, std::ref(out));
  if (stderr_[0] >= 0) pumps.emplace_back(Pump, stderr_[0], Channel::kStderr, std::ref(out));
  Streams streams;
  streams.stdin_fd = stdin_[1];
  streams.stdout_fd = stdout_[1];
  streams.stderr_fd = stderr_[1];
  streams.tty = options_.tty;
  streams.resize = options_.tty ? &resize_ : nullptr;
  streams.client_gone = &client_gone_;
  absl::StatusOr<int> result = fn(streams);
  // The runtime is done with its ends: closing them lets the pumps drain and see EOF.
  CloseFd(stdout_[1]);
  CloseFd(stderr_[1]);
  CloseFd(stdin_[1]);
  for (std::thread& t : pumps) t.join();
  resize_.Close();
  return result;
}

}  // namespace berth::cri::streaming
