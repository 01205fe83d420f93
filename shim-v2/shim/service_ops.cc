// TaskService handlers other than Create/Start (service.cc).
#include <signal.h>
#include <unistd.h>

#include "containerd/events/task.pb.h"
#include "containerd/runtime/v2/task/shim.pb.h"
#include "core/mount/mount.h"
#include "core/status.h"
#include "core/status_macros.h"
#include "google/protobuf/empty.pb.h"
#include "shim-v2/shim/log.h"
#include "shim-v2/shim/service.h"
#include "shim-v2/shim/stats.h"

namespace berth::shim {
namespace task = ::containerd::task::v2;
namespace ev = ::containerd::events;

namespace {

constexpr int kCreated = 1, kRunning = 2, kStopped = 3, kPaused = 4;

template <typename T>
absl::StatusOr<T> Parse(const std::string& payload) {
  T msg;
  if (!msg.ParseFromString(payload)) {
    return absl::InvalidArgumentError(absl::StrCat("cannot decode ", msg.GetTypeName()));
  }
  return msg;
}

std::string Empty() { return google::protobuf::Empty().SerializeAsString(); }

void SetTime(google::protobuf::Timestamp* ts, absl::Time t) {
  if (t == absl::Time()) return;
  int64_t s = absl::ToUnixSeconds(t);
  ts->set_seconds(s);
  ts->set_nanos(static_cast<int32_t>(absl::ToInt64Nanoseconds(t - absl::FromUnixSeconds(s))));
}

}  // namespace

absl::StatusOr<std::string> TaskService::State(const ttrpc::CallContext&,
                                               const std::string& payload) {
  BERTH_ASSIGN_OR_RETURN(auto req, Parse<task::StateRequest>(payload));
  absl::MutexLock lock(&mu_);
  BERTH_ASSIGN_OR_RETURN(Container * c, FindContainer(req.id()));
  BERTH_ASSIGN_OR_RETURN(auto p, FindProcess(req.id(), req.exec_id()));
  task::StateResponse resp;
  resp.set_id(req.exec_id().empty() ? req.id() : req.exec_id());
  resp.set_exec_id(req.exec_id());
  resp.set_bundle(c->bundle);
  resp.set_pid(static_cast<uint32_t>(p->pid));
  int status = p->status;
  if (req.exec_id().empty() && c->paused && status == kRunning) status = kPaused;
  resp.set_status(static_cast<::containerd::v1::types::Status>(status));
  resp.set_stdin(p->stdio.in);
  resp.set_stdout(p->stdio.out);
  resp.set_stderr(p->stdio.err);
  resp.set_terminal(p->stdio.terminal);
  resp.set_exit_status(p->exit_status);
  if (p->exited) SetTime(resp.mutable_exited_at(), p->exited_at);
  return resp.SerializeAsString();
}

absl::StatusOr<std::string> TaskService::Delete(const ttrpc::CallContext&,
                                                const std::string& payload) {
  BERTH_ASSIGN_OR_RETURN(auto req, Parse<task::DeleteRequest>(payload));
  absl::MutexLock lock(&mu_);
  BERTH_ASSIGN_OR_RETURN(Container * c, FindContainer(req.id()));
  BERTH_ASSIGN_OR_RETURN(auto p, FindProcess(req.id(), req.exec_id()));
  if (p->status == kRunning && !p->exited) {
    return absl::FailedPreconditionError(
        absl::StrCat("cannot delete running process ", req.exec_id().empty() ? req.id()
                                                                             : req.exec_id()));
  }
  task::DeleteResponse resp;
  resp.set_pid(static_cast<uint32_t>(p->pid));
  resp.set_exit_status(p->exit_status);
  SetTime(resp.mutable_exited_at(), p->exited ? p->exited_at : absl::Now());
  if (!req.exec_id().empty()) {
    c->execs.erase(req.exec_id());
    return resp.SerializeAsString();
  }
  // Init: the runtime's state goes (force: a created-but-never-started init is killed), then
  // the container's mount namespace with the rootfs in it (mount_ns_pin.h), then the rootfs if
  // it is mounted in our namespace.
  absl::Status st = c->runtime->Delete(req.id(), /*force=*/true);
  if (!st.ok() && st.code() != absl::StatusCode::kNotFound) return st;
  if (c->mount_ns) c->mount_ns->Release();
  if (c->rootfs_mounts) {
    BERTH_RETURN_IF_ERROR(Annotate(mount::UnmountAll(c->bundle + "/rootfs"), "unmount rootfs"));
  }
  ev::TaskDelete e;
  e.set_container_id(req.id());
  e.set_pid(resp.pid());
  e.set_exit_status(resp.exit_status());
  *e.mutable_exited_at() = resp.exited_at();
  e.set_id(req.id());
  publisher_->Publish("/tasks/delete", e);
  containers_.erase(req.id());
  return resp.SerializeAsString();
}

absl::StatusOr<std::string> TaskService::Pids(const ttrpc::CallContext&,
                                              const std::string& payload) {
  BERTH_ASSIGN_OR_RETURN(auto req, Parse<task::PidsRequest>(payload));
  absl::MutexLock lock(&mu_);
  BERTH_ASSIGN_OR_RETURN(Container * c, FindContainer(req.id()));
  BERTH_ASSIGN_OR_RETURN(std::vector<pid_t> pids, c->runtime->Ps(req.id()));
  task::PidsResponse resp;
  for (pid_t pid : pids) resp.add_processes()->set_pid(static_cast<uint32_t>(pid));
  return resp.SerializeAsString();
}

absl::StatusOr<std::string> TaskService::Pause(const ttrpc::CallContext&,
                                               const std::string& payload) {
  BERTH_ASSIGN_OR_RETURN(auto req, Parse<task::PauseRequest>(payload));
  absl::MutexLock lock(&mu_);
  BERTH_ASSIGN_OR_RETURN(Container * c, FindContainer(req.id()));
  BERTH_RETURN_IF_ERROR(c->runtime->Pause(req.id()));
  c->paused = true;
  ev::TaskPaused e;
  e.set_container_id(req.id());
  publisher_->Publish("/tasks/paused", e);
  return Empty();
}

absl::StatusOr<std::string> TaskService::Resume(const ttrpc::CallContext&,
                                                const std::string& payload) {
  BERTH_ASSIGN_OR_RETURN(auto req, Parse<task::ResumeRequest>(payload));
  absl::MutexLock lock(&mu_);
  BERTH_ASSIGN_OR_RETURN(Container * c, FindContainer(req.id()));
  BERTH_RETURN_IF_ERROR(c->runtime->Resume(req.id()));
  c->paused = false;
  ev::TaskResumed e;
  e.set_container_id(req.id());
  publisher_->Publish("/tasks/resumed", e);
  return Empty();
}

absl::StatusOr<std::string> TaskService::Checkpoint(const ttrpc::CallContext&,
                                                    const std::string&) {
  return absl::UnimplementedError("checkpoint is not supported by io.containerd.berth.v2");
}

absl::StatusOr<std::string> TaskService::Kill(const ttrpc::CallContext&,
                                              const std::string& payload) {
  BERTH_ASSIGN_OR_RETURN(auto req, Parse<task::KillRequest>(payload));
  absl::MutexLock lock(&mu_);
  BERTH_ASSIGN_OR_RETURN(Container * c, FindContainer(req.id()));
  BERTH_ASSIGN_OR_RETURN(auto p, FindProcess(req.id(), req.exec_id()));
  if (!req.exec_id().empty()) {
    if (p->exited || p->pid <= 0) return absl::NotFoundError("process already finished");
    if (kill(p->pid, static_cast<int>(req.signal())) != 0) {
      return absl::NotFoundError("process already finished");
    }
    return Empty();
  }
  if (p->exited && !req.all()) return absl::NotFoundError("process already finished");
  absl::Status st = c->runtime->Kill(req.id(), static_cast<int>(req.signal()), req.all());
  if (!st.ok() && p->exited) return absl::NotFoundError("process already finished");
  BERTH_RETURN_IF_ERROR(st);
  return Empty();
}

absl::StatusOr<std::string> TaskService::Exec(const ttrpc::CallContext&,
                                              const std::string& payload) {
  BERTH_ASSIGN_OR_RETURN(auto req, Parse<task::ExecProcessRequest>(payload));
  absl::MutexLock lock(&mu_);
  BERTH_ASSIGN_OR_RETURN(Container * c, FindContainer(req.id()));
  if (c->execs.count(req.exec_id()) != 0) {
    return absl::AlreadyExistsError(absl::StrCat("exec ", req.exec_id(), " already exists"));
  }
  if (c->init->exited) return absl::FailedPreconditionError("container is not running");
  auto p = std::make_shared<Process>();
  p->exec_id = req.exec_id();
  p->stdio = {req.stdin(), req.stdout(), req.stderr(), req.terminal()};
  p->spec_json = req.spec().value();  // the OCI Process as JSON (containerd's typeurl)
  c->execs[req.exec_id()] = p;
  ev::TaskExecAdded e;
  e.set_container_id(req.id());
  e.set_exec_id(req.exec_id());
  publisher_->Publish("/tasks/exec-added", e);
  return Empty();
}

absl::StatusOr<std::string> TaskService::ResizePty(const ttrpc::CallContext&,
                                                   const std::string& payload) {
  BERTH_ASSIGN_OR_RETURN(auto req, Parse<task::ResizePtyRequest>(payload));
  absl::MutexLock lock(&mu_);
  BERTH_ASSIGN_OR_RETURN(auto p, FindProcess(req.id(), req.exec_id()));
  if (p->io == nullptr) return absl::FailedPreconditionError("process has no io");
  BERTH_RETURN_IF_ERROR(p->io->Resize(req.width(), req.height()));
  return Empty();
}

absl::StatusOr<std::string> TaskService::CloseIO(const ttrpc::CallContext&,
                                                 const std::string& payload) {
  BERTH_ASSIGN_OR_RETURN(auto req, Parse<task::CloseIORequest>(payload));
  absl::MutexLock lock(&mu_);
  BERTH_ASSIGN_OR_RETURN(auto p, FindProcess(req.id(), req.exec_id()));
  if (req.stdin() && p->io != nullptr) p->io->CloseStdin();
  return Empty();
}

absl::StatusOr<std::string> TaskService::Update(const ttrpc::CallContext&,
                                                const std::string& payload) {
  BERTH_ASSIGN_OR_RETURN(auto req, Parse<task::UpdateTaskRequest>(payload));
  absl::MutexLock lock(&mu_);
  BERTH_ASSIGN_OR_RETURN(Container * c, FindContainer(req.id()));
  BERTH_RETURN_IF_ERROR(c->runtime->Update(req.id(), req.resources().value()));
  return Empty();
}

absl::StatusOr<std::string> TaskService::Wait(const ttrpc::CallContext& ctx,
                                              const std::string& payload) {
  BERTH_ASSIGN_OR_RETURN(auto req, Parse<task::WaitRequest>(payload));
  absl::MutexLock lock(&mu_);
  BERTH_ASSIGN_OR_RETURN(auto p, FindProcess(req.id(), req.exec_id()));
  // Releases mu_ while waiting, so other calls proceed.
  if (!mu_.AwaitWithDeadline(absl::Condition(&p->exited), ctx.deadline)) {
    return absl::DeadlineExceededError("wait: deadline exceeded");
  }
  task::WaitResponse resp;
  resp.set_exit_status(p->exit_status);
  SetTime(resp.mutable_exited_at(), p->exited_at);
  return resp.SerializeAsString();
}

absl::StatusOr<std::string> TaskService::Stats(const ttrpc::CallContext&,
                                               const std::string& payload) {
  BERTH_ASSIGN_OR_RETURN(auto req, Parse<task::StatsRequest>(payload));
  std::string cgroups_path;
  {
    absl::MutexLock lock(&mu_);
    BERTH_ASSIGN_OR_RETURN(Container * c, FindContainer(req.id()));
    cgroups_path = c->cgroups_path;
  }
  if (cgroups_path.empty()) {
    return absl::NotFoundError(absl::StrCat("container ", req.id(), " has no cgroups path"));
  }
  BERTH_ASSIGN_OR_RETURN(auto any, ReadMetrics(cgroups_path));
  task::StatsResponse resp;
  *resp.mutable_stats() = std::move(any);
  return resp.SerializeAsString();
}

absl::StatusOr<std::string> TaskService::Connect(const ttrpc::CallContext&,
                                                 const std::string& payload) {
  BERTH_ASSIGN_OR_RETURN(auto req, Parse<task::ConnectRequest>(payload));
  absl::MutexLock lock(&mu_);
  task::ConnectResponse resp;
  resp.set_shim_pid(static_cast<uint32_t>(getpid()));
  auto it = containers_.find(req.id());
  if (it != containers_.end() && it->second.init) {
    resp.set_task_pid(static_cast<uint32_t>(it->second.init->pid));
  }
  resp.set_version("berth");
  return resp.SerializeAsString();
}

absl::StatusOr<std::string> TaskService::Shutdown(const ttrpc::CallContext&,
                                                  const std::string& payload) {
  BERTH_ASSIGN_OR_RETURN(auto req, Parse<task::ShutdownRequest>(payload));
  {
    absl::MutexLock lock(&mu_);
    // A grouped shim keeps serving while other containers remain (containerd's semantics).
    if (!req.now() && !containers_.empty()) return Empty();
  }
  if (on_shutdown_) on_shutdown_();
  return Empty();
}

}  // namespace berth::shim
