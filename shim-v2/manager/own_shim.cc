#include "shim-v2/manager/own_shim.h"

#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <spawn.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <vector>

#include "absl/cleanup/cleanup.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "core/status.h"
#include "core/status_macros.h"
#include "nlohmann/json.hpp"
#include "shim-v2/socket/server_spawn.h"
#include "shim-v2/socket/socket_address.h"

namespace berth::runtime {
namespace {

constexpr char kOwnShim[] = "containerd-shim-berth-v2";
constexpr char kSandboxIdAnnotation[] = "io.kubernetes.cri.sandbox-id";

struct DetachedSpawn {
  const char* path;
  char* const* argv;
  char* const* envp;
  const posix_spawn_file_actions_t* actions;
  const posix_spawnattr_t* attr;
  pid_t pid = -1;
  int rc = 0;
};

// The intermediate of a double spawn: runs on the daemon's memory (CLONE_VM) while the calling
// thread waits (CLONE_VFORK), spawns the server and ends, which hands the server to init.
// Returning ends it (clone's wrapper exits with the value); a noreturn _exit here would make
// ASan builds complain about the unfamiliar stack.
int SpawnAndExit(void* arg) {
  auto* s = static_cast<DetachedSpawn*>(arg);
  s->rc = ::posix_spawn(&s->pid, s->path, s->actions, s->attr, s->argv, s->envp);
  return 0;
}

absl::StatusOr<pid_t> SpawnDetached(DetachedSpawn& s) {
  constexpr size_t kStack = 64 * 1024;
  void* stack = ::mmap(nullptr, kStack, PROT_READ | PROT_WRITE,
                       MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
  if (stack == MAP_FAILED) return ErrnoStatus("mmap spawn stack");
  // No daemon signal handler may run on the intermediate: it shares the daemon's memory.
  sigset_t all, old;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &old);
  pid_t mid = ::clone(SpawnAndExit, static_cast<char*>(stack) + kStack,
                      CLONE_VM | CLONE_VFORK | SIGCHLD, &s);
  int err = errno;
  pthread_sigmask(SIG_SETMASK, &old, nullptr);
  ::munmap(stack, kStack);
  if (mid < 0) return ErrnoStatus(err, "clone spawn intermediate");
  while (::waitpid(mid, nullptr, 0) < 0 && errno == EINTR) {
  }
  if (s.rc != 0) return ErrnoStatus(s.rc, absl::StrCat("spawn ", s.path));
  return s.pid;
}

}  // namespace

bool IsOwnShim(const std::string& binary) {
  return binary == kOwnShim || absl::EndsWith(binary, absl::StrCat("/", kOwnShim));
}

std::string ShimGroup(const std::string& id, const std::string& spec_json) {
  if (spec_json.find(kSandboxIdAnnotation) == std::string::npos) return id;  // skip the parse
  nlohmann::json spec = nlohmann::json::parse(spec_json, nullptr, /*allow_exceptions=*/false);
  if (!spec.is_object() || !spec.contains("annotations")) return id;
  const nlohmann::json& annotations = spec["annotations"];
  if (!annotations.is_object()) return id;
  auto it = annotations.find(kSandboxIdAnnotation);
  return it != annotations.end() && it->is_string() && !it->get<std::string>().empty()
             ? it->get<std::string>()
             : id;
}

absl::StatusOr<std::string> StartOwnShim(const ShimCommand& cmd, const std::string& group) {
  const std::string address = shim::SocketAddress(cmd.grpc_address, cmd.ns, group);
  BERTH_ASSIGN_OR_RETURN(int listener, shim::ListenOrShare(address));
  if (listener < 0) return address;  // the group's shim serves this task too
  absl::Cleanup close_listener = [listener] { ::close(listener); };
  shim::ServerSpawnSetup setup(listener, cmd.bundle);
  BERTH_RETURN_IF_ERROR(setup.status());

  // The serving command line `start` runs (shim.h): no action word, the socket as fd 3.
  std::vector<std::string> args = ShimBaseArgs(cmd);
  args.insert(args.end(), {"-id", cmd.id});
  if (cmd.debug) args.push_back("-debug");
  std::vector<std::string> env = ShimEnvironment(cmd);
  std::vector<char*> argv, envp;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  for (auto& e : env) envp.push_back(e.data());
  envp.push_back(nullptr);

  DetachedSpawn spawn{cmd.binary.c_str(), argv.data(), envp.data(), setup.actions(), setup.attr()};
  absl::StatusOr<pid_t> pid = SpawnDetached(spawn);
  if (!pid.ok()) {
    ::unlink(shim::SocketPath(address).c_str());
    return pid.status();
  }
  return address;
}

}  // namespace berth::runtime
