// Container lifecycle: create (image, snapshot, spec, containerd record), start (task through
// the runtime manager, logs pumped in the CRI format), stop, remove.
#include <signal.h>

#include "core/status_macros.h"
#include "absl/strings/str_cat.h"
#include "core/fs.h"
#include "core/log.h"
#include "core/mount/temp_mount.h"
#include "cri/passwd.h"
#include "cri/spec.h"
#include "cri/runtime.h"
#include "services/common/mount_convert.h"

namespace berth::cri {
namespace {

int SignalNumber(const std::string& name) {
  static const std::map<std::string, int> kSignals = {
      {"SIGTERM", SIGTERM}, {"SIGKILL", SIGKILL}, {"SIGINT", SIGINT}, {"SIGQUIT", SIGQUIT},
      {"SIGHUP", SIGHUP},   {"SIGUSR1", SIGUSR1}, {"SIGUSR2", SIGUSR2}, {"SIGWINCH", SIGWINCH}};
  std::string n = name.rfind("SIG", 0) == 0 ? name : "SIG" + name;
  auto it = kSignals.find(n);
  return it == kSignals.end() ? SIGTERM : it->second;
}

// The user spec that needs the image's /etc/passwd: CRI run_as_username (with run_as_group as
// the group), else an image User with a name in it when CRI gave no run_as_user. "" otherwise.
std::string NamedUser(const v1::ContainerConfig& c, const std::string& image_user) {
  const auto& sc = c.linux().security_context();
  if (!sc.run_as_username().empty()) return sc.run_as_username();
  if (sc.has_run_as_user() || image_user.empty()) return "";
  bool numeric = std::all_of(image_user.begin(), image_user.end(),
                             [](char ch) { return ch == ':' || (ch >= '0' && ch <= '9'); });
  return numeric ? "" : image_user;
}

}  // namespace

absl::Status CriRuntime::ResolveImageUser(const std::vector<mount::Mount>& rootfs,
                                          const std::string& user_spec, bool keep_gid,
                                          nlohmann::json* spec) {
  std::string passwd, group;
  absl::Status read = mount::WithTempMount(rootfs, [&](const std::string& root) -> absl::Status {
    auto p = ReadRootfsFile(root, "etc/passwd");
    if (!p.ok() && !absl::IsNotFound(p.status())) return p.status();
    passwd = p.value_or("");
    group = ReadRootfsFile(root, "etc/group").value_or("");
    return absl::OkStatus();
  }, deps_.state);
  BERTH_RETURN_IF_ERROR(read);
  auto u = ResolveUserSpec(user_spec, passwd, group);
  if (!u.ok()) {
    // CRI: a user the image does not know is the caller's mistake, not a runtime failure.
    return absl::InvalidArgumentError(absl::StrCat("user \"", user_spec, "\": ", u.status().message()));
  }
  nlohmann::json& user = (*spec)["process"]["user"];
  user["uid"] = u->uid;
  // An explicit CRI run_as_group (already in the spec) wins over the passwd entry's group.
  if (!keep_gid) user["gid"] = u->gid;
  std::string name = user_spec.substr(0, user_spec.find(':'));
  for (int64_t g : GroupsOfUser(group, name)) user["additionalGids"].push_back(g);
  return absl::OkStatus();
}

absl::StatusOr<std::string> CriRuntime::TargetPidNamespace(const std::string& sandbox_id,
                                                           const std::string& target_id) {
  auto target = Refresh(target_id);
  if (!target.ok() || target->sandbox_id != sandbox_id) {
    return absl::InvalidArgumentError(absl::StrCat("pid namespace target container \"", target_id,
                                                   "\" is not a container of pod ", sandbox_id));
  }
  if (target->state != v1::CONTAINER_RUNNING) {
    return absl::FailedPreconditionError(absl::StrCat("pid namespace target ", target->id, " is not running"));
  }
  BERTH_ASSIGN_OR_RETURN(auto shim, deps_.tasks->Get(ns_, target->id));
  ::containerd::task::v2::StateRequest req;
  req.set_id(target->id);
  ::containerd::task::v2::StateResponse state;
  BERTH_RETURN_IF_ERROR(shim->Call("State", req, &state, absl::Seconds(10)));
  return absl::StrCat("/proc/", state.pid(), "/ns/pid");
}

absl::StatusOr<std::string> CriRuntime::CreateContainer(const std::string& sandbox_id,
                                                        const v1::ContainerConfig& config) {
  if (config.metadata().name().empty()) return absl::InvalidArgumentError("container metadata name is empty");
  BERTH_ASSIGN_OR_RETURN(SandboxRecord sb, store_.GetSandbox(sandbox_id));
  if (sb.state != v1::SANDBOX_READY) {
    return absl::FailedPreconditionError(absl::StrCat("sandbox ", sb.id, " is not ready"));
  }
  BERTH_ASSIGN_OR_RETURN(ImageInfo image, images_.Resolve(config.image().image()));
  std::string target_pid_ns;
  if (const auto& nso = config.linux().security_context().namespace_options(); nso.pid() == v1::TARGET) {
    BERTH_ASSIGN_OR_RETURN(target_pid_ns, TargetPidNamespace(sb.id, nso.target_id()));
  }
  absl::MutexLock lock(&mu_);
  ContainerRecord r;
  r.id = NewId();
  r.sandbox_id = sb.id;
  r.config = config;
  r.image_id = image.id;
  r.image_ref = image.repo_tags.empty() ? (image.repo_digests.empty() ? image.id : image.repo_digests[0])
                                        : image.repo_tags[0];
  r.created_at = NowNanos();
  std::string name = ContainerName(config, sb.config);
  BERTH_RETURN_IF_ERROR(store_.Reserve(name, r.id));
  std::string dir = absl::StrCat(deps_.state, "/containers/", r.id);
  auto* sn_it = &deps_.md->snapshotters;
  std::string snapshotter = deps_.config.snapshotter;
  bool snapshot_made = false;
  auto fail = [&](absl::Status st) {
    if (snapshot_made) (*sn_it)[snapshotter]->Remove(ns_, r.id).IgnoreError();
    fs::RemoveAll(dir).IgnoreError();
    store_.Release(name);
    return absl::Status(st.code(), absl::StrCat("create container ", name, ": ", st.message()));
  };
  if (!sn_it->count(snapshotter)) return fail(absl::NotFoundError(absl::StrCat("snapshotter ", snapshotter, " is not ready")));
  auto runtime = deps_.config.RuntimeFor(sb.runtime_handler);
  if (!runtime.ok()) return fail(runtime.status());
  r.runtime = *runtime;
  r.stop_signal = config.stop_signal() != 0
                      ? static_cast<int>(config.stop_signal())
                      : SignalNumber(ImageConfigString(image.config, "StopSignal", "SIGTERM"));
  // PID mode POD: the pod's pause process's namespace (RunPodSandbox started one for it).
  std::string pod_pid_ns = sb.infra_pid > 0 ? absl::StrCat("/proc/", sb.infra_pid, "/ns/pid") : "";
  SpecInputs in{r.id, &r.config, &sb.config, image.config, sb.ns, sb.id, sb.dir,
                deps_.config.restrict_oom_score_adj, daemon_oom_score_adj_, target_pid_ns,
                pod_pid_ns};
  auto spec = BuildSpec(in);
  if (!spec.ok()) return fail(spec.status());
  if (absl::Status st = fs::MkdirAll(dir, 0700); !st.ok()) return fail(st);
  r.snapshot_key = r.id;
  auto mounts = (*sn_it)[snapshotter]->Prepare(ns_, r.snapshot_key, image.chain_id, {});
  if (!mounts.ok()) return fail(mounts.status());
  snapshot_made = true;
  std::string image_user = ImageConfigString(image.config, "User");
  if (std::string user = NamedUser(config, image_user); !user.empty()) {
    bool keep_gid = config.linux().security_context().has_run_as_group();
    if (absl::Status st = ResolveImageUser(*mounts, user, keep_gid, &*spec); !st.ok()) return fail(st);
  }
  // The containerd record makes the container a GC root holding its snapshot, and shows it in
  // `ctr -n k8s.io containers ls`.
  containers::Container c;
  c.id = r.id;
  c.image = image.names.empty() ? image.id : image.names[0];
  c.runtime_name = r.runtime;
  c.spec.set_type_url(kSpecTypeUrl);
  c.spec.set_value(spec->dump());
  c.snapshotter = snapshotter;
  c.snapshot_key = r.snapshot_key;
  c.labels = {{"io.cri-containerd.kind", "container"}};
  for (const auto& [k, v] : config.labels()) c.labels[k] = v;
  if (auto st = deps_.containers->Create(ns_, c); !st.ok()) return fail(st.status());
  if (!sb.config.log_directory().empty() && !config.log_path().empty()) {
    r.log_path = absl::StrCat(sb.config.log_directory(), "/", config.log_path());
  }
  r.stdout_fifo = dir + "/stdout";
  r.stderr_fifo = dir + "/stderr";
  if (absl::Status st = store_.Put(r); !st.ok()) {
    deps_.containers->Delete(ns_, r.id).IgnoreError();
    return fail(st);
  }
  PublishEvent(r.id, r.sandbox_id, v1::CONTAINER_CREATED_EVENT);
  return r.id;
}

absl::Status CriRuntime::StartLogger(const ContainerRecord& r) {
  BERTH_RETURN_IF_ERROR(MakeFifo(r.stdout_fifo));
  BERTH_RETURN_IF_ERROR(MakeFifo(r.stderr_fifo));
  BERTH_ASSIGN_OR_RETURN(auto logger, ContainerLogger::Start(r.stdout_fifo, r.stderr_fifo, r.log_path,
                                                             deps_.config.max_container_log_line_size));
  // stdin=true: berthd keeps the write end, so Attach can feed the container (stdin_once:
  // closed when the first attach ends).
  if (r.config.stdin()) {
    BERTH_RETURN_IF_ERROR(logger->attach_point()->OpenStdin(StdinFifoBeside(r.stdout_fifo),
                                                            r.config.stdin_once()));
  }
  absl::MutexLock lock(&mu_);
  loggers_[r.id] = std::move(logger);
  return absl::OkStatus();
}

absl::Status CriRuntime::StartContainer(const std::string& id) {
  BERTH_ASSIGN_OR_RETURN(ContainerRecord r, store_.GetContainer(id));
  if (r.state != v1::CONTAINER_CREATED) {
    return absl::FailedPreconditionError(absl::StrCat("container ", r.id, " is in state ",
                                                      v1::ContainerState_Name(r.state), ", not CREATED"));
  }
  BERTH_ASSIGN_OR_RETURN(SandboxRecord sb, store_.GetSandbox(r.sandbox_id));
  if (sb.state != v1::SANDBOX_READY) return absl::FailedPreconditionError(absl::StrCat("sandbox ", sb.id, " is not ready"));
  BERTH_ASSIGN_OR_RETURN(containers::Container c, deps_.containers->Get(ns_, r.id));
  auto sn = deps_.md->snapshotters.find(c.snapshotter);
  if (sn == deps_.md->snapshotters.end()) return absl::NotFoundError(absl::StrCat("snapshotter ", c.snapshotter, " is not ready"));
  BERTH_ASSIGN_OR_RETURN(auto mounts, sn->second->Mounts(ns_, c.snapshot_key));
  BERTH_RETURN_IF_ERROR(StartLogger(r));
  runtime::CreateOpts opts;
  opts.spec = c.spec.value();
  opts.runtime = r.runtime;
  google::protobuf::RepeatedPtrField<::containerd::types::Mount> pm;
  services::MountsToProto(mounts, &pm);
  opts.rootfs.assign(pm.begin(), pm.end());
  opts.stdout_path = r.stdout_fifo;
  opts.stderr_path = r.stderr_fifo;
  if (r.config.stdin()) opts.stdin_path = StdinFifoBeside(r.stdout_fifo);
  opts.terminal = r.config.tty();
  auto started = [&]() -> absl::Status {
    BERTH_ASSIGN_OR_RETURN(auto shim, deps_.tasks->Create(ns_, r.id, opts));
    ::containerd::task::v2::StartRequest req;
    req.set_id(r.id);
    ::containerd::task::v2::StartResponse resp;
    return shim->Call("Start", req, &resp, absl::Minutes(2));
  }();
  if (!started.ok()) {
    // CRI: a container that failed to start is EXITED with reason StartError (containerd).
    deps_.tasks->Delete(ns_, r.id).IgnoreError();
    r.state = v1::CONTAINER_EXITED;
    r.finished_at = NowNanos();
    r.exit_code = 128;
    r.reason = "StartError";
    r.message = std::string(started.message());
    store_.Put(r).IgnoreError();
    PublishEvent(r.id, r.sandbox_id, v1::CONTAINER_STOPPED_EVENT);
    absl::MutexLock lock(&mu_);
    loggers_.erase(r.id);
    return absl::Status(started.code(), absl::StrCat("start container ", r.id, ": ", started.message()));
  }
  r.state = v1::CONTAINER_RUNNING;
  r.started_at = NowNanos();
  BERTH_RETURN_IF_ERROR(store_.Put(r));
  PublishEvent(r.id, r.sandbox_id, v1::CONTAINER_STARTED_EVENT);
  return absl::OkStatus();
}

absl::Status CriRuntime::StopContainer(const std::string& id, int64_t timeout_seconds) {
  auto rec = Refresh(id);
  if (absl::IsNotFound(rec.status())) return absl::OkStatus();
  BERTH_RETURN_IF_ERROR(rec.status());
  if (rec->state != v1::CONTAINER_RUNNING) return absl::OkStatus();
  BERTH_ASSIGN_OR_RETURN(auto shim, deps_.tasks->Get(ns_, rec->id));
  auto kill = [&](int sig) {
    ::containerd::task::v2::KillRequest req;
    req.set_id(rec->id);
    req.set_signal(sig);
    req.set_all(sig == SIGKILL);
    return shim->Call("Kill", req, nullptr, absl::Seconds(10));
  };
  auto wait_stopped = [&](absl::Duration d) {
    absl::Time deadline = absl::Now() + d;
    do {
      ::containerd::task::v2::StateRequest sreq;
      sreq.set_id(rec->id);
      ::containerd::task::v2::StateResponse state;
      if (!shim->Call("State", sreq, &state, absl::Seconds(5)).ok()) return true;
      if (state.status() == ::containerd::v1::types::STOPPED) return true;
      absl::SleepFor(absl::Milliseconds(50));
    } while (absl::Now() < deadline);
    return false;
  };
  bool stopped = false;
  if (timeout_seconds > 0) {
    kill(rec->stop_signal).IgnoreError();
    stopped = wait_stopped(absl::Seconds(timeout_seconds));
  }
  if (!stopped) {
    BERTH_RETURN_IF_ERROR(kill(SIGKILL));
    if (!wait_stopped(absl::Seconds(30))) {
      return absl::DeadlineExceededError(absl::StrCat("container ", rec->id, " did not exit after SIGKILL"));
    }
  }
  return Refresh(rec->id).status();
}

absl::Status CriRuntime::RemoveContainer(const std::string& id) {
  auto rec = store_.GetContainer(id);
  if (absl::IsNotFound(rec.status())) return absl::OkStatus();
  BERTH_RETURN_IF_ERROR(rec.status());
  // CRI: a running container is removed forcibly.
  BERTH_RETURN_IF_ERROR(StopContainer(rec->id, 0));
  auto task = deps_.tasks->Delete(ns_, rec->id);
  if (!task.ok() && !absl::IsNotFound(task.status())) return task.status();
  {
    absl::MutexLock lock(&mu_);
    loggers_.erase(rec->id);
  }
  auto c = deps_.containers->Get(ns_, rec->id);
  if (c.ok()) {
    auto sn = deps_.md->snapshotters.find(c->snapshotter);
    if (sn != deps_.md->snapshotters.end()) {
      absl::Status st = sn->second->Remove(ns_, c->snapshot_key);
      if (!st.ok() && !absl::IsNotFound(st)) return st;
    }
    BERTH_RETURN_IF_ERROR(deps_.containers->Delete(ns_, rec->id));
  }
  fs::RemoveAll(absl::StrCat(deps_.state, "/containers/", rec->id)).IgnoreError();
  if (auto sb = store_.GetSandbox(rec->sandbox_id); sb.ok()) {
    store_.Release(ContainerName(rec->config, sb->config));
  }
  BERTH_RETURN_IF_ERROR(store_.DeleteContainer(rec->id));
  PublishEvent(rec->id, rec->sandbox_id, v1::CONTAINER_DELETED_EVENT);
  return absl::OkStatus();
}

}  // namespace berth::cri
