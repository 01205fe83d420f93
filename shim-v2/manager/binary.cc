#include "shim-v2/manager/binary.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "core/fs.h"
#include "core/status.h"
#include "core/status_macros.h"

extern char** environ;

namespace berth::runtime {
namespace {

bool IsExecutable(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode) && ::access(path.c_str(), X_OK) == 0;
}

struct Output {
  int exit_code = -1;
  std::string out, err;
};

// posix_spawn (no allocation between fork and exec) with cwd, own process group, stdin from a
// pipe, stdout (and stderr, merged or separate) into pipes. Kills the child at the deadline.
absl::StatusOr<Output> Spawn(const std::vector<std::string>& args, const std::string& cwd,
                             const std::vector<std::string>& env, const std::string& input,
                             bool merge_stderr, absl::Duration timeout) {
  std::vector<char*> argv, envp;
  for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  for (const auto& e : env) envp.push_back(const_cast<char*>(e.c_str()));
  envp.push_back(nullptr);

  int in[2], out[2], err[2];
  if (::pipe2(in, O_CLOEXEC) != 0) return ErrnoStatus("pipe");
  if (::pipe2(out, O_CLOEXEC) != 0) return ErrnoStatus("pipe");
  if (::pipe2(err, O_CLOEXEC) != 0) return ErrnoStatus("pipe");
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, in[0], 0);
  posix_spawn_file_actions_adddup2(&fa, out[1], 1);
  posix_spawn_file_actions_adddup2(&fa, merge_stderr ? out[1] : err[1], 2);
  if (!cwd.empty()) posix_spawn_file_actions_addchdir_np(&fa, cwd.c_str());
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK |
                                      POSIX_SPAWN_SETSIGDEF);
  posix_spawnattr_setpgroup(&attr, 0);
  sigset_t none, all;
  sigemptyset(&none);
  sigfillset(&all);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setsigdefault(&attr, &all);
  pid_t pid = -1;
  int rc = ::posix_spawn(&pid, argv[0], &fa, &attr, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&fa);
  posix_spawnattr_destroy(&attr);
  ::close(in[0]);
  ::close(out[1]);
  ::close(err[1]);
  if (rc != 0) {
    ::close(in[1]);
    ::close(out[0]);
    ::close(err[0]);
    return ErrnoStatus(rc, absl::StrCat("spawn ", args[0]));
  }
  // Options are a few hundred bytes: far below the pipe's capacity, so this cannot block long.
  // A shim that exits early reports itself below.
  fs::WriteAll(in[1], input, "shim stdin").IgnoreError();
  ::close(in[1]);

  Output result;
  absl::Time deadline = absl::Now() + timeout;
  bool timed_out = false;
  pollfd fds[2] = {{out[0], POLLIN, 0}, {err[0], POLLIN, 0}};
  int open_fds = 2;
  while (open_fds > 0) {
    int ms = static_cast<int>(absl::ToInt64Milliseconds(deadline - absl::Now()));
    if (ms <= 0) {
      timed_out = true;
      break;
    }
    int n = ::poll(fds, 2, ms);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) continue;
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || fds[i].revents == 0) continue;
      char buf[4096];
      ssize_t r = ::read(fds[i].fd, buf, sizeof(buf));
      if (r > 0) {
        (i == 0 ? result.out : result.err).append(buf, static_cast<size_t>(r));
      } else if (r == 0 || errno != EINTR) {
        ::close(fds[i].fd);
        fds[i].fd = -1;
        --open_fds;
      }
    }
  }
  for (auto& f : fds) {
    if (f.fd >= 0) ::close(f.fd);
  }
  if (timed_out) ::kill(pid, SIGKILL);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (timed_out) {
    return absl::DeadlineExceededError(
        absl::StrCat(args[0], " did not finish within ", absl::FormatDuration(timeout), ": ",
                     result.out, result.err));
  }
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return result;
}

}  // namespace

std::vector<std::string> ShimBaseArgs(const ShimCommand& cmd) {
  return {cmd.binary, "-namespace", cmd.ns, "-address", cmd.grpc_address,
          "-publish-binary", cmd.publish_binary};
}

