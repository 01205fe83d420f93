#include "client/containers.h"

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "google/protobuf/empty.pb.h"

namespace berth::client {
namespace {

absl::Time ToTime(const google::protobuf::Timestamp& ts) {
  return absl::FromUnixSeconds(ts.seconds()) + absl::Nanoseconds(ts.nanos());
}

}  // namespace

Containers::Containers(std::shared_ptr<Connection> conn)
    : conn_(std::move(conn)), stub_(ctrpb::Containers::NewStub(conn_->channel())) {}

absl::StatusOr<ctrpb::Container> Containers::Create(const NewContainer& c,
                                                    const CallOptions& call) {
  auto ctx = conn_->NewContext(call);
  ctrpb::CreateContainerRequest req;
  ctrpb::Container* pc = req.mutable_container();
  pc->set_id(c.id);
  pc->set_image(c.image);
  pc->mutable_runtime()->set_name(c.runtime);
  pc->set_snapshotter(c.snapshotter);
  pc->set_snapshot_key(c.snapshot_key);
  pc->mutable_spec()->set_type_url(kSpecTypeUrl);
  pc->mutable_spec()->set_value(c.spec.dump());
  for (const auto& [k, v] : c.labels) (*pc->mutable_labels())[k] = v;
  ctrpb::CreateContainerResponse resp;
  auto s = stub_->Create(ctx.get(), req, &resp);
  if (!s.ok()) return FromGrpc(s, absl::StrCat("create container ", c.id));
  return resp.container();
}

absl::StatusOr<ctrpb::Container> Containers::Get(const std::string& id, const CallOptions& call) {
  auto ctx = conn_->NewContext(call);
  ctrpb::GetContainerRequest req;
  req.set_id(id);
  ctrpb::GetContainerResponse resp;
  auto s = stub_->Get(ctx.get(), req, &resp);
  if (!s.ok()) return FromGrpc(s, absl::StrCat("get container ", id));
  return resp.container();
}

absl::StatusOr<std::vector<ctrpb::Container>> Containers::List(
    const std::vector<std::string>& filters, const CallOptions& call) {
  auto ctx = conn_->NewContext(call);
  ctrpb::ListContainersRequest req;
  for (const auto& f : filters) req.add_filters(f);
  ctrpb::ListContainersResponse resp;
  auto s = stub_->List(ctx.get(), req, &resp);
  if (!s.ok()) return FromGrpc(s, "list containers");
  return std::vector<ctrpb::Container>(resp.containers().begin(), resp.containers().end());
}

absl::Status Containers::Delete(const std::string& id, const CallOptions& call) {
  auto ctx = conn_->NewContext(call);
  ctrpb::DeleteContainerRequest req;
  req.set_id(id);
  google::protobuf::Empty resp;
  return FromGrpc(stub_->Delete(ctx.get(), req, &resp), absl::StrCat("delete container ", id));
}

absl::StatusOr<nlohmann::json> Containers::SpecOf(const ctrpb::Container& c) {
  nlohmann::json j = nlohmann::json::parse(c.spec().value(), nullptr, false);
  if (j.is_discarded() || !j.is_object()) {
    return absl::InvalidArgumentError(absl::StrCat("container ", c.id(), ": spec is not JSON"));
  }
  return j;
}

Tasks::Tasks(std::shared_ptr<Connection> conn)
    : conn_(std::move(conn)), stub_(taskpb::Tasks::NewStub(conn_->channel())) {}

absl::StatusOr<uint32_t> Tasks::Create(const std::string& id,
                                       const std::vector<tpb_types::Mount>& rootfs,
                                       const FifoSet& io, const CallOptions& call,
                                       const std::string& runtime_path) {
  // Creating a task starts a shim: allow more than a quick call's deadline.
  CallOptions c = call;
  if (!c.timeout) c.timeout = std::max(conn_->options().timeout, absl::Minutes(2));
  auto ctx = conn_->NewContext(c);
  taskpb::CreateTaskRequest req;
  req.set_container_id(id);
  for (const auto& m : rootfs) *req.add_rootfs() = m;
  req.set_stdin(io.in);
  req.set_stdout(io.out);
  req.set_stderr(io.err);
  req.set_terminal(io.terminal);
  req.set_runtime_path(runtime_path);
  taskpb::CreateTaskResponse resp;
  auto s = stub_->Create(ctx.get(), req, &resp);
  if (!s.ok()) return FromGrpc(s, absl::StrCat("create task ", id));
  return resp.pid();
}

absl::StatusOr<uint32_t> Tasks::Start(const std::string& id, const std::string& exec_id,
                                      const CallOptions& call) {
  auto ctx = conn_->NewContext(call);
  taskpb::StartRequest req;
  req.set_container_id(id);
  req.set_exec_id(exec_id);
  taskpb::StartResponse resp;
  auto s = stub_->Start(ctx.get(), req, &resp);
  if (!s.ok()) {
    return FromGrpc(s, exec_id.empty() ? absl::StrCat("start task ", id)
                                       : absl::StrCat("start exec ", exec_id, " in ", id));
  }
  return resp.pid();
}

absl::StatusOr<ExitStatus> Tasks::Wait(const std::string& id, const std::string& exec_id,
                                       const CallOptions& call) {
  auto ctx = conn_->NewContext(call, /*stream=*/true);
  taskpb::WaitRequest req;
  req.set_container_id(id);
  req.set_exec_id(exec_id);
  taskpb::WaitResponse resp;
  auto s = stub_->Wait(ctx.get(), req, &resp);
  if (!s.ok()) return FromGrpc(s, absl::StrCat("wait for ", exec_id.empty() ? id : exec_id));
  return ExitStatus{resp.exit_status(), ToTime(resp.exited_at())};
}

absl::Status Tasks::Kill(const std::string& id, uint32_t signal, bool all,
                         const std::string& exec_id, const CallOptions& call) {
  auto ctx = conn_->NewContext(call);
  taskpb::KillRequest req;
  req.set_container_id(id);
  req.set_exec_id(exec_id);
  req.set_signal(signal);
  req.set_all(all);
  google::protobuf::Empty resp;
  return FromGrpc(stub_->Kill(ctx.get(), req, &resp), absl::StrCat("kill ", id));
}

absl::StatusOr<ExitStatus> Tasks::Delete(const std::string& id, const CallOptions& call) {
  auto ctx = conn_->NewContext(call);
  taskpb::DeleteTaskRequest req;
  req.set_container_id(id);
  taskpb::DeleteResponse resp;
  auto s = stub_->Delete(ctx.get(), req, &resp);
  if (!s.ok()) return FromGrpc(s, absl::StrCat("delete task ", id));
  return ExitStatus{resp.exit_status(), ToTime(resp.exited_at())};
}

absl::Status Tasks::DeleteProcess(const std::string& id, const std::string& exec_id,
                                  const CallOptions& call) {
  auto ctx = conn_->NewContext(call);
  taskpb::DeleteProcessRequest req;
  req.set_container_id(id);
  req.set_exec_id(exec_id);
  taskpb::DeleteResponse resp;
  return FromGrpc(stub_->DeleteProcess(ctx.get(), req, &resp),
                  absl::StrCat("delete exec ", exec_id, " in ", id));
}

absl::Status Tasks::Exec(const std::string& id, const std::string& exec_id,
                         const nlohmann::json& process_spec, const FifoSet& io,
                         const CallOptions& call) {
  auto ctx = conn_->NewContext(call);
  taskpb::ExecProcessRequest req;
  req.set_container_id(id);
  req.set_exec_id(exec_id);
  req.set_stdin(io.in);
  req.set_stdout(io.out);
  req.set_stderr(io.err);
  req.set_terminal(io.terminal);
  req.mutable_spec()->set_type_url(kProcessTypeUrl);
  req.mutable_spec()->set_value(process_spec.dump());
  google::protobuf::Empty resp;
  return FromGrpc(stub_->Exec(ctx.get(), req, &resp),
                  absl::StrCat("exec ", exec_id, " in ", id));
}

absl::Status Tasks::ResizePty(const std::string& id, const std::string& exec_id, uint32_t width,
                              uint32_t height, const CallOptions& call) {
  auto ctx = conn_->NewContext(call);
  taskpb::ResizePtyRequest req;
  req.set_container_id(id);
  req.set_exec_id(exec_id);
  req.set_width(width);
  req.set_height(height);
  google::protobuf::Empty resp;
  return FromGrpc(stub_->ResizePty(ctx.get(), req, &resp), absl::StrCat("resize pty of ", id));
}

absl::Status Tasks::CloseStdin(const std::string& id, const std::string& exec_id,
                               const CallOptions& call) {
  auto ctx = conn_->NewContext(call);
  taskpb::CloseIORequest req;
  req.set_container_id(id);
  req.set_exec_id(exec_id);
  req.set_stdin(true);
  google::protobuf::Empty resp;
  return FromGrpc(stub_->CloseIO(ctx.get(), req, &resp), absl::StrCat("close stdin of ", id));
}

absl::StatusOr<tasktypes::Process> Tasks::Get(const std::string& id, const std::string& exec_id,
                                              const CallOptions& call) {
  auto ctx = conn_->NewContext(call);
  taskpb::GetRequest req;
  req.set_container_id(id);
  req.set_exec_id(exec_id);
  taskpb::GetResponse resp;
  auto s = stub_->Get(ctx.get(), req, &resp);
  if (!s.ok()) return FromGrpc(s, absl::StrCat("get task ", id));
  return resp.process();
}

absl::StatusOr<std::vector<tasktypes::Process>> Tasks::List(const std::string& filter,
                                                            const CallOptions& call) {
  auto ctx = conn_->NewContext(call);
  taskpb::ListTasksRequest req;
  req.set_filter(filter);
  taskpb::ListTasksResponse resp;
  auto s = stub_->List(ctx.get(), req, &resp);
  if (!s.ok()) return FromGrpc(s, "list tasks");
  return std::vector<tasktypes::Process>(resp.tasks().begin(), resp.tasks().end());
}

absl::StatusOr<std::vector<tpb_types::Metric>> Tasks::Metrics(
    const std::vector<std::string>& filters, const CallOptions& call) {
  auto ctx = conn_->NewContext(call);
  taskpb::MetricsRequest req;
  for (const auto& f : filters) req.add_filters(f);
  taskpb::MetricsResponse resp;
  auto s = stub_->Metrics(ctx.get(), req, &resp);
  if (!s.ok()) return FromGrpc(s, "task metrics");
  return std::vector<tpb_types::Metric>(resp.metrics().begin(), resp.metrics().end());
}

std::string TaskStatusName(tasktypes::Status s) {
  switch (s) {
    case tasktypes::CREATED: return "created";
    case tasktypes::RUNNING: return "running";
    case tasktypes::STOPPED: return "stopped";
    case tasktypes::PAUSED: return "paused";
    case tasktypes::PAUSING: return "pausing";
    default: return "unknown";
  }
}

}  // namespace berth::client
