#include "services/common/logging_interceptor.h"

#include <chrono>
#include <string>

#include "core/log.h"
#include "core/namespaces.h"

namespace berth::services {
namespace {

class LoggingInterceptor : public grpc::experimental::Interceptor {
 public:
  explicit LoggingInterceptor(grpc::experimental::ServerRpcInfo* info)
      : info_(info), start_(std::chrono::steady_clock::now()) {}

  void Intercept(grpc::experimental::InterceptorBatchMethods* methods) override {
    using grpc::experimental::InterceptionHookPoints;
    if (methods->QueryInterceptionHookPoint(
            InterceptionHookPoints::POST_RECV_INITIAL_METADATA)) {
      auto* md = methods->GetRecvInitialMetadata();
      if (md != nullptr) {
        auto it = md->find(kNamespaceGrpcHeader);
        if (it != md->end()) ns_.assign(it->second.data(), it->second.size());
      }
    }
    if (methods->QueryInterceptionHookPoint(InterceptionHookPoints::PRE_SEND_STATUS)) {
      grpc::Status status = methods->GetSendStatus();
      auto micros = std::chrono::duration_cast<std::chrono::microseconds>(
                        std::chrono::steady_clock::now() - start_)
                        .count();
      static auto log = log::Get("grpc");
      if (status.ok()) {
        log->debug("rpc {} ns={} ok {}us", info_->method(), ns_, micros);
      } else {
        log->info("rpc {} ns={} code={} err=\"{}\" {}us", info_->method(), ns_,
                  static_cast<int>(status.error_code()), status.error_message(), micros);
      }
    }
    methods->Proceed();
  }

 private:
  grpc::experimental::ServerRpcInfo* info_;
  std::chrono::steady_clock::time_point start_;
  std::string ns_;
};

class Factory : public grpc::experimental::ServerInterceptorFactoryInterface {
 public:
  grpc::experimental::Interceptor* CreateServerInterceptor(
      grpc::experimental::ServerRpcInfo* info) override {
    return new LoggingInterceptor(info);
  }
};

}  // namespace

std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface> MakeLoggingInterceptor() {
  return std::make_unique<Factory>();
}

}  // namespace berth::services
