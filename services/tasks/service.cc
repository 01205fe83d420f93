#include "services/tasks/service.h"

#include "containerd/services/tasks/v1/tasks.grpc.pb.h"
#include "core/filters.h"
#include "plugins/containers/plugin.h"
#include "services/common/grpc_service.h"
#include "services/common/grpc_status.h"
#include "services/common/request_context.h"
#include "services/events/convert.h"
#include "services/tasks/convert.h"
#include "shim-v2/ttrpc/thread.h"

namespace berth::services {
namespace {

namespace pb = ::containerd::services::tasks::v1;
namespace v2 = ::containerd::task::v2;
using google::protobuf::Empty;

class TasksService : public pb::Tasks::Service {
 public:
  TasksService(std::shared_ptr<containers::ContainerStore> containers,
               std::shared_ptr<runtime::TaskManager> manager)
      : containers_(std::move(containers)), manager_(std::move(manager)) {}

  grpc::Status Create(grpc::ServerContext* ctx, const pb::CreateTaskRequest* req,
                      pb::CreateTaskResponse* resp) override {
    return Run(ctx, [&](const std::string& ns) -> absl::Status {
      if (req->has_checkpoint() && !req->checkpoint().digest().empty()) {
        return absl::UnimplementedError("restoring a task from a checkpoint is not supported");
      }
      BERTH_ASSIGN_OR_RETURN(auto container, containers_->Get(ns, req->container_id()));
      BERTH_ASSIGN_OR_RETURN(auto opts, ToCreateOpts(container, *req));
      uint32_t pid = 0;
      BERTH_RETURN_IF_ERROR(manager_->Create(ns, req->container_id(), opts, &pid).status());
      resp->set_container_id(req->container_id());
      resp->set_pid(pid);
      return absl::OkStatus();
    });
  }

  grpc::Status Start(grpc::ServerContext* ctx, const pb::StartRequest* req,
                     pb::StartResponse* resp) override {
    v2::StartRequest sreq;
    sreq.set_id(req->container_id());
    sreq.set_exec_id(req->exec_id());
    v2::StartResponse sresp;
    grpc::Status st = CallShim(ctx, req->container_id(), "Start", sreq, &sresp);
    resp->set_pid(sresp.pid());
    return st;
  }

  grpc::Status Delete(grpc::ServerContext* ctx, const pb::DeleteTaskRequest* req,
                      pb::DeleteResponse* resp) override {
    return Run(ctx, [&](const std::string& ns) -> absl::Status {
      BERTH_ASSIGN_OR_RETURN(runtime::Exit exit, manager_->Delete(ns, req->container_id()));
      resp->set_id(req->container_id());
      resp->set_pid(exit.pid);
      resp->set_exit_status(exit.status);
      ToTimestamp(exit.exited_at, resp->mutable_exited_at());
      return absl::OkStatus();
    });
  }

  grpc::Status DeleteProcess(grpc::ServerContext* ctx, const pb::DeleteProcessRequest* req,
                             pb::DeleteResponse* resp) override {
    if (req->exec_id().empty()) {
      return ToGrpcStatus(absl::InvalidArgumentError("exec id must not be empty"));
    }
    v2::DeleteRequest sreq;
    sreq.set_id(req->container_id());
    sreq.set_exec_id(req->exec_id());
    v2::DeleteResponse sresp;
    grpc::Status st = CallShim(ctx, req->container_id(), "Delete", sreq, &sresp);
    resp->set_id(req->exec_id());
    resp->set_pid(sresp.pid());
    resp->set_exit_status(sresp.exit_status());
    *resp->mutable_exited_at() = sresp.exited_at();
    return st;
  }

  grpc::Status Get(grpc::ServerContext* ctx, const pb::GetRequest* req,
                   pb::GetResponse* resp) override {
    v2::StateRequest sreq;
    sreq.set_id(req->container_id());
    sreq.set_exec_id(req->exec_id());
    v2::StateResponse state;
    grpc::Status st = CallShim(ctx, req->container_id(), "State", sreq, &state);
    if (st.ok()) ToProcess(req->container_id(), state, resp->mutable_process());
    return st;
  }

  grpc::Status List(grpc::ServerContext* ctx, const pb::ListTasksRequest*,
                    pb::ListTasksResponse* resp) override {
    return Run(ctx, [&](const std::string& ns) -> absl::Status {
      for (const auto& shim : manager_->List(ns)) {
        v2::StateRequest sreq;
        sreq.set_id(shim->id());
        v2::StateResponse state;
        // A shim that just went away is being cleaned up: leave it out, as containerd does.
        if (!shim->Call("State", sreq, &state, absl::Seconds(10)).ok()) continue;
        ToProcess(shim->id(), state, resp->add_tasks());
      }
      return absl::OkStatus();
    });
  }

