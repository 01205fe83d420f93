#include "core/status_macros.h"
#include "absl/strings/str_cat.h"
#include "cri/server/cri_service.h"
#include "grpcpp/impl/codegen/method_handler.h"
#include "grpcpp/impl/codegen/rpc_service_method.h"
#include "services/common/grpc_status.h"

namespace berth::cri {
namespace {

using grpc::ServerContext;
using services::ToGrpcStatus;

constexpr char kRuntimeName[] = "berth";
constexpr char kRuntimeApiVersion[] = "v1";

class CriService : public services::GrpcService, public v1::RuntimeService::Service {
 public:
  CriService(std::shared_ptr<CriRuntime> core, PullFn pull,
             std::shared_ptr<streaming::Server> streaming)
      : core_(std::move(core)), images_(core_, std::move(pull)), streaming_(std::move(streaming)) {
    AddImageMethod("ListImages", &ImageHandlers::ListImages);
    AddImageMethod("ImageStatus", &ImageHandlers::ImageStatus);
    AddImageMethod("PullImage", &ImageHandlers::PullImage);
    AddImageMethod("RemoveImage", &ImageHandlers::RemoveImage);
    AddImageMethod("ImageFsInfo", &ImageHandlers::ImageFsInfo);
  }
  grpc::Service* Service() override { return this; }

  grpc::Status Version(ServerContext*, const v1::VersionRequest*, v1::VersionResponse* r) override {
    r->set_version("0.1.0");
    r->set_runtime_name(kRuntimeName);
    r->set_runtime_version("0.1.0");
    r->set_runtime_api_version(kRuntimeApiVersion);
    return grpc::Status::OK;
  }

  grpc::Status Status(ServerContext*, const v1::StatusRequest* req, v1::StatusResponse* r) override {
    auto* rt = r->mutable_status()->add_conditions();
    rt->set_type("RuntimeReady");
    rt->set_status(true);
    auto* net = r->mutable_status()->add_conditions();
    net->set_type("NetworkReady");
    absl::Status ns = core_->NetworkStatus();
    net->set_status(ns.ok());
    if (!ns.ok()) {
      net->set_reason("NetworkPluginNotReady");
      net->set_message(absl::StrCat("Network plugin returns error: cni plugin not initialized: ",
                                    ns.message()));
    }
    if (req->verbose()) (*r->mutable_info())["config"] = "{}";
    return grpc::Status::OK;
  }

  grpc::Status RuntimeConfig(ServerContext*, const v1::RuntimeConfigRequest*,
                             v1::RuntimeConfigResponse* r) override {
    r->mutable_linux()->set_cgroup_driver(v1::CGROUPFS);
    return grpc::Status::OK;
  }

  grpc::Status UpdateRuntimeConfig(ServerContext*, const v1::UpdateRuntimeConfigRequest* req,
                                   v1::UpdateRuntimeConfigResponse*) override {
    core_->SetPodCidr(req->runtime_config().network_config().pod_cidr());
    return grpc::Status::OK;
  }

  grpc::Status RunPodSandbox(ServerContext*, const v1::RunPodSandboxRequest* req,
                             v1::RunPodSandboxResponse* r) override {
    auto id = core_->RunPodSandbox(req->config(), req->runtime_handler());
    if (id.ok()) r->set_pod_sandbox_id(*id);
    return ToGrpcStatus(id.status());
  }
  grpc::Status StopPodSandbox(ServerContext*, const v1::StopPodSandboxRequest* req,
                              v1::StopPodSandboxResponse*) override {
    return ToGrpcStatus(core_->StopPodSandbox(req->pod_sandbox_id()));
  }
  grpc::Status RemovePodSandbox(ServerContext*, const v1::RemovePodSandboxRequest* req,
                                v1::RemovePodSandboxResponse*) override {
    return ToGrpcStatus(core_->RemovePodSandbox(req->pod_sandbox_id()));
  }
  grpc::Status PodSandboxStatus(ServerContext*, const v1::PodSandboxStatusRequest* req,
                                v1::PodSandboxStatusResponse* r) override {
    return ToGrpcStatus(core_->PodSandboxStatus(req->pod_sandbox_id(), req->verbose(), r));
  }
  grpc::Status ListPodSandbox(ServerContext*, const v1::ListPodSandboxRequest* req,
                              v1::ListPodSandboxResponse* r) override {
    return ToGrpcStatus(core_->ListPodSandbox(req->has_filter() ? &req->filter() : nullptr, r));
  }

