// The interface of every io.containerd.grpc.v1 plugin: the daemon registers Service() on its
// gRPC server. Handlers are thin adapters: check, convert, one call into a core, map the status.
#pragma once

#include "grpcpp/impl/codegen/service_type.h"

namespace berth::services {

class GrpcService {
 public:
  virtual ~GrpcService() = default;
  virtual grpc::Service* Service() = 0;
};

// Wraps a generated gRPC service (a subclass of X::Service) as a GrpcService.
template <typename Impl>
class GrpcServiceOf : public GrpcService, public Impl {
 public:
  using Impl::Impl;
  grpc::Service* Service() override { return this; }
};

}  // namespace berth::services
