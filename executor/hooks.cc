#include "executor/hooks.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>

#include "absl/strings/str_cat.h"
#include "core/status.h"

namespace berth::executor {
namespace {

absl::Status RunHook(const Hook& hook, const std::string& state_json, absl::string_view phase) {
  std::vector<std::string> args = hook.args.empty() ? std::vector<std::string>{hook.path}
                                                     : hook.args;
  std::vector<char*> argv, envp;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  std::vector<std::string> env = hook.env;
  for (auto& e : env) envp.push_back(e.data());
  envp.push_back(nullptr);
  int in[2];
  if (pipe2(in, O_CLOEXEC) != 0) return ErrnoStatus("pipe");
  pid_t pid = fork();
  if (pid < 0) return ErrnoStatus("fork hook");
  if (pid == 0) {
    dup2(in[0], 0);
    execve(hook.path.c_str(), argv.data(), envp.data());
    _exit(127);
  }
  close(in[0]);
  // The state is small (< pipe buffer); a hook that does not read it must not block us.
  (void)!write(in[1], state_json.data(), state_json.size());
  close(in[1]);
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(hook.timeout.value_or(0));
  int status = 0;
  for (;;) {
    pid_t r = waitpid(pid, &status, hook.timeout ? WNOHANG : 0);
    if (r == pid) break;
    if (r < 0 && errno != EINTR) return ErrnoStatus("wait hook");
    if (hook.timeout && std::chrono::steady_clock::now() > deadline) {
      kill(pid, SIGKILL);
      waitpid(pid, &status, 0);
      return absl::DeadlineExceededError(
          absl::StrCat(phase, " hook ", hook.path, ": timed out after ", *hook.timeout, "s"));
    }
    if (hook.timeout) usleep(5000);
  }
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return absl::OkStatus();
  return absl::InternalError(absl::StrCat(phase, " hook ", hook.path, " failed: ",
                                          WIFEXITED(status) ? "exit status " : "signal ",
                                          WIFEXITED(status) ? WEXITSTATUS(status)
                                                            : WTERMSIG(status)));
}

}  // namespace

absl::Status RunHooks(const std::vector<Hook>& hooks, const std::string& state_json,
                      absl::string_view phase) {
  for (const auto& h : hooks) {
    absl::Status st = RunHook(h, state_json, phase);
    if (!st.ok()) return st;
  }
  return absl::OkStatus();
}

HookPlan BuildHookPlan(const std::vector<Hook>& hooks, const ContainerState& state) {
  HookPlan plan;
  for (const auto& h : hooks) {
    HookOp op;
    op.path = h.path;
    op.args = h.args.empty() ? std::vector<std::string>{h.path} : h.args;
    op.env = h.env;
    op.timeout_sec = h.timeout.value_or(0);
    plan.hooks.push_back(std::move(op));
  }
  if (plan.hooks.empty()) return plan;
  // Render with a marker pid and cut there: the init writes its own pid in between.
  ContainerState s = state;
  s.pid = 2147480047;
  std::string json = StateToJson(s, false);
  // Keys are sorted and every other value is a string, so the marker occurs once.
  const std::string key = "\"pid\":", marker = key + "2147480047";
  size_t at = json.find(marker);
  plan.state_prefix = json.substr(0, at + key.size());
  plan.state_suffix = json.substr(at + marker.size());
  return plan;
}

void HookPlan::Finalize() {
  for (auto& h : hooks) {
    h.argv.clear();
    h.envp.clear();
    for (auto& a : h.args) h.argv.push_back(a.data());
    h.argv.push_back(nullptr);
    for (auto& e : h.env) h.envp.push_back(e.data());
    h.envp.push_back(nullptr);
  }
}

}  // namespace berth::executor
