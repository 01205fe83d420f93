// The connection every service class of the client shares: a gRPC channel to berthd plus the
// per-client defaults (namespace, deadline) that each call may override.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "grpcpp/channel.h"
#include "grpcpp/client_context.h"
#include "grpcpp/support/status.h"

namespace berth::client {

// The default socket of berthd (and of `berthctl --address`).
inline constexpr char kDefaultAddress[] = "/run/berth/berth.sock";
// containerd's default namespace.
inline constexpr char kDefaultNamespace[] = "default";

// Per-call overrides. Unset fields fall back to the client's defaults.
struct CallOptions {
  std::optional<std::string> ns;        // containerd-namespace metadata
  std::optional<absl::Duration> timeout;  // deadline from now; InfiniteDuration = none
  std::string lease;                    // containerd-lease metadata ("" = none)
};

struct DialOptions {
  std::string ns = kDefaultNamespace;
  // Deadline of unary calls. Streams (events, pulls, Wait) never get this default deadline.
  absl::Duration timeout = absl::Seconds(30);
  // How long Dial waits for the socket to accept a connection.
  absl::Duration connect_timeout = absl::Seconds(5);
};

// Normalises "unix:///path", "unix:/path" and "/path" to gRPC's "unix:/path".
// Errors: InvalidArgument for an empty address or another scheme.
absl::StatusOr<std::string> NormalizeAddress(absl::string_view address);

// grpc::Status -> absl::Status. gRPC and absl share canonical code numbers (and containerd's
// errdefs map onto them), so the code is kept; `what` is prefixed to the message
// ("list images: ..."). An unreachable daemon (UNAVAILABLE with a connect error) keeps its code.
absl::Status FromGrpc(const grpc::Status& status, absl::string_view what);

class Connection {
 public:
  Connection(std::shared_ptr<grpc::Channel> channel, DialOptions options)
      : channel_(std::move(channel)), options_(std::move(options)) {}

  // A context carrying the namespace, lease and deadline for one call. `stream` calls get no
  // default deadline (only an explicit CallOptions::timeout).
  std::unique_ptr<grpc::ClientContext> NewContext(const CallOptions& call = {},
                                                  bool stream = false) const;

  const std::shared_ptr<grpc::Channel>& channel() const { return channel_; }
  const std::string& ns() const { return options_.ns; }
  void set_ns(std::string ns) { options_.ns = std::move(ns); }
  const DialOptions& options() const { return options_; }

 private:
  std::shared_ptr<grpc::Channel> channel_;
  DialOptions options_;
};

}  // namespace berth::client
