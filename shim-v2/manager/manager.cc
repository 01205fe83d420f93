#include "shim-v2/manager/manager.h"

#include <dirent.h>
#include <unistd.h>

#include <thread>

#include "absl/strings/str_cat.h"
#include "containerd/events/task.pb.h"
#include "core/fs.h"
#include "core/log.h"
#include "core/status.h"
#include "core/status_macros.h"
#include "shim-v2/manager/binary.h"
#include "shim-v2/manager/own_shim.h"

namespace berth::runtime {
namespace {

namespace v2 = ::containerd::task::v2;

constexpr absl::Duration kCallTimeout = absl::Seconds(30);
constexpr absl::Duration kShutdownTimeout = absl::Seconds(3);
// How long Delete waits for the shim's /tasks/delete event after the shim answered.
constexpr absl::Duration kDeleteEventTimeout = absl::Milliseconds(500);

void SetTimestamp(absl::Time t, google::protobuf::Timestamp* out) {
  int64_t ns = absl::ToUnixNanos(t);
  out->set_seconds(ns / 1000000000);
  out->set_nanos(static_cast<int32_t>(ns % 1000000000));
}

absl::Time FromTimestamp(const google::protobuf::Timestamp& ts) {
  return absl::FromUnixSeconds(ts.seconds()) + absl::Nanoseconds(ts.nanos());
}

std::vector<std::string> ListDir(const std::string& dir) {
  std::vector<std::string> out;
  if (DIR* d = ::opendir(dir.c_str())) {
    while (dirent* e = ::readdir(d)) {
      std::string name = e->d_name;
      if (name != "." && name != "..") out.push_back(name);
    }
    ::closedir(d);
  }
  return out;
}

void RecordExit(const std::string& state, const std::string& root,
                const events::Envelope& envelope);

}  // namespace

TaskManager::TaskManager(ManagerOptions options, std::shared_ptr<events::Exchange> exchange)
    : options_(std::move(options)), exchange_(std::move(exchange)) {
  if (exchange_ != nullptr) {
    exchange_->AddListener([state = options_.state, root = options_.root](
                               const events::Envelope& e) { RecordExit(state, root, e); });
    exchange_->AddListener(
        [warmer = std::weak_ptr<CgroupWarmer>(cgroup_warmer_)](const events::Envelope& e) {
          // A task usually follows a new container within milliseconds; an exec's process
          // joins the container's cgroups when it starts, right after /tasks/exec-added.
          if (e.topic != "/containers/create" && e.topic != "/tasks/exec-added") return;
          if (auto w = warmer.lock()) w->Warm();
        });
  }
}

TaskManager::~TaskManager() {
  // Shims outlive the daemon: close connections without touching the tasks.
  absl::MutexLock lock(&mu_);
  for (auto& [key, shim] : tasks_) {
    if (shim) shim->Close();
  }
}

ShimCommand TaskManager::CommandFor(const Bundle& bundle, const std::string& binary) const {
  return ShimCommand{binary,
                     bundle.ns,
                     bundle.id,
                     bundle.path,
                     options_.grpc_address,
                     options_.ttrpc_address,
                     options_.publish_binary,
                     options_.debug};
}

void TaskManager::Track(const std::shared_ptr<Shim>& shim) {
  std::string ns = shim->ns(), id = shim->id();
  {
    absl::MutexLock lock(&mu_);
    tasks_[Key(ns, id)] = shim;
  }
  shim->Watch([this, ns, id] { OnDeadShim(ns, id); });
}

absl::StatusOr<std::shared_ptr<Shim>> TaskManager::Create(const std::string& ns,
                                                          const std::string& id,
                                                          const CreateOpts& opts, uint32_t* pid) {
  const std::string key = Key(ns, id);
  cgroup_warmer_->Warm();  // the grace period of the task's cgroup move passes meanwhile
  {
    absl::MutexLock lock(&mu_);
    if (tasks_.count(key)) {
      return absl::AlreadyExistsError(absl::StrCat("task \"", id, "\": already exists"));
    }
    tasks_[key] = nullptr;  // reserved while the shim starts
  }
  auto unreserve = [&] {
    absl::MutexLock lock(&mu_);
    auto it = tasks_.find(key);
    if (it != tasks_.end() && it->second == nullptr) tasks_.erase(it);
  };
  auto result = [&]() -> absl::StatusOr<std::shared_ptr<Shim>> {
    BERTH_ASSIGN_OR_RETURN(std::string binary, ResolveShimBinary(opts.runtime, options_.self_dir));
    BERTH_ASSIGN_OR_RETURN(Bundle bundle,
                           Bundle::Create(options_.state, options_.root, ns, id, opts.spec));
    const google::protobuf::Any& topts =
        opts.task_options.type_url().empty() ? opts.runtime_options : opts.task_options;
    std::string stdin_bytes = topts.type_url().empty() ? "" : topts.SerializeAsString();
    ShimCommand cmd = CommandFor(bundle, binary);
    int log_fd = OpenShimLog(bundle.path);
    auto address = IsOwnShim(binary) ? StartOwnShim(cmd, ShimGroup(id, opts.spec))
                                     : RunShimStart(cmd, stdin_bytes);
    if (!address.ok()) {
      if (log_fd >= 0) ::close(log_fd);
      (void)bundle.Delete();
      return Annotate(address.status(), absl::StrCat("start shim for task ", id));
    }
    (void)fs::WriteFileReplace(bundle.path + "/shim-binary-path", binary, 0600);
    (void)fs::WriteFileReplace(bundle.path + "/address", *address, 0600);
    auto shim = Shim::Connect(bundle, *address, binary, log_fd);
    if (!shim.ok()) {
      CleanupDead(bundle, binary, /*publish=*/false);
      return shim.status();
    }
    v2::CreateTaskRequest req;
    req.set_id(id);
    req.set_bundle(bundle.path);
    for (const auto& m : opts.rootfs) *req.add_rootfs() = m;
    req.set_stdin(opts.stdin_path);
    req.set_stdout(opts.stdout_path);
    req.set_stderr(opts.stderr_path);
    req.set_terminal(opts.terminal);
    req.set_checkpoint(opts.checkpoint);
    if (!topts.type_url().empty()) *req.mutable_options() = topts;
    v2::CreateTaskResponse resp;
    if (absl::Status st = (*shim)->Call("Create", req, &resp, kCallTimeout); !st.ok()) {
      v2::DeleteRequest dreq;
      dreq.set_id(id);
      (void)(*shim)->Call("Delete", dreq, nullptr, kCallTimeout);
      v2::ShutdownRequest sreq;
      sreq.set_id(id);
      (void)(*shim)->Call("Shutdown", sreq, nullptr, kShutdownTimeout);
      (*shim)->Close();
      (void)bundle.Delete();
      return st;
    }
    if (pid != nullptr) *pid = resp.pid();
    Track(*shim);
    return *shim;
  }();
  if (!result.ok()) unreserve();
  return result;
}

absl::StatusOr<std::shared_ptr<Shim>> TaskManager::Get(const std::string& ns,
                                                       const std::string& id) {
  absl::MutexLock lock(&mu_);
  auto it = tasks_.find(Key(ns, id));
  if (it == tasks_.end() || it->second == nullptr) {
    return absl::NotFoundError(absl::StrCat("task \"", id, "\": not found"));
  }
  return it->second;
}

std::vector<std::shared_ptr<Shim>> TaskManager::List(const std::string& ns) {
  std::vector<std::shared_ptr<Shim>> out;
  absl::MutexLock lock(&mu_);
  for (const auto& [key, shim] : tasks_) {
    if (shim && shim->ns() == ns) out.push_back(shim);
  }
  return out;
}

absl::StatusOr<Exit> TaskManager::Delete(const std::string& ns, const std::string& id) {
  BERTH_ASSIGN_OR_RETURN(std::shared_ptr<Shim> shim, Get(ns, id));
  // The shim publishes /tasks/delete itself, and containerd-shim-runc-v2 does so from a queue
  // after it has answered: without waiting for it, a client's next call (ctr's container
  // delete) could publish /containers/delete first.
  std::shared_ptr<events::Subscription> deleted;
  if (exchange_ != nullptr) {
    auto sub = exchange_->Subscribe({absl::StrCat("topic==\"/tasks/delete\",namespace==\"", ns,
                                                  "\",event.container_id==\"", id, "\"")});
    if (sub.ok()) deleted = *sub;
  }
  v2::DeleteRequest req;
  req.set_id(id);
  v2::DeleteResponse resp;
  absl::Status shim_err = shim->Call("Delete", req, &resp, kCallTimeout);
  bool dead = absl::IsUnavailable(shim_err);
  if (deleted != nullptr) {
    if (shim_err.ok() && !deleted->Next(kDeleteEventTimeout).ok()) {
      log::Get("runtime")->debug("task {}/{}: no /tasks/delete from its shim within {}", ns, id,
                                 absl::FormatDuration(kDeleteEventTimeout));
    }
    deleted->Close();
  }
  if (!shim_err.ok() && !dead && !absl::IsNotFound(shim_err)) return shim_err;
  {
    absl::MutexLock lock(&mu_);
    auto it = tasks_.find(Key(ns, id));
    if (it != tasks_.end() && it->second == shim) tasks_.erase(it);
  }
  std::optional<Exit> recorded = shim->bundle().ReadExit();
  if (!dead) {
    v2::ShutdownRequest sreq;
    sreq.set_id(id);
    (void)shim->Call("Shutdown", sreq, nullptr, kShutdownTimeout);
  }
  shim->Close();
  if (dead) {
    CleanupDead(shim->bundle(), shim->binary(), /*publish=*/false);
  } else if (absl::Status st = shim->bundle().Delete(&state_trash_, &root_trash_); !st.ok()) {
    log::Get("runtime")->warn("task {}/{}: {}", ns, id, st.ToString());
  }
  if (shim_err.ok()) {
    return Exit{resp.pid(), resp.exit_status(), FromTimestamp(resp.exited_at())};
  }
  if (recorded) return *recorded;
  return shim_err;
}

std::optional<Exit> TaskManager::RecordedExit(const std::string& ns, const std::string& id) {
  return Bundle::At(options_.state, options_.root, ns, id).ReadExit();
}

void TaskManager::OnDeadShim(const std::string& ns, const std::string& id) {
  std::shared_ptr<Shim> shim;
  {
    absl::MutexLock lock(&mu_);
    auto it = tasks_.find(Key(ns, id));
    if (it == tasks_.end() || it->second == nullptr) return;  // deleted deliberately
    shim = it->second;
    tasks_.erase(it);
  }
  log::Get("runtime")->warn("shim of task {}/{} disconnected: cleaning up", ns, id);
  shim->Close();
  CleanupDead(shim->bundle(), shim->binary(), /*publish=*/true);
}

// containerd's cleanupAfterDeadShim: `shim delete`, then /tasks/exit and /tasks/delete.
void TaskManager::CleanupDead(const Bundle& bundle, const std::string& binary, bool publish) {
  Exit exit{0, 255, absl::Now()};
  if (auto recorded = bundle.ReadExit()) exit = *recorded;
  if (!binary.empty()) {
    auto resp = RunShimDelete(CommandFor(bundle, binary));
    if (resp.ok()) {
      exit = Exit{resp->pid(), resp->exit_status(), FromTimestamp(resp->exited_at())};
    } else {
      log::Get("runtime")->warn("cleanup of dead shim {}/{}: {}", bundle.ns, bundle.id,
                                resp.status().ToString());
    }
  }
  if (absl::Status st = bundle.Delete(); !st.ok()) {
    log::Get("runtime")->warn("task {}/{}: {}", bundle.ns, bundle.id, st.ToString());
  }
  if (!publish || exchange_ == nullptr) return;
  ::containerd::events::TaskExit ev;
  ev.set_container_id(bundle.id);
  ev.set_id(bundle.id);
  ev.set_pid(exit.pid);
  ev.set_exit_status(exit.status);
  SetTimestamp(exit.exited_at, ev.mutable_exited_at());
  (void)exchange_->Publish(bundle.ns, "/tasks/exit", ev);
  ::containerd::events::TaskDelete del;
  del.set_container_id(bundle.id);
  del.set_pid(exit.pid);
  del.set_exit_status(exit.status);
  SetTimestamp(exit.exited_at, del.mutable_exited_at());
  (void)exchange_->Publish(bundle.ns, "/tasks/delete", del);
}

namespace {
// Runs on the publisher's thread; captures no manager state so it can never dangle.
void RecordExit(const std::string& state, const std::string& root,
                const events::Envelope& envelope) {
  if (envelope.topic != "/tasks/exit") return;
  ::containerd::events::TaskExit ev;
  if (!ev.ParseFromString(envelope.event.value())) return;
  if (ev.container_id().empty() || ev.id() != ev.container_id()) return;  // an exec's exit
  Bundle b = Bundle::At(state, root, envelope.ns, ev.container_id());
  if (::access(b.path.c_str(), F_OK) != 0) return;  // not ours (or already deleted)
  (void)b.WriteExit(Exit{ev.pid(), ev.exit_status(), FromTimestamp(ev.exited_at())});
}

// A shim that accepted the connection but does not answer in time is alive and busy - a loaded
// machine, or a restart re-attaching many shims at once - not dead, and declaring it dead would
// kill its container (the cleanup runs `shim delete`). It is asked twice more, each time with
// a longer deadline, before it counts as hung.
absl::Status ConnectWithRetries(Shim& shim, absl::Duration timeout, const v2::ConnectRequest& req,
                                v2::ConnectResponse* resp) {
  constexpr int kAttempts = 3;
  absl::Status st;
  for (int attempt = 1; attempt <= kAttempts; ++attempt) {
    st = shim.Call("Connect", req, resp, timeout * attempt);
    if (!absl::IsDeadlineExceeded(st)) return st;
    log::Get("runtime")->warn("shim of task {}/{} did not answer Connect within {} ({}/{})",
                              shim.ns(), shim.id(), absl::FormatDuration(timeout * attempt),
                              attempt, kAttempts);
  }
  return st;
}

}  // namespace

void TaskManager::LoadOne(const Bundle& bundle) {
  auto binary = fs::ReadFile(bundle.path + "/shim-binary-path");
  auto address = fs::ReadFile(bundle.path + "/address");
  if (!address.ok()) {
    // The shim never started: nothing runs, nothing was announced.
    CleanupDead(bundle, binary.ok() ? *binary : "", /*publish=*/false);
    return;
  }
  auto shim = Shim::Connect(bundle, *address, binary.ok() ? *binary : "");
  if (shim.ok()) {
    v2::ConnectRequest req;
    req.set_id(bundle.id);
    v2::ConnectResponse resp;
    absl::Status st = ConnectWithRetries(**shim, options_.load_timeout, req, &resp);
    if (st.ok()) {
      // A daemon killed between starting a shim and its Create (or during a Delete) leaves a
      // shim that answers but holds no container: re-attaching it would pin the id forever.
      v2::StateRequest sreq;
      sreq.set_id(bundle.id);
      absl::Status state = (*shim)->Call("State", sreq, nullptr, options_.load_timeout);
      if (!absl::IsNotFound(state)) {
        Track(*shim);
        log::Get("runtime")->info("re-attached task {}/{} (shim pid {})", bundle.ns, bundle.id,
                                  resp.shim_pid());
        return;
      }
      log::Get("runtime")->warn("shim of {}/{} holds no container: shutting it down", bundle.ns,
                                bundle.id);
      v2::ShutdownRequest down;
      down.set_id(bundle.id);
      (void)(*shim)->Call("Shutdown", down, nullptr, kShutdownTimeout);
      (*shim)->Close();
      CleanupDead(bundle, binary.ok() ? *binary : "", /*publish=*/false);
      return;
    }
    (*shim)->Close();
  }
  log::Get("runtime")->warn("shim of task {}/{} is gone: cleaning up", bundle.ns, bundle.id);
  CleanupDead(bundle, binary.ok() ? *binary : "", /*publish=*/true);
}

void TaskManager::LoadExisting() {
  (void)fs::MkdirAll(options_.state, 0711);
  (void)fs::MkdirAll(options_.root, 0711);
  std::vector<std::thread> loaders;
  for (const std::string& ns : ListDir(options_.state)) {
    if (ns.starts_with('.')) continue;  // the trash
    for (const std::string& id : ListDir(options_.state + "/" + ns)) {
      Bundle b = Bundle::At(options_.state, options_.root, ns, id);
      loaders.emplace_back([this, b] { LoadOne(b); });
    }
  }
  for (auto& t : loaders) t.join();
}

}  // namespace berth::runtime
