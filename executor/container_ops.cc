// Start, State, Kill, Delete, Pause/Resume, Ps, Update, Stats.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <optional>
#include <thread>

#include "absl/strings/str_cat.h"
#include "core/status.h"
#include "core/status_macros.h"
#include "executor/executor.h"
#include "executor/hooks.h"
#include "nlohmann/json.hpp"

namespace berth::executor {
namespace {

// Waits until `pid` (started at `start`) is gone or a zombie. false on timeout.
bool WaitGone(pid_t pid, uint64_t start, int timeout_ms) {
  for (int waited = 0; waited <= timeout_ms; waited += 5) {
    uint64_t now = ProcessStartTime(pid);
    if (now == 0 || now != start) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return false;
}

void KillCgroup(CgroupManager& cg, int signal) {
  auto frozen = cg.Frozen();
  if (auto pids = cg.Pids(); pids.ok()) {
    for (pid_t p : *pids) kill(p, signal);
  }
  // A frozen task only dies once thawed.
  if (frozen.ok() && *frozen) (void)cg.Freeze(false);
}

std::vector<Hook> PoststopHooks(const std::string& bundle) {
  auto spec = LoadSpec(bundle);
  return spec.ok() ? spec->hooks.poststop : std::vector<Hook>{};
}

}  // namespace

std::string StateToJson(const ContainerState& s, bool pretty) {
  nlohmann::json j = {{"ociVersion", s.oci_version}, {"id", s.id},       {"pid", s.pid},
                      {"status", s.status},          {"bundle", s.bundle}, {"rootfs", s.rootfs},
                      {"created", s.created},        {"owner", s.owner}};
  j["annotations"] = s.annotations;
  return pretty ? j.dump(2) : j.dump();
}

absl::StatusOr<ContainerState> Executor::StateOf(const StoredState& s) {
  ContainerState cs;
  cs.id = s.id;
  cs.pid = s.pid;
  cs.bundle = s.bundle;
  cs.rootfs = s.rootfs;
  cs.created = s.created;
  cs.annotations = s.annotations;
  uint64_t start = ProcessStartTime(s.pid);
  struct stat st;
  if (start == 0 || start != s.start_time) {
    cs.status = "stopped";
    cs.pid = 0;
  } else if (auto frozen = LoadCgroupManager(s.cgroup_paths)->Frozen(); frozen.ok() && *frozen) {
    cs.status = "paused";
  } else if (stat(store_.FifoPath(s.id).c_str(), &st) == 0) {
    cs.status = "created";
  } else {
    cs.status = "running";
  }
  return cs;
}

absl::StatusOr<ContainerState> Executor::State(const std::string& id) {
  BERTH_ASSIGN_OR_RETURN(StoredState s, store_.Load(id));
  return StateOf(s);
}

absl::StatusOr<std::vector<ContainerState>> Executor::List() {
  BERTH_ASSIGN_OR_RETURN(auto ids, store_.List());
  std::vector<ContainerState> out;
  for (const auto& id : ids) {
    auto s = State(id);
    if (s.ok()) out.push_back(*std::move(s));
  }
  return out;
}

namespace {

// The init failed after `start` opened the fifo (a startContainer hook): the ChildMessage
// that follows kFifoError on the fifo becomes the error, naming the hook from config.json.
absl::Status StartHookError(int fifo_fd, const std::string& bundle) {
  ChildMessage msg;
  size_t got = 0;
  char* buf = reinterpret_cast<char*>(&msg);
  while (got < sizeof(msg)) {
    struct pollfd pfd = {fifo_fd, POLLIN, 0};
    if (poll(&pfd, 1, 1000) <= 0) break;
    ssize_t n = read(fifo_fd, buf + got, sizeof(msg) - got);
    if (n <= 0) break;
    got += static_cast<size_t>(n);
  }
  if (got != sizeof(msg)) return absl::InternalError("container init failed during start");
  ProcessPlan plan;
  if (auto spec = LoadSpec(bundle); spec.ok()) {
    for (const auto& h : spec->hooks.start_container) {
      plan.start_container.hooks.push_back(HookOp{h.path, {}, {}, {}, {}, h.timeout.value_or(0)});
    }
  }
  return ChildErrorToStatus(msg, nullptr, &plan);
}

}  // namespace

absl::Status Executor::ReleaseInit(const std::string& id) {
  // Stored state only when something is off: loading and parsing it is most of what a start
  // would otherwise cost, and the init is waiting.
  auto not_created = [&](const StoredState& s) -> absl::Status {
    BERTH_ASSIGN_OR_RETURN(ContainerState cs, StateOf(s));
    if (cs.status == "created") return absl::OkStatus();
    return absl::FailedPreconditionError(
        absl::StrCat("cannot start container ", id, " in status ", cs.status));
  };
  std::string fifo = store_.FifoPath(id);
  // Non-blocking open succeeds without a writer; the init's blocking open(O_WRONLY) then
  // completes, it writes one byte and goes on to exec. The fifo exists from create until the
  // first start: without it the state says why.
  int fd = open(fifo.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) {
    int err = errno;
    BERTH_ASSIGN_OR_RETURN(StoredState s, store_.Load(id));
    BERTH_RETURN_IF_ERROR(not_created(s));
    return ErrnoStatus(err, "open exec fifo " + fifo);
  }
  absl::Status result = absl::OkStatus();
  std::optional<StoredState> s;
  for (;;) {
    struct pollfd pfd = {fd, POLLIN, 0};
    if (poll(&pfd, 1, 50) > 0) {
      char c;
      if (read(fd, &c, 1) == 1) {
        if (c == kFifoError) {
          absl::StatusOr<StoredState> loaded = store_.Load(id);
          result = loaded.ok() ? StartHookError(fd, loaded->bundle) : loaded.status();
        }
        break;
      }
    }
    // No byte within 50 ms (or the writer left): a dead init never writes it.
    if (!s) {
      absl::StatusOr<StoredState> loaded = store_.Load(id);
      if (!loaded.ok()) {
        result = loaded.status();
        break;
      }
      s = *std::move(loaded);
      if (result = not_created(*s); !result.ok()) break;
    }
    if (ProcessStartTime(s->pid) != s->start_time) {
      result = absl::FailedPreconditionError("container init exited before start");
      break;
    }
  }
  close(fd);
  unlink(fifo.c_str());
  return result;
}

absl::Status Executor::Start(const std::string& id) {
  BERTH_RETURN_IF_ERROR(ReleaseInit(id));
  BERTH_ASSIGN_OR_RETURN(StoredState s, store_.Load(id));
  if (auto spec = LoadSpec(s.bundle); spec.ok() && !spec->hooks.poststart.empty()) {
    BERTH_ASSIGN_OR_RETURN(ContainerState cs, StateOf(s));
    cs.status = "running";
    // Poststart failures are warnings in the spec; the container keeps running.
    (void)RunHooks(spec->hooks.poststart, StateToJson(cs, false), "poststart");
  }
  return absl::OkStatus();
}

absl::Status Executor::Kill(const std::string& id, int signal, bool all) {
  BERTH_ASSIGN_OR_RETURN(StoredState s, store_.Load(id));
  BERTH_ASSIGN_OR_RETURN(ContainerState cs, StateOf(s));
  if (all) {
    KillCgroup(*LoadCgroupManager(s.cgroup_paths), signal);
    return absl::OkStatus();
  }
  if (cs.status == "stopped") return absl::FailedPreconditionError("container not running");
  if (kill(s.pid, signal) != 0) return ErrnoStatus(absl::StrCat("kill ", s.pid));
  return absl::OkStatus();
}

absl::Status Executor::Destroy(const StoredState& s) {
  auto cg = LoadCgroupManager(s.cgroup_paths);
  // Without a pid namespace, children of the init may outlive it: kill them first instead of
  // letting rmdir spin on EBUSY.
  if (auto pids = cg->Pids(); pids.ok() && !pids->empty()) {
    KillCgroup(*cg, SIGKILL);
  }
  absl::Status st = cg->Destroy();
  if (!st.ok()) {
    KillCgroup(*cg, SIGKILL);
    st = cg->Destroy();
  }
  if (!st.ok() && !absl::IsNotFound(st)) return Annotate(st, "remove cgroup");
  if (std::vector<Hook> hooks = s.poststop_hooks ? PoststopHooks(s.bundle) : std::vector<Hook>{};
      !hooks.empty()) {
    ContainerState cs;
    cs.id = s.id;
    cs.status = "stopped";
    cs.bundle = s.bundle;
    cs.annotations = s.annotations;
    (void)RunHooks(hooks, StateToJson(cs, false), "poststop");
  }
  return store_.Remove(s.id);
}

absl::Status Executor::Delete(const std::string& id, bool force) {
  BERTH_ASSIGN_OR_RETURN(StoredState s, store_.Load(id));
  BERTH_ASSIGN_OR_RETURN(ContainerState cs, StateOf(s));
  if (cs.status == "running" || cs.status == "paused") {
    if (!force) {
      return absl::FailedPreconditionError(
          absl::StrCat("cannot delete container ", id, " that is not stopped: ", cs.status));
    }
    KillCgroup(*LoadCgroupManager(s.cgroup_paths), SIGKILL);
    kill(s.pid, SIGKILL);
  } else if (cs.status == "created") {
    kill(s.pid, SIGKILL);
  }
  if (cs.status != "stopped" && !WaitGone(s.pid, s.start_time, 10000)) {
    return absl::DeadlineExceededError(absl::StrCat("container ", id, " init did not die"));
  }
  return Destroy(s);
}

absl::Status Executor::Pause(const std::string& id) {
  BERTH_ASSIGN_OR_RETURN(StoredState s, store_.Load(id));
  BERTH_ASSIGN_OR_RETURN(ContainerState cs, StateOf(s));
  if (cs.status != "running" && cs.status != "created") {
    return absl::FailedPreconditionError("container not running: " + cs.status);
  }
  return LoadCgroupManager(s.cgroup_paths)->Freeze(true);
}

absl::Status Executor::Resume(const std::string& id) {
  BERTH_ASSIGN_OR_RETURN(StoredState s, store_.Load(id));
  BERTH_ASSIGN_OR_RETURN(ContainerState cs, StateOf(s));
  if (cs.status != "paused") return absl::FailedPreconditionError("container not paused");
  return LoadCgroupManager(s.cgroup_paths)->Freeze(false);
}

absl::StatusOr<std::vector<pid_t>> Executor::Ps(const std::string& id) {
  BERTH_ASSIGN_OR_RETURN(StoredState s, store_.Load(id));
  return LoadCgroupManager(s.cgroup_paths)->Pids();
}

absl::Status Executor::Update(const std::string& id, const Resources& resources) {
  BERTH_ASSIGN_OR_RETURN(StoredState s, store_.Load(id));
  return LoadCgroupManager(s.cgroup_paths)->Set(resources);
}

absl::StatusOr<CgroupStats> Executor::Stats(const std::string& id) {
  BERTH_ASSIGN_OR_RETURN(StoredState s, store_.Load(id));
  return LoadCgroupManager(s.cgroup_paths)->Stats();
}

}  // namespace berth::executor
