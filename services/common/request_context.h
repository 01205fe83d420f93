// What every handler takes from a request's gRPC metadata: the namespace and the lease.
#pragma once

#include <string>

#include "absl/status/statusor.h"
#include "grpcpp/server_context.h"

namespace berth::services {

// The namespace from `containerd-namespace` metadata ("default" when absent).
// InvalidArgument when it is not a valid identifier.
absl::StatusOr<std::string> NamespaceOf(const grpc::ServerContext& ctx);

// The lease id from `containerd-lease` metadata, or "" when none.
std::string LeaseOf(const grpc::ServerContext& ctx);

}  // namespace berth::services
