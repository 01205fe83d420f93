#include "client/connection.h"

#include <chrono>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "core/namespaces.h"

namespace berth::client {

absl::StatusOr<std::string> NormalizeAddress(absl::string_view address) {
  if (address.empty()) return absl::InvalidArgumentError("empty daemon address");
  std::string path;
  if (absl::ConsumePrefix(&address, "unix://")) {
    path = std::string(address);
  } else if (absl::ConsumePrefix(&address, "unix:")) {
    path = std::string(address);
  } else if (absl::StrContains(address, "://")) {
    return absl::InvalidArgumentError(
        absl::StrCat("unsupported address ", address, ": berthd listens on a unix socket"));
  } else {
    path = std::string(address);
  }
  if (path.empty()) return absl::InvalidArgumentError("empty socket path");
  return absl::StrCat("unix:", path);
}

absl::Status FromGrpc(const grpc::Status& status, absl::string_view what) {
  if (status.ok()) return absl::OkStatus();
  // Same numbering on both sides (grpc/status.h and absl::StatusCode follow google.rpc.Code).
  auto code = static_cast<absl::StatusCode>(status.error_code());
  std::string why = status.error_message();
  // gRPC answers an unknown service or method with UNIMPLEMENTED and no message.
  if (why.empty() && code == absl::StatusCode::kUnimplemented) {
    why = "not implemented by this berthd";
  } else if (why.empty()) {
    why = absl::StatusCodeToString(code);
  }
  return absl::Status(code, absl::StrCat(what, ": ", why));
}

std::unique_ptr<grpc::ClientContext> Connection::NewContext(const CallOptions& call,
                                                            bool stream) const {
  auto ctx = std::make_unique<grpc::ClientContext>();
  ctx->AddMetadata(kNamespaceGrpcHeader, call.ns.value_or(options_.ns));
  if (!call.lease.empty()) ctx->AddMetadata(kLeaseGrpcHeader, call.lease);
  absl::Duration timeout = call.timeout.value_or(stream ? absl::InfiniteDuration()
                                                        : options_.timeout);
  if (timeout != absl::InfiniteDuration()) {
    ctx->set_deadline(std::chrono::system_clock::now() + absl::ToChronoMilliseconds(timeout));
  }
  // Fail fast when berthd is not there instead of waiting for it to appear.
  ctx->set_wait_for_ready(false);
  return ctx;
}

}  // namespace berth::client
