// Namespaces: every object lives in one. Clients name it in gRPC metadata; cores take it as an
// explicit argument (no hidden context).
#pragma once

namespace berth {

inline constexpr char kDefaultNamespace[] = "default";
// gRPC metadata key carrying the namespace (containerd's namespaces.GRPCHeader).
inline constexpr char kNamespaceGrpcHeader[] = "containerd-namespace";
// ttrpc metadata key carrying the namespace (containerd's namespaces.TTRPCHeader).
inline constexpr char kNamespaceTtrpcHeader[] = "containerd-namespace-ttrpc";
// gRPC metadata key carrying a lease id (containerd's leases.GRPCHeader).
inline constexpr char kLeaseGrpcHeader[] = "containerd-lease";

}  // namespace berth
