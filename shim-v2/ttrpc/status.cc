#include "shim-v2/ttrpc/status.h"

namespace berth::ttrpc {

google::rpc::Status ToRpcStatus(const absl::Status& status) {
  google::rpc::Status out;
  out.set_code(static_cast<int>(status.code()));
  out.set_message(std::string(status.message()));
  return out;
}

absl::Status FromRpcStatus(const google::rpc::Status& status) {
  if (status.code() == 0) return absl::OkStatus();
  int code = status.code();
  // Out-of-range codes from a peer become Unknown rather than an invalid enum value.
  if (code < 0 || code > 16) code = static_cast<int>(absl::StatusCode::kUnknown);
  return absl::Status(static_cast<absl::StatusCode>(code), status.message());
}

}  // namespace berth::ttrpc