  grpc::Status CreateContainer(ServerContext*, const v1::CreateContainerRequest* req,
                               v1::CreateContainerResponse* r) override {
    auto id = core_->CreateContainer(req->pod_sandbox_id(), req->config());
    if (id.ok()) r->set_container_id(*id);
    return ToGrpcStatus(id.status());
  }
  grpc::Status StartContainer(ServerContext*, const v1::StartContainerRequest* req,
                              v1::StartContainerResponse*) override {
    return ToGrpcStatus(core_->StartContainer(req->container_id()));
  }
  grpc::Status StopContainer(ServerContext*, const v1::StopContainerRequest* req,
                             v1::StopContainerResponse*) override {
    return ToGrpcStatus(core_->StopContainer(req->container_id(), req->timeout()));
  }
  grpc::Status RemoveContainer(ServerContext*, const v1::RemoveContainerRequest* req,
                               v1::RemoveContainerResponse*) override {
    return ToGrpcStatus(core_->RemoveContainer(req->container_id()));
  }
  grpc::Status ListContainers(ServerContext*, const v1::ListContainersRequest* req,
                              v1::ListContainersResponse* r) override {
    return ToGrpcStatus(core_->ListContainers(req->has_filter() ? &req->filter() : nullptr, r));
  }
  grpc::Status ContainerStatus(ServerContext*, const v1::ContainerStatusRequest* req,
                               v1::ContainerStatusResponse* r) override {
    return ToGrpcStatus(core_->ContainerStatus(req->container_id(), req->verbose(), r));
  }
  grpc::Status UpdateContainerResources(ServerContext*, const v1::UpdateContainerResourcesRequest* req,
                                        v1::UpdateContainerResourcesResponse*) override {
    return ToGrpcStatus(core_->UpdateContainerResources(req->container_id(), req->linux()));
  }
  grpc::Status ReopenContainerLog(ServerContext*, const v1::ReopenContainerLogRequest* req,
                                  v1::ReopenContainerLogResponse*) override {
    return ToGrpcStatus(core_->ReopenContainerLog(req->container_id()));
  }
  grpc::Status ExecSync(ServerContext*, const v1::ExecSyncRequest* req,
                        v1::ExecSyncResponse* r) override {
    return ToGrpcStatus(core_->ExecSync(*req, r));
  }
  // Streaming: the URL of a single-use session on the streaming server (cri/streaming/).
  grpc::Status Exec(ServerContext*, const v1::ExecRequest* req, v1::ExecResponse* r) override {
    return Stream(req->container_id(), [&] { return streaming_->GetExec(*req); }, r);
  }
  grpc::Status Attach(ServerContext*, const v1::AttachRequest* req,
                      v1::AttachResponse* r) override {
    return Stream(req->container_id(), [&] { return streaming_->GetAttach(*req); }, r);
  }
  grpc::Status PortForward(ServerContext*, const v1::PortForwardRequest* req,
                           v1::PortForwardResponse* r) override {
    v1::PodSandboxStatusResponse ps;
    if (!req->pod_sandbox_id().empty()) {
      absl::Status st = core_->PodSandboxStatus(req->pod_sandbox_id(), false, &ps);
      if (!st.ok()) return ToGrpcStatus(st);
    }
    return Stream("", [&] { return streaming_->GetPortForward(*req); }, r);
  }