  grpc::Status Kill(grpc::ServerContext* ctx, const pb::KillRequest* req, Empty*) override {
    v2::KillRequest sreq;
    sreq.set_id(req->container_id());
    sreq.set_exec_id(req->exec_id());
    sreq.set_signal(req->signal());
    sreq.set_all(req->all());
    return CallShim(ctx, req->container_id(), "Kill", sreq, nullptr);
  }

  grpc::Status Exec(grpc::ServerContext* ctx, const pb::ExecProcessRequest* req,
                    Empty*) override {
    if (req->exec_id().empty()) {
      return ToGrpcStatus(absl::InvalidArgumentError("exec id must not be empty"));
    }
    v2::ExecProcessRequest sreq;
    sreq.set_id(req->container_id());
    sreq.set_exec_id(req->exec_id());
    sreq.set_terminal(req->terminal());
    sreq.set_stdin(req->stdin());
    sreq.set_stdout(req->stdout());
    sreq.set_stderr(req->stderr());
    if (req->has_spec()) *sreq.mutable_spec() = req->spec();
    return CallShim(ctx, req->container_id(), "Exec", sreq, nullptr);
  }

  grpc::Status ResizePty(grpc::ServerContext* ctx, const pb::ResizePtyRequest* req,
                         Empty*) override {
    v2::ResizePtyRequest sreq;
    sreq.set_id(req->container_id());
    sreq.set_exec_id(req->exec_id());
    sreq.set_width(req->width());
    sreq.set_height(req->height());
    return CallShim(ctx, req->container_id(), "ResizePty", sreq, nullptr);
  }

  grpc::Status CloseIO(grpc::ServerContext* ctx, const pb::CloseIORequest* req,
                       Empty*) override {
    if (!req->stdin()) return grpc::Status::OK;  // only stdin can be closed
    v2::CloseIORequest sreq;
    sreq.set_id(req->container_id());
    sreq.set_exec_id(req->exec_id());
    sreq.set_stdin(true);
    return CallShim(ctx, req->container_id(), "CloseIO", sreq, nullptr);
  }

  grpc::Status Pause(grpc::ServerContext* ctx, const pb::PauseTaskRequest* req,
                     Empty*) override {
    v2::PauseRequest sreq;
    sreq.set_id(req->container_id());
    return CallShim(ctx, req->container_id(), "Pause", sreq, nullptr);
  }

  grpc::Status Resume(grpc::ServerContext* ctx, const pb::ResumeTaskRequest* req,
                      Empty*) override {
    v2::ResumeRequest sreq;
    sreq.set_id(req->container_id());
    return CallShim(ctx, req->container_id(), "Resume", sreq, nullptr);
  }

  grpc::Status ListPids(grpc::ServerContext* ctx, const pb::ListPidsRequest* req,
                        pb::ListPidsResponse* resp) override {
    v2::PidsRequest sreq;
    sreq.set_id(req->container_id());
    v2::PidsResponse sresp;
    grpc::Status st = CallShim(ctx, req->container_id(), "Pids", sreq, &sresp);
    *resp->mutable_processes() = sresp.processes();
    return st;
  }

  grpc::Status Checkpoint(grpc::ServerContext*, const pb::CheckpointTaskRequest*,
                          pb::CheckpointTaskResponse*) override {
    return ToGrpcStatus(absl::UnimplementedError("checkpoint is not supported by berthd"));
  }

  grpc::Status Update(grpc::ServerContext* ctx, const pb::UpdateTaskRequest* req,
                      Empty*) override {
    v2::UpdateTaskRequest sreq;
    sreq.set_id(req->container_id());
    if (req->has_resources()) *sreq.mutable_resources() = req->resources();
    sreq.mutable_annotations()->insert(req->annotations().begin(), req->annotations().end());
    return CallShim(ctx, req->container_id(), "Update", sreq, nullptr);
  }

  grpc::Status Metrics(grpc::ServerContext* ctx, const pb::MetricsRequest* req,
                       pb::MetricsResponse* resp) override {
    return Run(ctx, [&](const std::string& ns) -> absl::Status {
      BERTH_ASSIGN_OR_RETURN(auto filter,
                             filters::ParseAny({req->filters().begin(), req->filters().end()}));
      for (const auto& shim : manager_->List(ns)) {
        auto adaptor = [&](const std::vector<std::string>& path) -> std::optional<std::string> {
          if (path.size() == 1 && path[0] == "id") return shim->id();
          if (path.size() == 1 && path[0] == "namespace") return shim->ns();
          return std::nullopt;
        };
        if (!filter->Match(adaptor)) continue;
        v2::StatsRequest sreq;
        sreq.set_id(shim->id());
        v2::StatsResponse stats;
        if (!shim->Call("Stats", sreq, &stats, absl::Seconds(10)).ok()) continue;
        auto* m = resp->add_metrics();
        ToTimestamp(absl::Now(), m->mutable_timestamp());
        m->set_id(shim->id());
        *m->mutable_data() = stats.stats();
      }
      return absl::OkStatus();
    });
  }

