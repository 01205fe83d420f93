// The CRI streaming server: the CRI Exec/Attach/PortForward RPCs call Get*, which validate the
// request, park it under a single-use token and return the URL kubelet/crictl connect to;
// the HTTP side serves /exec/<token>, /attach/<token> and /portforward/<token> over
// WebSocket or SPDY/3.1 (see README.md). Modelled on kubelet's pkg/kubelet/cri/streaming.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>
#include <variant>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "cri/streaming/handlers.h"
#include "cri/streaming/runtime.h"
#include "cri/streaming/token_cache.h"
#include "proto/cri_api.h"

namespace berth::cri::streaming {

struct ServerConfig {
  std::string address = "127.0.0.1";  // IPv4 or IPv6 literal to listen on
  uint16_t port = 0;                  // 0 picks a free port (see Server::port())
  // Scheme and host:port put in returned URLs; empty means http://<address>:<port>.
  std::string base_url;
  absl::Duration token_ttl = absl::Minutes(1);  // kubelet's default
  size_t max_in_flight_tokens = 1000;
  size_t max_connections = 128;  // concurrent streaming sessions; more get 503
  HandlerOptions handler;
};

// Checks a CRI request the way kubelet's streaming server does. InvalidArgument with the
// reason: missing container/sandbox id, empty cmd, tty together with stderr, or none of
// stdin/stdout/stderr.
absl::Status ValidateExecRequest(const ::runtime::v1::ExecRequest& req);
absl::Status ValidateAttachRequest(const ::runtime::v1::AttachRequest& req);
absl::Status ValidatePortForwardRequest(const ::runtime::v1::PortForwardRequest& req);

class Server {
 public:
  // `runtime` must outlive the server.
  Server(ServerConfig config, Runtime& runtime);
  ~Server();  // Stop()

  // Binds and starts accepting. InvalidArgument for a bad address, FailedPrecondition if
  // already started, an errno-mapped status when bind/listen fail.
  absl::Status Start();
  // Stops accepting, hangs up every session (runtimes see Streams::client_gone) and waits for
  // their threads. Idempotent.
  void Stop();
  uint16_t port() const { return port_; }

  // Validate, store under a fresh token, and answer with the URL. InvalidArgument from
  // validation, ResourceExhausted when too many tokens are outstanding, FailedPrecondition
  // before Start().
  absl::StatusOr<::runtime::v1::ExecResponse> GetExec(const ::runtime::v1::ExecRequest& req);
  absl::StatusOr<::runtime::v1::AttachResponse> GetAttach(const ::runtime::v1::AttachRequest& req);
  absl::StatusOr<::runtime::v1::PortForwardResponse> GetPortForward(
      const ::runtime::v1::PortForwardRequest& req);

 private:
  using Pending = std::variant<CommandRequest, PortForwardRequest>;
  absl::StatusOr<std::string> Url(absl::string_view verb, Pending request);
  void AcceptLoop();
  void ServeConnection(int fd);

  const ServerConfig config_;
  Runtime& runtime_;
  TokenCache<Pending> tokens_;
  int listen_fd_ = -1;
  int wake_pipe_[2] = {-1, -1};
  uint16_t port_ = 0;
  std::string base_url_;
  std::thread accept_thread_;
  std::atomic<bool> stopping_{false};
  absl::Mutex mu_;
  std::map<int, bool> connections_ ABSL_GUARDED_BY(mu_);  // live fds (value unused)
  size_t active_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace berth::cri::streaming