  grpc::Status ContainerStats(ServerContext*, const v1::ContainerStatsRequest* req,
                              v1::ContainerStatsResponse* r) override {
    return ToGrpcStatus(core_->ContainerStats(req->container_id(), r->mutable_stats()));
  }
  grpc::Status ListContainerStats(ServerContext*, const v1::ListContainerStatsRequest* req,
                                  v1::ListContainerStatsResponse* r) override {
    return ToGrpcStatus(core_->ListContainerStats(req->has_filter() ? &req->filter() : nullptr, r));
  }
  grpc::Status PodSandboxStats(ServerContext*, const v1::PodSandboxStatsRequest* req,
                               v1::PodSandboxStatsResponse* r) override {
    return ToGrpcStatus(core_->PodSandboxStats(req->pod_sandbox_id(), r->mutable_stats()));
  }
  grpc::Status ListPodSandboxStats(ServerContext*, const v1::ListPodSandboxStatsRequest* req,
                                   v1::ListPodSandboxStatsResponse* r) override {
    return ToGrpcStatus(core_->ListPodSandboxStats(req->has_filter() ? &req->filter() : nullptr, r));
  }
  grpc::Status ListMetricDescriptors(ServerContext*, const v1::ListMetricDescriptorsRequest*,
                                     v1::ListMetricDescriptorsResponse* r) override {
    CriRuntime::ListMetricDescriptors(r);
    return grpc::Status::OK;
  }
  grpc::Status ListPodSandboxMetrics(ServerContext*, const v1::ListPodSandboxMetricsRequest*,
                                     v1::ListPodSandboxMetricsResponse* r) override {
    return ToGrpcStatus(core_->ListPodSandboxMetrics(r));
  }
  grpc::Status UpdatePodSandboxResources(ServerContext*, const v1::UpdatePodSandboxResourcesRequest* req,
                                         v1::UpdatePodSandboxResourcesResponse*) override {
    return ToGrpcStatus(core_->UpdatePodSandboxResources(req->pod_sandbox_id()));
  }
  // Server-streaming: one subscription per stream until the client goes, the daemon stops, or
  // the subscriber is dropped for being too slow (cri/events.h).
  grpc::Status GetContainerEvents(ServerContext* ctx, const v1::GetEventsRequest*,
                                  grpc::ServerWriter<v1::ContainerEventResponse>* w) override {
    auto sub = core_->events().Subscribe();
    v1::ContainerEventResponse ev;
    while (!ctx->IsCancelled()) {
      if (sub->Next(&ev, absl::Seconds(1))) {
        if (!w->Write(ev)) break;
      } else if (sub->closed()) {
        core_->events().Unsubscribe(sub);
        return grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED,
                            "container event stream closed: the client fell too far behind");
      }
    }
    core_->events().Unsubscribe(sub);
    return grpc::Status::OK;
  }

 private:
  // containerd checks the container exists (and is running, for exec/attach) before handing
  // out a URL, so kubectl gets NotFound/FailedPrecondition right away.
  template <typename Fn, typename Resp>
  grpc::Status Stream(const std::string& container_id, Fn get, Resp* r) {
    if (streaming_ == nullptr) {
      return ToGrpcStatus(absl::UnavailableError("the streaming server is not running"));
    }
    if (!container_id.empty()) {
      v1::ContainerStatusResponse cs;
      absl::Status st = core_->ContainerStatus(container_id, false, &cs);
      if (st.ok() && cs.status().state() != v1::CONTAINER_RUNNING) {
        st = absl::FailedPreconditionError(absl::StrCat("container ", container_id,
                                                        " is not running"));
      }
      if (!st.ok()) return ToGrpcStatus(st);
    }
    auto resp = get();
    if (resp.ok()) *r = *std::move(resp);
    return ToGrpcStatus(resp.status());
  }

  template <typename Req, typename Resp>
  void AddImageMethod(const char* name,
                      grpc::Status (ImageHandlers::*fn)(ServerContext*, const Req*, Resp*)) {
    // The wire name of ImageService's method: the generated table is private to api.grpc.pb.cc.
    method_names_.push_back(absl::StrCat("/runtime.v1.ImageService/", name));
    AddMethod(new grpc::internal::RpcServiceMethod(
        method_names_.back().c_str(), grpc::internal::RpcMethod::NORMAL_RPC,
        new grpc::internal::RpcMethodHandler<ImageHandlers, Req, Resp>(
            [fn](ImageHandlers* h, ServerContext* ctx, const Req* req, Resp* resp) {
              return (h->*fn)(ctx, req, resp);
            },
            &images_)));
  }

  std::shared_ptr<CriRuntime> core_;
  ImageHandlers images_;
  std::deque<std::string> method_names_;  // stable c_str()s for the method table
  // Last member: destroyed (stopped) first, while core_ is still alive.
  std::shared_ptr<streaming::Server> streaming_;
};

}  // namespace

std::shared_ptr<services::GrpcService> MakeCriGrpcService(
    std::shared_ptr<CriRuntime> core, PullFn pull, std::shared_ptr<streaming::Server> streaming) {
  return std::make_shared<CriService>(std::move(core), std::move(pull), std::move(streaming));
}

}  // namespace berth::cri
