#include "shim-v2/shim/service.h"

#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include "containerd/events/task.pb.h"
#include "containerd/runc/options/oci.pb.h"
#include "containerd/runtime/v2/task/shim.pb.h"
#include "absl/strings/match.h"
#include "core/status.h"
#include "core/status_macros.h"
#include "google/protobuf/empty.pb.h"
#include "shim-v2/shim/log.h"
#include "shim-v2/shim/oom.h"
#include "shim-v2/shim/reaper.h"
#include "shim-v2/shim/stats.h"
#include "shim-v2/ttrpc/thread.h"

namespace berth::shim {
namespace task = ::containerd::task::v2;
namespace ev = ::containerd::events;

namespace {

constexpr int kCreated = 1, kRunning = 2, kStopped = 3;

template <typename T>
absl::StatusOr<T> Parse(const std::string& payload) {
  T msg;
  if (!msg.ParseFromString(payload)) {
    return absl::InvalidArgumentError(absl::StrCat("cannot decode ", msg.GetTypeName()));
  }
  return msg;
}

void SetTime(google::protobuf::Timestamp* ts, absl::Time t) {
  int64_t s = absl::ToUnixSeconds(t);
  ts->set_seconds(s);
  ts->set_nanos(static_cast<int32_t>(absl::ToInt64Nanoseconds(t - absl::FromUnixSeconds(s))));
}

}  // namespace

TaskService::TaskService(std::string ns, Publisher* publisher, RuntimeFactory factory,
                         std::function<void()> on_shutdown, std::function<void()> on_started)
    : ns_(std::move(ns)),
      publisher_(publisher),
      factory_(std::move(factory)),
      on_shutdown_(std::move(on_shutdown)),
      on_started_(std::move(on_started)) {
  methods_ = {{"State", &TaskService::State},       {"Create", &TaskService::Create},
              {"Start", &TaskService::Start},       {"Delete", &TaskService::Delete},
              {"Pids", &TaskService::Pids},         {"Pause", &TaskService::Pause},
              {"Resume", &TaskService::Resume},     {"Checkpoint", &TaskService::Checkpoint},
              {"Kill", &TaskService::Kill},         {"Exec", &TaskService::Exec},
              {"ResizePty", &TaskService::ResizePty}, {"CloseIO", &TaskService::CloseIO},
              {"Update", &TaskService::Update},     {"Wait", &TaskService::Wait},
              {"Stats", &TaskService::Stats},       {"Connect", &TaskService::Connect},
              {"Shutdown", &TaskService::Shutdown}};
}

void TaskService::Register(ttrpc::Server& server) {
  for (const auto& [name, fn] : methods_) {
    std::string method = name;
    server.Register("containerd.task.v2.Task", method,
                    [this, method](const ttrpc::CallContext& ctx, const std::string& payload) {
                      return Handle(method, ctx, payload);
                    });
  }
}

absl::StatusOr<std::string> TaskService::Handle(const std::string& method,
                                                const ttrpc::CallContext& ctx,
                                                const std::string& payload) {
  auto it = methods_.find(method);
  if (it == methods_.end()) return absl::UnimplementedError(method);
  absl::StatusOr<std::string> out = (this->*(it->second))(ctx, payload);
  if (!out.ok()) Log("debug", absl::StrCat(method, ": ", out.status().ToString()));
  return out;
}

absl::StatusOr<TaskService::Container*> TaskService::FindContainer(const std::string& id) {
  auto it = containers_.find(id);
  if (it == containers_.end()) {
    return absl::NotFoundError(absl::StrCat("container ", id, " not found"));
  }
  return &it->second;
}

absl::StatusOr<std::shared_ptr<TaskService::Process>> TaskService::FindProcess(
    const std::string& id, const std::string& exec_id) {
  BERTH_ASSIGN_OR_RETURN(Container * c, FindContainer(id));
  if (exec_id.empty()) return c->init;
  auto it = c->execs.find(exec_id);
  if (it == c->execs.end()) {
    return absl::NotFoundError(absl::StrCat("process ", exec_id, " not found in ", id));
  }
  return it->second;
}

void TaskService::WatchExit(const std::string& container_id, std::shared_ptr<Process> p) {
  // The reaper thread must never block on mu_ (a handler holding mu_ may be waiting for the
  // reaper to report its runtime command): handle the exit on a thread of its own.
  Reaper::Get().OnExit(p->pid, [this, container_id, p](int code) {
    absl::Status st = ttrpc::StartDetached(
        [this, container_id, p, code] { OnExit(container_id, p, code); }, 64 * 1024);
    if (!st.ok()) OnExit(container_id, p, code);
  });
}

void TaskService::OnExit(const std::string& container_id, std::shared_ptr<Process> p, int code) {
  std::shared_ptr<MountNamespacePin> mount_ns;
  {
    absl::MutexLock lock(&mu_);
    ReportExit(container_id, *p, code);
    auto it = containers_.find(container_id);
    if (p->exec_id.empty() && it != containers_.end()) mount_ns = it->second.mount_ns;
  }
  // After the exit went out (and Wait was woken): the namespace's teardown overlaps with what
  // the client does next instead of delaying the exit.
  if (mount_ns) mount_ns->Release();
}

void TaskService::ReportExit(const std::string& container_id, Process& p, int code) {
  p.exit_status = static_cast<uint32_t>(code);
  p.exited_at = absl::Now();
  p.status = kStopped;
  ev::TaskExit e;
  e.set_container_id(container_id);
  e.set_id(p.exec_id.empty() ? container_id : p.exec_id);
  e.set_pid(static_cast<uint32_t>(p.pid));
  e.set_exit_status(p.exit_status);
  SetTime(e.mutable_exited_at(), p.exited_at);
  publisher_->Publish("/tasks/exit", e);
  p.exited = true;  // wakes Wait (mu_ conditions are re-evaluated on unlock)
}

absl::StatusOr<std::string> TaskService::Create(const ttrpc::CallContext&,
                                                const std::string& payload) {
  BERTH_ASSIGN_OR_RETURN(auto req, Parse<task::CreateTaskRequest>(payload));
  if (!req.checkpoint().empty()) return absl::UnimplementedError("checkpoint restore");
  std::string binary_name, root;
  bool no_pivot = false, no_keyring = false;
  if (req.has_options() && absl::EndsWith(req.options().type_url(), "containerd.runc.v1.Options")) {
    ::containerd::runc::v1::Options opts;
    if (opts.ParseFromString(req.options().value())) {
      binary_name = opts.binary_name();
      root = opts.root();
      no_pivot = opts.no_pivot_root();
      no_keyring = opts.no_new_keyring();
    }
  }
  absl::MutexLock lock(&mu_);
  if (containers_.count(req.id()) != 0) {
    return absl::AlreadyExistsError(absl::StrCat("container ", req.id(), " already exists"));
  }
  Container c;
  c.id = req.id();
  c.bundle = req.bundle();
  c.runtime = factory_(c.bundle, binary_name, root);
  auto p = std::make_shared<Process>();
  p->stdio = {req.stdin(), req.stdout(), req.stderr(), req.terminal()};
  absl::StatusOr<std::unique_ptr<ProcessIo>> io = ProcessIo::Open(p->stdio, c.id, ns_);
  if (!io.ok()) return Annotate(io.status(), "open stdio");
  p->io = std::move(io).value();
  CreateOptions copts{c.id, c.bundle, p->io->ChildFds(), p->io->ConsoleSocket(), no_pivot,
                      no_keyring};
  for (const auto& m : req.rootfs()) {
    copts.rootfs.push_back({m.type(), m.source(), "", {m.options().begin(), m.options().end()}});
  }
  c.rootfs_mounts = !copts.rootfs.empty();
  absl::StatusOr<Created> created = c.runtime->Create(copts);
  if (!created.ok()) {
    p->io.reset();
    return created.status();
  }
  p->pid = created->pid;
  c.cgroups_path = created->cgroups_path;
  p->status = kCreated;
  if (absl::Status st = p->io->AfterStart(); !st.ok()) Log("warn", st.ToString());
  c.init = p;
  c.mount_ns = std::make_shared<MountNamespacePin>(p->pid);
  WatchExit(c.id, p);
  if (!c.cgroups_path.empty()) {
    std::string id = c.id;
    absl::Status st = WatchOom(c.cgroups_path, [this, id] {
      ev::TaskOOM e;
      e.set_container_id(id);
      publisher_->Publish("/tasks/oom", e);
    });
    if (!st.ok()) Log("debug", absl::StrCat("oom events for ", id, ": ", st.ToString()));
  }
  ev::TaskCreate e;
  e.set_container_id(c.id);
  e.set_bundle(c.bundle);
  *e.mutable_rootfs() = req.rootfs();
  e.mutable_io()->set_stdin(req.stdin());
  e.mutable_io()->set_stdout(req.stdout());
  e.mutable_io()->set_stderr(req.stderr());
  e.mutable_io()->set_terminal(req.terminal());
  e.set_pid(static_cast<uint32_t>(p->pid));
  publisher_->Publish("/tasks/create", e);
  std::string id = c.id;
  containers_.emplace(id, std::move(c));
  task::CreateTaskResponse resp;
  resp.set_pid(static_cast<uint32_t>(p->pid));
  return resp.SerializeAsString();
}

absl::StatusOr<std::string> TaskService::Start(const ttrpc::CallContext&,
                                               const std::string& payload) {
  BERTH_ASSIGN_OR_RETURN(auto req, Parse<task::StartRequest>(payload));
  absl::MutexLock lock(&mu_);
  BERTH_ASSIGN_OR_RETURN(Container * c, FindContainer(req.id()));
  BERTH_ASSIGN_OR_RETURN(auto p, FindProcess(req.id(), req.exec_id()));
  if (p->status != kCreated || p->exited) {
    return absl::FailedPreconditionError(
        absl::StrCat("process ", req.exec_id().empty() ? req.id() : req.exec_id(),
                     " is not in the created state"));
  }
  if (req.exec_id().empty()) {
    BERTH_RETURN_IF_ERROR(c->runtime->Start(req.id()));
    if (!p->exited) p->status = kRunning;
    ev::TaskStart e;
    e.set_container_id(req.id());
    e.set_pid(static_cast<uint32_t>(p->pid));
    publisher_->Publish("/tasks/start", e);
    if (on_started_) on_started_();
  } else {
    if (c->init->exited) return absl::FailedPreconditionError("container is not running");
    BERTH_ASSIGN_OR_RETURN(auto io, ProcessIo::Open(p->stdio, req.id(), ns_));
    p->io = std::move(io);
    ExecOptions eopts{req.id(), req.exec_id(), p->spec_json, p->io->ChildFds(),
                      p->io->ConsoleSocket()};
    absl::StatusOr<pid_t> pid = c->runtime->Exec(eopts);
    if (!pid.ok()) {
      p->io.reset();
      return pid.status();
    }
    p->pid = *pid;
    p->status = kRunning;
    if (absl::Status st = p->io->AfterStart(); !st.ok()) Log("warn", st.ToString());
    WatchExit(req.id(), p);
    ev::TaskExecStarted e;
    e.set_container_id(req.id());
    e.set_exec_id(req.exec_id());
    e.set_pid(static_cast<uint32_t>(p->pid));
    publisher_->Publish("/tasks/exec-started", e);
  }
  task::StartResponse resp;
  resp.set_pid(static_cast<uint32_t>(p->pid));
  return resp.SerializeAsString();
}

}  // namespace berth::shim
