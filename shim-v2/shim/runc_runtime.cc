#include "shim-v2/shim/runc_runtime.h"

#include <fcntl.h>
#include <unistd.h>

#include "absl/cleanup/cleanup.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "core/fs.h"
#include "core/status.h"
#include "core/status_macros.h"
#include "core/mount/mount.h"
#include "executor/rootfs_mount.h"
#include "shim-v2/shim/reaper.h"
#include "shim-v2/shim/stats.h"

namespace berth::shim {
namespace {

// Maps the runtime's words to containerd's errdefs-like codes.
absl::Status ClassifyFailure(const std::string& verb, const std::string& msg) {
  std::string text = absl::StrCat(verb, ": ", msg);
  if (absl::StrContains(msg, "does not exist") || absl::StrContains(msg, "not found")) {
    return absl::NotFoundError(text);
  }
  if (absl::StrContains(msg, "already exists")) return absl::AlreadyExistsError(text);
  if (absl::StrContains(msg, "not running") || absl::StrContains(msg, "is stopped") ||
      absl::StrContains(msg, "not paused") || absl::StrContains(msg, "already finished")) {
    return absl::FailedPreconditionError(text);
  }
  return absl::InternalError(text);
}

}  // namespace

absl::StatusOr<pid_t> ReadPidFile(const std::string& path) {
  auto data = berth::fs::ReadFile(path);
  if (!data.ok()) return data.status();
  int pid = 0;
  if (!absl::SimpleAtoi(absl::StripAsciiWhitespace(*data), &pid) || pid <= 0) {
    return absl::InternalError(absl::StrCat("bad pid file ", path));
  }
  return pid;
}

RuncCliRuntime::RuncCliRuntime(std::string binary, std::string root, std::string work_dir)
    : binary_(std::move(binary)), root_(std::move(root)), work_dir_(std::move(work_dir)) {}

std::vector<std::string> RuncCliRuntime::Base() const {
  return {binary_, "--root", root_, "--log", work_dir_ + "/log.json", "--log-format", "json"};
}

std::string RuncCliRuntime::LastLogError() const {
  auto data = berth::fs::ReadFile(work_dir_ + "/log.json");
  if (!data.ok()) return "";
  // runc's json log: one object per line; the message is in "msg". Take the last error line.
  std::string last;
  for (absl::string_view line : absl::StrSplit(*data, '\n')) {
    if (!absl::StrContains(line, "\"error\"")) continue;
    size_t p = line.find("\"msg\":\"");
    if (p == absl::string_view::npos) continue;
    absl::string_view rest = line.substr(p + 7);
    size_t end = rest.find("\",\"");
    if (end == absl::string_view::npos) end = rest.rfind('"');
    last = std::string(rest.substr(0, end));
  }
  return last;
}

absl::Status RuncCliRuntime::Exec0(std::vector<std::string> args, std::string* out,
                                   int stdin_fd) {
  std::vector<std::string> argv = Base();
  argv.insert(argv.end(), args.begin(), args.end());
  std::string output;
  Reaper::Command cmd;
  cmd.argv = argv;
  cmd.stdin_fd = stdin_fd;
  absl::StatusOr<int> rc = Reaper::Get().Run(cmd, &output);
  if (!rc.ok()) return Annotate(rc.status(), args[0]);
  if (*rc != 0) {
    std::string msg = LastLogError();
    if (msg.empty()) msg = std::string(absl::StripAsciiWhitespace(output));
    return ClassifyFailure(absl::StrCat(binary_, " ", args[0]),
                           absl::StrCat(msg, " (exit status ", *rc, ")"));
  }
  if (out != nullptr) *out = std::move(output);
  return absl::OkStatus();
}

absl::StatusOr<Created> RuncCliRuntime::Create(const CreateOptions& opts) {
  std::string pid_file = absl::StrCat(opts.bundle, "/", kInitPidFile);
  unlink(pid_file.c_str());
  // An OCI runtime's command line finds the rootfs in the bundle: mounted here, in the shim's
  // namespace, as containerd's shim does.
  BERTH_RETURN_IF_ERROR(executor::MountBundleRootfs(opts.rootfs, opts.bundle));
  bool created = false;
  absl::Cleanup unmount = [&] {
    if (!created && !opts.rootfs.empty()) (void)mount::UnmountAll(opts.bundle + "/rootfs");
  };
  std::vector<std::string> argv = Base();
  for (const char* a : {"create", "--bundle"}) argv.push_back(a);
  argv.push_back(opts.bundle);
  argv.push_back("--pid-file");
  argv.push_back(pid_file);
  if (!opts.console_socket.empty()) {
    argv.push_back("--console-socket");
    argv.push_back(opts.console_socket);
  }
  if (opts.no_pivot_root) argv.push_back("--no-pivot");
  if (opts.no_new_keyring) argv.push_back("--no-new-keyring");
  argv.push_back(opts.id);
  Reaper::Command cmd;
  cmd.argv = argv;
  cmd.dir = opts.bundle;
  // The runtime passes its own stdio down to the container's init.
  cmd.stdin_fd = opts.stdio.in;
  cmd.stdout_fd = opts.stdio.out;
  cmd.stderr_fd = opts.stdio.err;
  absl::StatusOr<int> rc = Reaper::Get().Run(cmd);
  if (!rc.ok()) return rc.status();
  if (*rc != 0) {
    return ClassifyFailure(absl::StrCat(binary_, " create"),
                           absl::StrCat(LastLogError(), " (exit status ", *rc, ")"));
  }
  Created result;
  BERTH_ASSIGN_OR_RETURN(result.pid, ReadPidFile(pid_file));
  if (auto info = ReadBundleInfo(opts.bundle); info.ok()) result.cgroups_path = info->cgroups_path;
  created = true;
  return result;
}

absl::Status RuncCliRuntime::Start(const std::string& id) { return Exec0({"start", id}); }

absl::StatusOr<pid_t> RuncCliRuntime::Exec(const ExecOptions& opts) {
  std::string spec_file = absl::StrCat(work_dir_, "/.exec-", opts.exec_id, ".json");
  std::string pid_file = absl::StrCat(work_dir_, "/.exec-", opts.exec_id, ".pid");
  unlink(pid_file.c_str());
  BERTH_RETURN_IF_ERROR(berth::fs::WriteFileReplace(spec_file, opts.process_json, 0600));
  std::vector<std::string> argv = Base();
  for (const char* a : {"exec", "--detach", "--process"}) argv.push_back(a);
  argv.push_back(spec_file);
  argv.push_back("--pid-file");
  argv.push_back(pid_file);
  if (!opts.console_socket.empty()) {
    argv.push_back("--console-socket");
    argv.push_back(opts.console_socket);
  }
  argv.push_back(opts.id);
  Reaper::Command cmd;
  cmd.argv = argv;
  cmd.dir = work_dir_;
  cmd.stdin_fd = opts.stdio.in;
  cmd.stdout_fd = opts.stdio.out;
  cmd.stderr_fd = opts.stdio.err;
  absl::StatusOr<int> rc = Reaper::Get().Run(cmd);
  unlink(spec_file.c_str());
  if (!rc.ok()) return rc.status();
  if (*rc != 0) {
    return ClassifyFailure(absl::StrCat(binary_, " exec"),
                           absl::StrCat(LastLogError(), " (exit status ", *rc, ")"));
  }
  absl::StatusOr<pid_t> pid = ReadPidFile(pid_file);
  unlink(pid_file.c_str());
  return pid;
}

absl::Status RuncCliRuntime::Kill(const std::string& id, int signal, bool all) {
  std::vector<std::string> args = {"kill"};
  if (all) args.push_back("--all");
  args.push_back(id);
  args.push_back(std::to_string(signal));
  return Exec0(args);
}

absl::Status RuncCliRuntime::Delete(const std::string& id, bool force) {
  std::vector<std::string> args = {"delete"};
  if (force) args.push_back("--force");
  args.push_back(id);
  return Exec0(args);
}

absl::Status RuncCliRuntime::Pause(const std::string& id) { return Exec0({"pause", id}); }
absl::Status RuncCliRuntime::Resume(const std::string& id) { return Exec0({"resume", id}); }

absl::StatusOr<std::vector<pid_t>> RuncCliRuntime::Ps(const std::string& id) {
  std::string out;
  BERTH_RETURN_IF_ERROR(Exec0({"ps", "--format", "json", id}, &out));
  // A JSON array of numbers: "[12,13]".
  std::vector<pid_t> pids;
  for (absl::string_view tok : absl::StrSplit(out, absl::ByAnyChar("[], \n"), absl::SkipEmpty())) {
    int pid;
    if (absl::SimpleAtoi(tok, &pid)) pids.push_back(pid);
  }
  return pids;
}

absl::Status RuncCliRuntime::Update(const std::string& id, const std::string& resources_json) {
  int p[2];
  if (pipe2(p, O_CLOEXEC) != 0) return ErrnoStatus("pipe");
  // Small JSON fits the pipe buffer: write all, close, then run.
  ssize_t w = write(p[1], resources_json.data(), resources_json.size());
  close(p[1]);
  if (w != static_cast<ssize_t>(resources_json.size())) {
    close(p[0]);
    return absl::InvalidArgumentError("update: resources too large");
  }
  absl::Status st = Exec0({"update", "--resources", "-", id}, nullptr, p[0]);
  close(p[0]);
  return st;
}

}  // namespace berth::shim
