// Logs each RPC once, when its status is sent: method, namespace, code, duration.
// Handlers never log their own errors (they return them).
#pragma once

#include <memory>

#include "grpcpp/support/server_interceptor.h"

namespace berth::services {

std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface> MakeLoggingInterceptor();

}  // namespace berth::services
