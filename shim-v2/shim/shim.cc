#include "shim-v2/shim/shim.h"

#include <fcntl.h>
#include <malloc.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/lsan_interface.h>
#endif

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/mutex.h"
#include "containerd/runtime/v2/task/shim.pb.h"
#include "core/fs.h"
#include "core/mount/mount.h"
#include "core/status.h"
#include "shim-v2/shim/events.h"
#include "shim-v2/shim/executor_runtime.h"
#include "shim-v2/shim/log.h"
#include "shim-v2/shim/reaper.h"
#include "shim-v2/shim/runc_runtime.h"
#include "shim-v2/shim/service.h"
#include "shim-v2/shim/stats.h"
#include "shim-v2/shim/text_pages.h"
#include "shim-v2/socket/server_spawn.h"
#include "shim-v2/socket/socket_address.h"
#include "shim-v2/ttrpc/server.h"
#include "shim-v2/ttrpc/thread.h"

namespace berth::shim {
namespace {

constexpr char kDefaultRoot[] = "/run/containerd/berth";
constexpr char kRuntimeFile[] = ".berth-runtime";  // "binary\nroot\n", for `delete`

std::string Cwd() {
  char buf[4096];
  return getcwd(buf, sizeof(buf)) != nullptr ? std::string(buf) : std::string(".");
}

// The OCI runtime: in-process berth::executor unless a runtime binary is named (runc Options
// binary_name, or BERTH_SHIM_RUNTIME for tests and comparisons).
std::string DefaultBinary() {
  const char* env = getenv("BERTH_SHIM_RUNTIME");
  return env != nullptr && *env != '\0' ? env : "";
}

std::unique_ptr<Runtime> NewRuntime(const std::string& binary, const std::string& root,
                                    const std::string& bundle) {
  if (binary.empty()) return std::make_unique<ExecutorRuntime>(root);
  return std::make_unique<RuncCliRuntime>(binary, root, bundle);
}

// Builds the runtime of a container and remembers the choice for `delete`.
std::unique_ptr<Runtime> MakeRuntime(const std::string& ns, const std::string& bundle,
                                     std::string binary, std::string root) {
  if (binary.empty()) binary = DefaultBinary();
  // The runc shim's own options name "runc" by default; only a non-runc name selects a binary.
  if (root.empty()) root = kDefaultRoot;
  root += "/" + ns;
  (void)berth::fs::MkdirAll(root, 0711);
  (void)berth::fs::WriteFileReplace(bundle + "/" + kRuntimeFile, binary + "\n" + root + "\n", 0600);
  return NewRuntime(binary, root, bundle);
}

int Fail(const absl::Status& st) {
  fprintf(stderr, "containerd-shim-berth-v2: %s\n", st.ToString().c_str());
  return 1;
}

int Start(const Flags& f) {
  // containerd writes the runtime options on stdin; drain it so its writer never blocks.
  char buf[4096];
  while (read(STDIN_FILENO, buf, sizeof(buf)) > 0) {
  }
  std::string bundle = Cwd();
  std::string group = f.id;
  if (auto info = ReadBundleInfo(bundle); info.ok() && !info->sandbox_id.empty()) {
    group = info->sandbox_id;
  }
  std::string address = SocketAddress(f.address, f.ns, group);
  absl::StatusOr<int> lfd = ListenOrShare(address);
  if (lfd.ok() && *lfd < 0) {
    // The group's shim is running: share it.
    if (absl::Status st = berth::fs::WriteFileReplace(bundle + "/address", address, 0600);
        !st.ok()) {
      return Fail(st);
    }
    printf("%s", address.c_str());
    return 0;
  }
  if (!lfd.ok()) return Fail(lfd.status());
  char self[4096];
  ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
  self[n > 0 ? n : 0] = '\0';
  std::vector<std::string> args = {
      n > 0 ? self : "/proc/self/exe", "-namespace", f.ns, "-id", f.id, "-address", f.address};
  if (!f.publish_binary.empty()) {
    args.push_back("-publish-binary");
    args.push_back(f.publish_binary);
  }
  if (f.debug) args.push_back("-debug");
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  // posix_spawn (vfork + exec): this process resumes once the server has exec'd, and with it
  // the daemon, which reads our stdout until EOF - a forked child that waited for a CPU before
  // it dropped its copy of stdout held the daemon up for milliseconds on a busy host.
  ServerSpawnSetup setup(*lfd, /*cwd=*/"");
  if (!setup.status().ok()) return Fail(setup.status());
  pid_t pid = -1;
  int rc = posix_spawn(&pid, "/proc/self/exe", setup.actions(), setup.attr(), argv.data(), environ);
  if (rc != 0) return Fail(ErrnoStatus(rc, "spawn shim server"));
  close(*lfd);
  if (absl::Status st = berth::fs::WriteFileReplace(bundle + "/address", address, 0600); !st.ok()) {
    kill(pid, SIGKILL);
    return Fail(st);
  }
  printf("%s", address.c_str());
  return 0;
}

int Delete(const Flags& f) {
  if (absl::Status st = Reaper::Get().Start(); !st.ok()) return Fail(st);
  std::string bundle = f.bundle.empty() ? Cwd() : f.bundle;
  std::string binary = DefaultBinary();
  std::string root = std::string(kDefaultRoot) + "/" + f.ns;
  if (auto saved = berth::fs::ReadFile(bundle + "/" + kRuntimeFile); saved.ok()) {
    std::vector<std::string> lines = absl::StrSplit(*saved, '\n');
    if (lines.size() >= 2) {
      binary = lines[0];
      root = lines[1];
    }
  }
  absl::StatusOr<pid_t> pid = ReadPidFile(absl::StrCat(bundle, "/", kInitPidFile));
  std::unique_ptr<Runtime> runtime = NewRuntime(binary, root, bundle);
  // NotFound is the normal case: the serving shim deleted the container before it exited.
  if (absl::Status st = runtime->Delete(f.id, /*force=*/true);
      !st.ok() && st.code() != absl::StatusCode::kNotFound) {
    fprintf(stderr, "delete %s: %s\n", f.id.c_str(), st.ToString().c_str());
  }
  if (absl::Status st = mount::UnmountAll(bundle + "/rootfs"); !st.ok()) {
    fprintf(stderr, "unmount rootfs: %s\n", st.ToString().c_str());
  }
  // A shim killed outright left its socket behind. One that still answers there serves other
  // tasks of its group (a pod's): leave that one.
  if (auto address = berth::fs::ReadFile(bundle + "/address"); address.ok()) {
    std::string socket = SocketPath(std::string(absl::StripAsciiWhitespace(*address)));
    if (absl::StartsWith(socket, kSocketRoot) && !CanConnect(socket)) unlink(socket.c_str());
  }
  ::containerd::task::v2::DeleteResponse resp;
  resp.set_exit_status(128 + SIGKILL);
  if (pid.ok()) resp.set_pid(static_cast<uint32_t>(*pid));
  const int64_t now = absl::ToUnixNanos(absl::Now());
  resp.mutable_exited_at()->set_seconds(now / 1'000'000'000);
  resp.mutable_exited_at()->set_nanos(static_cast<int32_t>(now % 1'000'000'000));
  std::string out = resp.SerializeAsString();
  return fwrite(out.data(), 1, out.size(), stdout) == out.size() ? 0 : 1;
}

// What the serving shim's main thread waits for: the end, or a task that started.
class Lifecycle {
 public:
  void Stop() {
    absl::MutexLock lock(&mu_);
    stop_ = true;
  }
  void TaskStarted() {
    absl::MutexLock lock(&mu_);
    started_ = true;
  }
  // Blocks until Stop, or a TaskStarted since the last call; true once stopped.
  bool WaitForStopOrTaskStarted() {
    absl::MutexLock lock(&mu_);
    mu_.Await(absl::Condition(this, &Lifecycle::StopOrStarted));
    started_ = false;
    return stop_;
  }

 private:
  bool StopOrStarted() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return stop_ || started_; }

  absl::Mutex mu_;
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
  bool started_ ABSL_GUARDED_BY(mu_) = false;
};

int Serve(const Flags& f) {
  signal(SIGPIPE, SIG_IGN);
  // One malloc arena: a handful of short-lived threads do not need their own 64 MiB arenas.
  mallopt(M_ARENA_MAX, 1);
  // As berthd (cmd/berthd/main.cc): no deadlock-detection graph on every absl::Mutex operation.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  if (absl::Status st = Reaper::Get().Start(); !st.ok()) return Fail(st);
  // Logs go to the bundle's `log` fifo, which containerd is reading.
  int log = open("log", O_WRONLY | O_NONBLOCK | O_CLOEXEC);
  if (log >= 0) {
    fcntl(log, F_SETFL, fcntl(log, F_GETFL) & ~O_NONBLOCK);
    dup2(log, STDERR_FILENO);
    close(log);
  }
  SetDebug(f.debug);
  int lfd = 3;
  if (!f.socket.empty()) {
    absl::StatusOr<int> l = ListenUnix(SocketPath(f.socket));
    if (!l.ok()) return Fail(l.status());
    lfd = *l;
  } else {
    fcntl(lfd, F_SETFD, FD_CLOEXEC);
  }
  std::string socket_path;
  sockaddr_un sa{};
  socklen_t len = sizeof(sa);
  if (getsockname(lfd, reinterpret_cast<sockaddr*>(&sa), &len) == 0 && sa.sun_path[0] != '\0') {
    socket_path = sa.sun_path;
  }
  const char* ttrpc_address = getenv("TTRPC_ADDRESS");
  static Publisher* publisher = new Publisher(ttrpc_address ? ttrpc_address : "", f.ns);
  static ttrpc::Server* server = new ttrpc::Server();
  static Lifecycle* lifecycle = new Lifecycle();
  std::string ns = f.ns;
  static TaskService* service = new TaskService(
      f.ns, publisher,
      [ns](const std::string& bundle, const std::string& binary, const std::string& root) {
        return MakeRuntime(ns, bundle, binary, root);
      },
      [] { lifecycle->Stop(); }, [] { lifecycle->TaskStarted(); });
  service->Register(*server);
  Log("info", absl::StrCat("serving id=", f.id, " namespace=", f.ns));
  absl::Status started = ttrpc::StartDetached([lfd] {
    absl::Status st = server->Serve(lfd);
    if (!st.ok()) Log("error", st.ToString());
    lifecycle->Stop();
  });
  if (!started.ok()) return Fail(started);
  ReleaseStartupPages();
  // Create and Start run once per container; their code (mounts, the executor's create, the
  // bundle's JSON) would stay resident for the container's whole life. Released again once a
  // task has started, RSS is what serving a running container uses.
  while (!lifecycle->WaitForStopOrTaskStarted()) ReleaseStartupPages();
  // Let the Shutdown response (and any other in-flight reply) reach containerd, then go.
  server->WaitIdle(absl::Seconds(2));
  publisher->Flush(absl::Seconds(3));
  if (!socket_path.empty()) unlink(socket_path.c_str());
  Log("info", "shim exiting");
#if defined(__SANITIZE_ADDRESS__)
  // _exit skips LeakSanitizer's check at exit: run it here, so the sanitizer build (.ci/sanitize)
  // checks the serving shim too (a report ends the process with an error and a report file).
  __lsan_do_leak_check();
#endif
  _exit(0);
}

}  // namespace

absl::StatusOr<Flags> ParseFlags(const std::vector<std::string>& args) {
  Flags f;
  for (size_t i = 0; i < args.size(); ++i) {
    std::string a = args[i];
    if (a.size() < 2 || a[0] != '-') {
      f.action = a;
      break;  // Go's flag package stops at the first non-flag
    }
    a = a.substr(a[1] == '-' ? 2 : 1);
    std::string value;
    bool has_value = false;
    if (size_t eq = a.find('='); eq != std::string::npos) {
      value = a.substr(eq + 1);
      a = a.substr(0, eq);
      has_value = true;
    }
    if (a == "debug" || a == "v") {
      bool on = !has_value || value == "true" || value == "1";
      (a == "debug" ? f.debug : f.version) = on;
      continue;
    }
    std::string* dst = a == "namespace"        ? &f.ns
                       : a == "address"        ? &f.address
                       : a == "publish-binary" ? &f.publish_binary
                       : a == "id"             ? &f.id
                       : a == "bundle"         ? &f.bundle
                       : a == "socket"         ? &f.socket
                                               : nullptr;
    if (dst == nullptr) return absl::InvalidArgumentError(absl::StrCat("unknown flag -", a));
    if (!has_value) {
      if (i + 1 >= args.size())
        return absl::InvalidArgumentError(absl::StrCat("-", a, " needs a value"));
      value = args[++i];
    }
    *dst = value;
  }
  return f;
}

int RunShim(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  absl::StatusOr<Flags> f = ParseFlags(args);
  if (!f.ok()) return Fail(f.status());
  if (f->version) {
    printf("containerd-shim-berth-v2:\n  Runtime: io.containerd.berth.v2\n");
    return 0;
  }
  if (f->ns.empty()) f->ns = getenv("NAMESPACE") ? getenv("NAMESPACE") : "";
  if (f->ns.empty()) return Fail(absl::InvalidArgumentError("shim namespace cannot be empty"));
  if (f->action == "start") return Start(*f);
  if (f->action == "delete") return Delete(*f);
  if (!f->action.empty()) return Fail(absl::InvalidArgumentError("unknown action " + f->action));
  if (f->id.empty()) return Fail(absl::InvalidArgumentError("-id is required"));
  return Serve(*f);
}

}  // namespace berth::shim
