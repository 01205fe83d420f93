#include "cri/streaming/server.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "core/status.h"

namespace berth::cri::streaming {
namespace {

absl::Status ValidateStdio(bool in, bool out, bool err, bool tty) {
  if (tty && err) return absl::InvalidArgumentError("tty and stderr cannot both be true");
  if (!in && !out && !err) {
    return absl::InvalidArgumentError("one of stdin, stdout, or stderr must be set");
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status ValidateExecRequest(const ::runtime::v1::ExecRequest& req) {
  if (req.container_id().empty()) return absl::InvalidArgumentError("missing required container_id");
  if (req.cmd().empty()) return absl::InvalidArgumentError("cmd must not be empty");
  return ValidateStdio(req.stdin(), req.stdout(), req.stderr(), req.tty());
}

absl::Status ValidateAttachRequest(const ::runtime::v1::AttachRequest& req) {
  if (req.container_id().empty()) return absl::InvalidArgumentError("missing required container_id");
  return ValidateStdio(req.stdin(), req.stdout(), req.stderr(), req.tty());
}

absl::Status ValidatePortForwardRequest(const ::runtime::v1::PortForwardRequest& req) {
  if (req.pod_sandbox_id().empty()) {
    return absl::InvalidArgumentError("missing required pod_sandbox_id");
  }
  for (int32_t port : req.port()) {
    if (port < 1 || port > 65535) return absl::InvalidArgumentError(absl::StrCat("invalid port ", port));
  }
  return absl::OkStatus();
}

Server::Server(ServerConfig config, Runtime& runtime)
    : config_(std::move(config)),
      runtime_(runtime),
      tokens_(config_.token_ttl, config_.max_in_flight_tokens) {}

Server::~Server() { Stop(); }

absl::Status Server::Start() {
  if (listen_fd_ >= 0) return absl::FailedPreconditionError("streaming server already started");
  sockaddr_storage ss{};
  socklen_t len;
  bool v6 = absl::StrContains(config_.address, ':');
  if (v6) {
    auto* a = reinterpret_cast<sockaddr_in6*>(&ss);
    a->sin6_family = AF_INET6;
    a->sin6_port = htons(config_.port);
    if (inet_pton(AF_INET6, config_.address.c_str(), &a->sin6_addr) != 1) {
      return absl::InvalidArgumentError(absl::StrCat("bad stream address ", config_.address));
    }
    len = sizeof(sockaddr_in6);
  } else {
    auto* a = reinterpret_cast<sockaddr_in*>(&ss);
    a->sin_family = AF_INET;
    a->sin_port = htons(config_.port);
    if (inet_pton(AF_INET, config_.address.c_str(), &a->sin_addr) != 1) {
      return absl::InvalidArgumentError(absl::StrCat("bad stream address ", config_.address));
    }
    len = sizeof(sockaddr_in);
  }
  int fd = socket(v6 ? AF_INET6 : AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return ErrnoStatus("streaming: socket");
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  if (bind(fd, reinterpret_cast<sockaddr*>(&ss), len) != 0 || listen(fd, 128) != 0) {
    absl::Status st = ErrnoStatus(absl::StrCat("streaming: listen on ", config_.address));
    close(fd);
    return st;
  }
  getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len);
  port_ = ntohs(v6 ? reinterpret_cast<sockaddr_in6*>(&ss)->sin6_port
                   : reinterpret_cast<sockaddr_in*>(&ss)->sin_port);
  if (pipe2(wake_pipe_, O_CLOEXEC) != 0) {
    close(fd);
    return ErrnoStatus("streaming: pipe");
  }
  listen_fd_ = fd;
  base_url_ = config_.base_url.empty()
                  ? absl::StrCat("http://", v6 ? "[" : "", config_.address, v6 ? "]" : "", ":",
                                 port_)
                  : config_.base_url;
  accept_thread_ = std::thread([this] { AcceptLoop(); });
  return absl::OkStatus();
}

void Server::Stop() {
  if (listen_fd_ < 0 || stopping_.exchange(true)) return;
  char c = 0;
  if (write(wake_pipe_[1], &c, 1) < 0) {
  }
  accept_thread_.join();
  {
    absl::MutexLock lock(&mu_);
    for (auto& [fd, unused] : connections_) shutdown(fd, SHUT_RDWR);
    auto idle = [this]() ABSL_SHARED_LOCKS_REQUIRED(mu_) { return active_ == 0; };
    mu_.Await(absl::Condition(&idle));
  }
  close(listen_fd_);
  close(wake_pipe_[0]);
  close(wake_pipe_[1]);
}

void Server::AcceptLoop() {
  while (!stopping_.load()) {
    pollfd pfds[2] = {{listen_fd_, POLLIN, 0}, {wake_pipe_[0], POLLIN, 0}};
    if (poll(pfds, 2, -1) < 0) continue;
    if (pfds[1].revents) return;
    int fd = accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) continue;
    {
      absl::MutexLock lock(&mu_);
      if (active_ >= config_.max_connections) {
        Conn busy(fd);
        busy.WriteAll(HttpError(503, "Service Unavailable", "too many streaming sessions"))
            .IgnoreError();
        continue;
      }
      ++active_;
      connections_[fd] = true;
    }
    std::thread([this, fd] {
      ServeConnection(fd);
      absl::MutexLock lock(&mu_);
      connections_.erase(fd);
      --active_;
    }).detach();
  }
}

absl::StatusOr<std::string> Server::Url(absl::string_view verb, Pending request) {
  if (listen_fd_ < 0) return absl::FailedPreconditionError("streaming server not started");
  absl::StatusOr<std::string> token = tokens_.Insert(std::move(request));
  if (!token.ok()) return token.status();
  return absl::StrCat(base_url_, "/", verb, "/", *token);
}

absl::StatusOr<::runtime::v1::ExecResponse> Server::GetExec(const ::runtime::v1::ExecRequest& req) {
  if (absl::Status st = ValidateExecRequest(req); !st.ok()) return st;
  CommandRequest cmd{.attach = false,
                     .container_id = req.container_id(),
                     .cmd = {req.cmd().begin(), req.cmd().end()},
                     .options = {req.stdin(), req.stdout(), req.stderr(), req.tty()}};
  auto url = Url("exec", std::move(cmd));
  if (!url.ok()) return url.status();
  ::runtime::v1::ExecResponse resp;
  resp.set_url(*url);
  return resp;
}

absl::StatusOr<::runtime::v1::AttachResponse> Server::GetAttach(
    const ::runtime::v1::AttachRequest& req) {
  if (absl::Status st = ValidateAttachRequest(req); !st.ok()) return st;
  CommandRequest cmd{.attach = true,
                     .container_id = req.container_id(),
                     .cmd = {},
                     .options = {req.stdin(), req.stdout(), req.stderr(), req.tty()}};
  auto url = Url("attach", std::move(cmd));
  if (!url.ok()) return url.status();
  ::runtime::v1::AttachResponse resp;
  resp.set_url(*url);
  return resp;
}

absl::StatusOr<::runtime::v1::PortForwardResponse> Server::GetPortForward(
    const ::runtime::v1::PortForwardRequest& req) {
  if (absl::Status st = ValidatePortForwardRequest(req); !st.ok()) return st;
  PortForwardRequest pf{.pod_sandbox_id = req.pod_sandbox_id(),
                        .ports = {req.port().begin(), req.port().end()}};
  auto url = Url("portforward", std::move(pf));
  if (!url.ok()) return url.status();
  ::runtime::v1::PortForwardResponse resp;
  resp.set_url(*url);
  return resp;
}

void Server::ServeConnection(int fd) {
  Conn conn(fd);
  std::string leftover;
  auto req = ReadRequest(conn, 64 * 1024, absl::Seconds(30), &leftover);
  if (!req.ok()) {
    if (absl::IsInvalidArgument(req.status())) {
      conn.WriteAll(HttpError(400, "Bad Request", req.status().message())).IgnoreError();
    }
    return;
  }
  // Routes: /<verb>/<token>, as kubelet's streaming server (and containerd's) lays them out.
  std::vector<std::string> parts = absl::StrSplit(req->path, '/', absl::SkipEmpty());
  if (parts.size() != 2 || (parts[0] != "exec" && parts[0] != "attach" &&
                            parts[0] != "portforward")) {
    conn.WriteAll(HttpError(404, "Not Found", "not found")).IgnoreError();
    return;
  }
  auto pending = tokens_.Consume(parts[1]);
  if (!pending.ok()) {
    conn.WriteAll(HttpError(404, "Not Found", pending.status().message())).IgnoreError();
    return;
  }
  const bool websocket = req->HeaderHasToken("upgrade", "websocket");
  const bool is_pf = parts[0] == "portforward";
  if (is_pf != std::holds_alternative<PortForwardRequest>(*pending) ||
      (!is_pf && std::get<CommandRequest>(*pending).attach != (parts[0] == "attach"))) {
    conn.WriteAll(HttpError(404, "Not Found", "token does not match the route")).IgnoreError();
    return;
  }
  if (is_pf) {
    const auto& pf = std::get<PortForwardRequest>(*pending);
    if (websocket) {
      ServeWebSocketPortForward(conn, *req, std::move(leftover), pf, runtime_, config_.handler);
    } else {
      ServeSpdyPortForward(conn, *req, std::move(leftover), pf, runtime_, config_.handler);
    }
    return;
  }
  const auto& cmd = std::get<CommandRequest>(*pending);
  if (websocket) {
    ServeWebSocketCommand(conn, *req, std::move(leftover), cmd, runtime_, config_.handler);
  } else {
    ServeSpdyCommand(conn, *req, std::move(leftover), cmd, runtime_, config_.handler);
  }
}

}  // namespace berth::cri::streaming