std::vector<std::string> ShimEnvironment(const ShimCommand& cmd) {
  const std::vector<std::string> extra = {"GOMAXPROCS=2", "TTRPC_ADDRESS=" + cmd.ttrpc_address,
                                          "GRPC_ADDRESS=" + cmd.grpc_address,
                                          "NAMESPACE=" + cmd.ns};
  std::vector<std::string> env;
  for (char** e = environ; e && *e; ++e) {
    std::string kv = *e;
    std::string key = kv.substr(0, kv.find('='));
    bool overridden = false;
    for (const auto& x : extra) overridden |= absl::StartsWith(x, key + "=");
    if (!overridden) env.push_back(kv);
  }
  env.insert(env.end(), extra.begin(), extra.end());
  return env;
}

std::string ShimBinaryName(const std::string& runtime) {
  std::vector<std::string> parts = absl::StrSplit(runtime, '.');
  if (parts.size() < 2 || parts[parts.size() - 2].empty() || parts.back().empty()) return "";
  return absl::StrCat("containerd-shim-", parts[parts.size() - 2], "-", parts.back());
}

absl::StatusOr<std::string> ResolveShimBinary(const std::string& runtime,
                                              const std::string& self_dir) {
  if (runtime.find('/') != std::string::npos) {
    if (runtime[0] != '/') {
      return absl::InvalidArgumentError(
          absl::StrCat("runtime path \"", runtime, "\" must be absolute"));
    }
    if (!IsExecutable(runtime)) {
      return absl::NotFoundError(absl::StrCat("runtime \"", runtime, "\": no executable file"));
    }
    return runtime;
  }
  std::string name = ShimBinaryName(runtime);
  if (name.empty()) {
    return absl::InvalidArgumentError(absl::StrCat("invalid runtime name \"", runtime,
                                                   "\", correct format is io.containerd.NAME.VERSION"));
  }
  if (!self_dir.empty() && IsExecutable(self_dir + "/" + name)) return self_dir + "/" + name;
  const char* path = ::getenv("PATH");
  for (absl::string_view dir :
       absl::StrSplit(path ? path : "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                      ':')) {
    if (dir.empty()) continue;
    std::string candidate = absl::StrCat(dir, "/", name);
    if (IsExecutable(candidate)) return candidate;
  }
  return absl::NotFoundError(absl::StrCat("runtime \"", runtime, "\" binary not installed \"",
                                          name, "\": file does not exist"));
}

absl::StatusOr<std::string> RunShimStart(const ShimCommand& cmd, const std::string& options,
                                         absl::Duration timeout) {
  std::vector<std::string> args = ShimBaseArgs(cmd);
  args.insert(args.end(), {"-id", cmd.id});
  if (cmd.debug) args.push_back("-debug");
  args.push_back("start");
  BERTH_ASSIGN_OR_RETURN(Output out, Spawn(args, cmd.bundle, ShimEnvironment(cmd), options,
                                           /*merge_stderr=*/true, timeout));
  std::string text(absl::StripAsciiWhitespace(out.out));
  if (out.exit_code != 0) {
    return absl::InternalError(
        absl::StrCat("start shim ", cmd.binary, " (exit ", out.exit_code, "): ", text));
  }
  if (text.empty()) return absl::InternalError(absl::StrCat("shim ", cmd.binary, " printed no address"));
  return text;
}

absl::StatusOr<::containerd::task::v2::DeleteResponse> RunShimDelete(const ShimCommand& cmd,
                                                                     absl::Duration timeout) {
  std::vector<std::string> args = ShimBaseArgs(cmd);
  args.insert(args.end(), {"-id", cmd.id, "-bundle", cmd.bundle, "delete"});
  BERTH_ASSIGN_OR_RETURN(Output out, Spawn(args, cmd.bundle, ShimEnvironment(cmd), "",
                                           /*merge_stderr=*/false, timeout));
  if (out.exit_code != 0) {
    return absl::InternalError(absl::StrCat("shim ", cmd.binary, " delete (exit ", out.exit_code,
                                            "): ", absl::StripAsciiWhitespace(out.err)));
  }
  ::containerd::task::v2::DeleteResponse resp;
  if (!resp.ParseFromString(out.out)) {
    return absl::InternalError(absl::StrCat("shim ", cmd.binary, " delete: undecodable output"));
  }
  return resp;
}

}  // namespace berth::runtime
