// The per-connection handlers behind the server's /exec, /attach and /portforward routes,
// one per transport. Each runs on the connection's thread until the session ends; they never
// fail outward (errors go to the client on the protocol's error channel or as HTTP errors).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "cri/streaming/http.h"
#include "cri/streaming/remotecommand.h"
#include "cri/streaming/runtime.h"

namespace berth::cri::streaming {

struct CommandRequest {
  bool attach = false;  // attach to the container's stdio instead of exec'ing cmd
  std::string container_id;
  std::vector<std::string> cmd;
  CommandOptions options;
};

struct PortForwardRequest {
  std::string pod_sandbox_id;
  std::vector<int32_t> ports;  // from the CRI request; WebSocket clients may add ?port=
};

struct HandlerOptions {
  absl::Duration idle_timeout = absl::Hours(4);
  absl::Duration stream_creation_timeout = absl::Seconds(30);
  absl::Duration close_grace = absl::Seconds(2);  // wait for the client's half of a close
  size_t max_streams = 32;                        // per SPDY connection
};

void ServeWebSocketCommand(Conn& conn, const HttpRequest& req, std::string leftover,
                           const CommandRequest& cmd, Runtime& runtime,
                           const HandlerOptions& options);
void ServeSpdyCommand(Conn& conn, const HttpRequest& req, std::string leftover,
                      const CommandRequest& cmd, Runtime& runtime, const HandlerOptions& options);
void ServeWebSocketPortForward(Conn& conn, const HttpRequest& req, std::string leftover,
                               const PortForwardRequest& pf, Runtime& runtime,
                               const HandlerOptions& options);
void ServeSpdyPortForward(Conn& conn, const HttpRequest& req, std::string leftover,
                          const PortForwardRequest& pf, Runtime& runtime,
                          const HandlerOptions& options);

// Runs the Runtime call for one exec/attach request.
absl::StatusOr<int> RunCommand(Runtime& runtime, const CommandRequest& cmd, Streams& streams);

// Copies between a client-facing byte channel and a socketpair end until both directions end.
// Used by both port-forward transports.
absl::Status ForwardOnePort(Runtime& runtime, const std::string& sandbox, int32_t port,
                            int runtime_fd);

}  // namespace berth::cri::streaming
