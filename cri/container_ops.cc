// Container state refresh, status, listing, exec, updates and stats; the core's setup.
#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <random>

#include "core/status_macros.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "core/fs.h"
#include "core/log.h"
#include "cri/cni.h"
#include "cri/filters.h"
#include "cri/runtime.h"
#include "cri/spec.h"
#include "cri/stats.h"

namespace berth::cri {

namespace task = ::containerd::task::v2;

// CRI leaves ExecSync output limits to the runtime: each stream is capped like containerd's.
constexpr size_t kMaxOutput = 16 << 20;

std::string NewId() {
  static thread_local std::mt19937_64 rng{std::random_device{}()};
  std::string id;
  for (int i = 0; i < 4; ++i) absl::StrAppend(&id, absl::Hex(rng(), absl::kZeroPad16));
  return id;
}

int64_t NowNanos() { return absl::ToUnixNanos(absl::Now()); }

CriRuntime::CriRuntime(CriDeps deps)
    : deps_(std::move(deps)), store_(deps_.root), images_(deps_.md, kCriNamespace) {}

CriRuntime::~CriRuntime() {
  absl::MutexLock lock(&mu_);
  loggers_.clear();
}

absl::Status CriRuntime::Init() {
  auto adj = fs::ReadFile("/proc/self/oom_score_adj");
  if (adj.ok()) (void)absl::SimpleAtoi(absl::StripAsciiWhitespace(*adj), &daemon_oom_score_adj_);
  BERTH_RETURN_IF_ERROR(fs::MkdirAll(deps_.state, 0711));
  BERTH_RETURN_IF_ERROR(store_.Load());
  // Containers that kept running across a restart: reopen their fifos (the shims still hold
  // the write ends) so their logs continue.
  for (const auto& r : store_.Containers()) {
    if (r.state != v1::CONTAINER_RUNNING) continue;
    auto logger = ContainerLogger::Start(r.stdout_fifo, r.stderr_fifo, r.log_path,
                                         deps_.config.max_container_log_line_size);
    if (logger.ok()) {
      absl::MutexLock lock(&mu_);
      loggers_[r.id] = std::move(*logger);
    }
  }
  return absl::OkStatus();
}

absl::Status CriRuntime::NetworkStatus() const {
  return LoadCniNetwork(deps_.config.cni_conf_dir).status();
}

void CriRuntime::SetPodCidr(const std::string& cidr) {
  absl::MutexLock lock(&mu_);
  pod_cidr_ = cidr;
}

absl::Status CriRuntime::FinishExit(ContainerRecord* r, bool) {
  // The cgroup lives until the task is deleted: read its OOM-kill count first (containerd
  // learns the same from the shim's TaskOOM event).
  auto usage = ReadCgroupUsage(kCgroupRoot, CgroupsPath(r->id));
  bool oom_killed = usage.ok() && usage->oom_kills > 0;
  // Two callers may refresh the same exited container at once: the first one records the exit.
  if (auto cur = store_.GetContainer(r->id); cur.ok() && cur->state == v1::CONTAINER_EXITED) {
    *r = *cur;
    return absl::OkStatus();
  }
  auto exit = deps_.tasks->Delete(ns_, r->id);
  r->state = v1::CONTAINER_EXITED;
  if (exit.ok()) {
    r->exit_code = static_cast<int32_t>(exit->status);
    r->finished_at = absl::ToUnixNanos(exit->exited_at);
  } else if (auto rec = deps_.tasks->RecordedExit(ns_, r->id)) {
    r->exit_code = static_cast<int32_t>(rec->status);
    r->finished_at = absl::ToUnixNanos(rec->exited_at);
  } else {
    r->exit_code = 255;
    r->reason = "Unknown";
    r->message = "the task is gone and its exit was not recorded";
  }
  if (r->finished_at <= 0) r->finished_at = NowNanos();
  if (oom_killed && r->exit_code != 0) {
    r->reason = "OOMKilled";
  } else if (r->reason.empty()) {
    r->reason = r->exit_code == 0 ? "Completed" : "Error";
  }
  BERTH_RETURN_IF_ERROR(store_.Put(*r));
  PublishEvent(r->id, r->sandbox_id, v1::CONTAINER_STOPPED_EVENT);
  return absl::OkStatus();
}

absl::StatusOr<ContainerRecord> CriRuntime::Refresh(const std::string& id) {
  BERTH_ASSIGN_OR_RETURN(ContainerRecord r, store_.GetContainer(id));
  if (r.state != v1::CONTAINER_RUNNING) return r;
  auto shim = deps_.tasks->Get(ns_, r.id);
  if (shim.ok()) {
    task::StateRequest req;
    req.set_id(r.id);
    task::StateResponse state;
    absl::Status st = (*shim)->Call("State", req, &state, absl::Seconds(10));
    if (st.ok() && state.status() != ::containerd::v1::types::STOPPED) return r;
    if (!st.ok() && !absl::IsUnavailable(st) && !absl::IsNotFound(st)) return st;
  }
  BERTH_RETURN_IF_ERROR(FinishExit(&r, false));
  return r;
}

absl::Status CriRuntime::ContainerStatus(const std::string& id, bool verbose,
                                         v1::ContainerStatusResponse* out) {
  BERTH_ASSIGN_OR_RETURN(ContainerRecord r, Refresh(id));
  FillContainerStatus(r, out->mutable_status());
  if (verbose) {
    nlohmann::json info = {{"sandboxID", r.sandbox_id}, {"runtimeType", r.runtime},
                           {"snapshotKey", r.snapshot_key}};
    (*out->mutable_info())["info"] = info.dump();
  }
  return absl::OkStatus();
}

void CriRuntime::FillContainerStatus(const ContainerRecord& r, v1::ContainerStatus* s) {
  s->set_id(r.id);
  *s->mutable_metadata() = r.config.metadata();
  s->set_state(r.state);
  s->set_created_at(r.created_at);
  s->set_started_at(r.started_at);
  s->set_finished_at(r.finished_at);
  s->set_exit_code(r.exit_code);
  *s->mutable_image() = r.config.image();
  s->mutable_image()->set_image(r.image_ref);
  s->set_image_ref(r.image_id);
  s->set_image_id(r.image_id);
  s->set_reason(r.reason);
  s->set_message(r.message);
  *s->mutable_labels() = r.config.labels();
  *s->mutable_annotations() = r.config.annotations();
  *s->mutable_mounts() = r.config.mounts();
  s->set_log_path(r.log_path);
  if (r.config.linux().has_resources()) *s->mutable_resources()->mutable_linux() = r.config.linux().resources();
}

absl::Status CriRuntime::ListContainers(const v1::ContainerFilter* filter,
                                        v1::ListContainersResponse* out) {
  for (const auto& stale : store_.Containers()) {
    auto r = stale.state == v1::CONTAINER_RUNNING ? Refresh(stale.id) : absl::StatusOr<ContainerRecord>(stale);
    if (!r.ok()) continue;
    if (filter != nullptr && !MatchContainer(*filter, *r)) continue;
    auto* c = out->add_containers();
    c->set_id(r->id);
    c->set_pod_sandbox_id(r->sandbox_id);
    *c->mutable_metadata() = r->config.metadata();
    *c->mutable_image() = r->config.image();
    c->set_image_ref(r->image_id);
    c->set_image_id(r->image_id);
    c->set_state(r->state);
    c->set_created_at(r->created_at);
    *c->mutable_labels() = r->config.labels();
    *c->mutable_annotations() = r->config.annotations();
  }
  return absl::OkStatus();
}

absl::Status CriRuntime::ExecSync(const v1::ExecSyncRequest& req, v1::ExecSyncResponse* out) {
  if (req.cmd_size() == 0) return absl::InvalidArgumentError("exec command is empty");
  BERTH_ASSIGN_OR_RETURN(ContainerRecord r, Refresh(req.container_id()));
  if (r.state != v1::CONTAINER_RUNNING) {
    return absl::FailedPreconditionError(absl::StrCat("container ", r.id, " is not running"));
  }
  BERTH_ASSIGN_OR_RETURN(auto shim, deps_.tasks->Get(ns_, r.id));
  BERTH_ASSIGN_OR_RETURN(containers::Container c, deps_.containers->Get(ns_, r.id));
  nlohmann::json spec = nlohmann::json::parse(c.spec.value(), nullptr, false);
  nlohmann::json process = spec.is_object() ? spec["process"] : nlohmann::json::object();
  process["args"] = std::vector<std::string>(req.cmd().begin(), req.cmd().end());
  process["terminal"] = false;
  std::string exec_id = NewId().substr(0, 32);
  std::string dir = absl::StrCat(deps_.state, "/containers/", r.id);
  std::string fo = absl::StrCat(dir, "/exec-", exec_id, "-stdout"), fe = absl::StrCat(dir, "/exec-", exec_id, "-stderr");
  BERTH_RETURN_IF_ERROR(MakeFifo(fo));
  BERTH_RETURN_IF_ERROR(MakeFifo(fe));
  auto bufs = std::make_shared<std::array<std::string, 2>>();
  auto pump = FifoPump::Start({fo, fe}, [bufs](int i, const char* d, size_t n) {
    auto& b = (*bufs)[i];
    b.append(d, std::min(n, kMaxOutput - std::min(kMaxOutput, b.size())));
  }, nullptr);
  auto cleanup = [&] { ::unlink(fo.c_str()); ::unlink(fe.c_str()); };
  if (!pump.ok()) { cleanup(); return pump.status(); }
  task::ExecProcessRequest ereq;
  ereq.set_id(r.id);
  ereq.set_exec_id(exec_id);
  ereq.set_stdout(fo);
  ereq.set_stderr(fe);
  ereq.mutable_spec()->set_type_url("types.containerd.io/opencontainers/runtime-spec/1/Process");
  ereq.mutable_spec()->set_value(process.dump());
  absl::Status st = shim->Call("Exec", ereq, nullptr, absl::Seconds(30));
  task::StartRequest sreq;
  sreq.set_id(r.id);
  sreq.set_exec_id(exec_id);
  task::StartResponse sresp;
  if (st.ok()) st = shim->Call("Start", sreq, &sresp, absl::Seconds(30));
  task::WaitResponse wresp;
  bool timed_out = false;
  if (st.ok()) {
    task::WaitRequest wreq;
    wreq.set_id(r.id);
    wreq.set_exec_id(exec_id);
    absl::Duration timeout = req.timeout() > 0 ? absl::Seconds(req.timeout()) : absl::ZeroDuration();
    st = shim->Call("Wait", wreq, &wresp, timeout);
    if (absl::IsDeadlineExceeded(st) || (req.timeout() > 0 && absl::IsUnavailable(st))) {
      timed_out = true;
      task::KillRequest kreq;
      kreq.set_id(r.id);
      kreq.set_exec_id(exec_id);
      kreq.set_signal(SIGKILL);
      shim->Call("Kill", kreq, nullptr, absl::Seconds(10)).IgnoreError();
    }
  }
  task::DeleteRequest dreq;
  dreq.set_id(r.id);
  dreq.set_exec_id(exec_id);
  task::DeleteResponse dresp;
  shim->Call("Delete", dreq, &dresp, absl::Seconds(10)).IgnoreError();
  (*pump)->WaitDone(absl::Seconds(2));
  (*pump)->Stop();
  cleanup();
  if (timed_out) {
    return absl::DeadlineExceededError(absl::StrCat("exec in ", r.id, " timed out after ", req.timeout(), "s"));
  }
  BERTH_RETURN_IF_ERROR(st);
  out->set_stdout((*bufs)[0]);
  out->set_stderr((*bufs)[1]);
  out->set_exit_code(static_cast<int32_t>(wresp.exit_status()));
  return absl::OkStatus();
}

absl::Status CriRuntime::UpdateContainerResources(const std::string& id,
                                                  const v1::LinuxContainerResources& res) {
  BERTH_ASSIGN_OR_RETURN(ContainerRecord r, Refresh(id));
  if (r.state == v1::CONTAINER_RUNNING) {
    BERTH_ASSIGN_OR_RETURN(auto shim, deps_.tasks->Get(ns_, r.id));
    task::UpdateTaskRequest req;
    req.set_id(r.id);
    req.mutable_resources()->set_type_url("types.containerd.io/opencontainers/runtime-spec/1/LinuxResources");
    req.mutable_resources()->set_value(LinuxResources(res).dump());
    BERTH_RETURN_IF_ERROR(shim->Call("Update", req, nullptr, absl::Seconds(30)));
  } else if (r.state == v1::CONTAINER_EXITED) {
    return absl::FailedPreconditionError(absl::StrCat("container ", r.id, " has exited"));
  }
  *r.config.mutable_linux()->mutable_resources() = res;
  return store_.Put(r);
}

absl::Status CriRuntime::ReopenContainerLog(const std::string& id) {
  BERTH_ASSIGN_OR_RETURN(ContainerRecord r, Refresh(id));
  if (r.state != v1::CONTAINER_RUNNING) {
    return absl::FailedPreconditionError(absl::StrCat("container ", r.id, " is not running"));
  }
  absl::MutexLock lock(&mu_);
  auto it = loggers_.find(r.id);
  if (it == loggers_.end()) return absl::FailedPreconditionError(absl::StrCat("container ", r.id, " has no log pump"));
  return it->second->Reopen();
}

}  // namespace berth::cri
