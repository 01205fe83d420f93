#include "services/common/request_context.h"

#include "core/identifiers.h"
#include "core/namespaces.h"
#include "core/status_macros.h"

namespace berth::services {
namespace {

std::string Metadata(const grpc::ServerContext& ctx, const char* key) {
  const auto& md = ctx.client_metadata();
  auto it = md.find(key);
  if (it == md.end()) return "";
  return std::string(it->second.data(), it->second.size());
}

}  // namespace

absl::StatusOr<std::string> NamespaceOf(const grpc::ServerContext& ctx) {
  std::string ns = Metadata(ctx, kNamespaceGrpcHeader);
  if (ns.empty()) return std::string(kDefaultNamespace);
  BERTH_RETURN_IF_ERROR(ValidateIdentifier("namespace", ns));
  return ns;
}

std::string LeaseOf(const grpc::ServerContext& ctx) { return Metadata(ctx, kLeaseGrpcHeader); }

}  // namespace berth::services