  grpc::Status Wait(grpc::ServerContext* ctx, const pb::WaitRequest* req,
                    pb::WaitResponse* resp) override {
    return Run(ctx, [&](const std::string& ns) -> absl::Status {
      BERTH_ASSIGN_OR_RETURN(auto shim, manager_->Get(ns, req->container_id()));
      v2::WaitRequest sreq;
      sreq.set_id(req->container_id());
      sreq.set_exec_id(req->exec_id());
      v2::WaitResponse sresp;
      absl::Status st = WaitCancellable(ctx, shim, sreq, &sresp);
      if (absl::IsUnavailable(st) && req->exec_id().empty()) {
        // The shim died: the exit recorded from its /tasks/exit still answers.
        if (auto exit = manager_->RecordedExit(ns, req->container_id())) {
          resp->set_exit_status(exit->status);
          ToTimestamp(exit->exited_at, resp->mutable_exited_at());
          return absl::OkStatus();
        }
      }
      BERTH_RETURN_IF_ERROR(st);
      resp->set_exit_status(sresp.exit_status());
      *resp->mutable_exited_at() = sresp.exited_at();
      return absl::OkStatus();
    });
  }

 private:
  template <typename Fn>
  grpc::Status Run(grpc::ServerContext* ctx, Fn&& fn) {
    auto ns = NamespaceOf(*ctx);
    if (!ns.ok()) return ToGrpcStatus(ns.status());
    return ToGrpcStatus(fn(*ns));
  }

  // One call on the task's shim.
  grpc::Status CallShim(grpc::ServerContext* ctx, const std::string& id, const std::string& method,
                    const google::protobuf::Message& req, google::protobuf::Message* resp) {
    return Run(ctx, [&](const std::string& ns) -> absl::Status {
      BERTH_ASSIGN_OR_RETURN(auto shim, manager_->Get(ns, id));
      return shim->Call(method, req, resp);
    });
  }

  // Task.Wait can block for the task's lifetime: it runs on a helper thread so that this
  // handler returns when the client goes away or the server shuts down (the helper ends when
  // the shim answers or its connection closes). Re-issuing Wait with a timeout instead would
  // pile up blocked calls inside the shim.
  static absl::Status WaitCancellable(grpc::ServerContext* ctx,
                                      const std::shared_ptr<runtime::Shim>& shim,
                                      const v2::WaitRequest& req, v2::WaitResponse* resp) {
    struct Pending {
      absl::Mutex mu;
      bool done ABSL_GUARDED_BY(mu) = false;
      absl::Status status ABSL_GUARDED_BY(mu);
      v2::WaitResponse resp ABSL_GUARDED_BY(mu);
    };
    auto p = std::make_shared<Pending>();
    BERTH_RETURN_IF_ERROR(ttrpc::StartDetached([shim, req, p] {
      v2::WaitResponse r;
      absl::Status st = shim->Call("Wait", req, &r);
      absl::MutexLock lock(&p->mu);
      p->status = st;
      p->resp = std::move(r);
      p->done = true;
    }));
    absl::MutexLock lock(&p->mu);
    while (!p->mu.AwaitWithTimeout(absl::Condition(&p->done), absl::Milliseconds(500))) {
      if (ctx->IsCancelled()) return absl::CancelledError("wait cancelled by the client");
    }
    *resp = p->resp;
    return p->status;
  }

  std::shared_ptr<containers::ContainerStore> containers_;
  std::shared_ptr<runtime::TaskManager> manager_;
};

}  // namespace

absl::Status RegisterTasksService(plugin::Registry& registry) {
  return registry.Add(plugin::Make<GrpcService>(
      {.type = plugin::kGrpc,
       .id = "tasks",
       .requires_types = {plugin::kRuntime, plugin::kService}},
      [](plugin::InitContext& ctx,
         const plugin::NoConfig&) -> absl::StatusOr<std::shared_ptr<GrpcService>> {
        BERTH_ASSIGN_OR_RETURN(auto store, ctx.GetById<containers::ContainerStore>(
                                               plugin::kService, containers::kContainersServiceId));
        BERTH_ASSIGN_OR_RETURN(auto manager, ctx.Get<runtime::TaskManager>(plugin::kRuntime));
        return std::make_shared<GrpcServiceOf<TasksService>>(std::move(store), std::move(manager));
      }));
}

}  // namespace berth::services
