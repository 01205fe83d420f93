#include "cmd/berth-runc/commands.h"

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <cstdio>
#include <iostream>
#include <memory>
#include <thread>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "cmd/berth-runc/output.h"
#include "core/fs.h"
#include "core/status.h"
#include "executor/executor.h"
#include "executor/spec_example.h"

namespace berth::runc {
namespace {

using executor::Executor;

absl::StatusOr<int> ParseSignal(std::string s) {
  int n;
  if (absl::SimpleAtoi(s, &n)) return n;
  s = absl::AsciiStrToUpper(s);
  if (absl::StartsWith(s, "SIG")) s = s.substr(3);
  for (int sig = 1; sig < NSIG; ++sig) {
    const char* abbrev = sigabbrev_np(sig);
    if (abbrev != nullptr && s == abbrev) return sig;
  }
  return absl::InvalidArgumentError("unknown signal " + s);
}

// `runc spec`: writes runc's example config.json into the bundle (cwd by default) and, like
// runc, refuses to overwrite one.
absl::Status WriteExampleSpec(const std::string& bundle, bool rootless) {
  std::string path = (bundle.empty() ? std::string(".") : bundle) + "/config.json";
  if (access(path.c_str(), F_OK) == 0) {
    return absl::AlreadyExistsError("File config.json exists. Remove it first");
  }
  executor::ExampleSpecOptions o;
  o.rootless = rootless;
  o.uid = geteuid();
  o.gid = getegid();
  std::string data = executor::ExampleSpecJson(o);
  int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
  if (fd < 0) return ErrnoStatus(errno, "open " + path);
  bool ok = write(fd, data.data(), data.size()) == static_cast<ssize_t>(data.size());
  int err = errno;
  if (close(fd) != 0 && ok) return ErrnoStatus(errno, "close " + path);
  return ok ? absl::OkStatus() : ErrnoStatus(err, "write " + path);
}

absl::StatusOr<std::string> ReadInput(const std::string& path) {
  if (path != "-") return fs::ReadFile(path);
  std::string data((std::istreambuf_iterator<char>(std::cin)), std::istreambuf_iterator<char>());
  return data;
}

struct CreateArgs {
  std::string id, bundle = ".", pid_file, console_socket;
  bool no_pivot = false, no_new_keyring = false, detach = false, keep = false;
  int preserve_fds = 0;
  std::string notify_socket;
};

void AddCreateOptions(CLI::App* sub, CreateArgs& a) {
  sub->add_option("id", a.id)->required();
  sub->add_option("-b,--bundle", a.bundle);
  sub->add_option("--pid-file", a.pid_file);
  sub->add_option("--console-socket", a.console_socket);
  sub->add_flag("--no-pivot", a.no_pivot);
  sub->add_flag("--no-new-keyring", a.no_new_keyring);
  sub->add_option("--preserve-fds", a.preserve_fds);
}

executor::CreateOptions ToOptions(const CreateArgs& a) {
  executor::CreateOptions o;
  o.bundle = a.bundle;
  o.pid_file = a.pid_file;
  o.console_socket = a.console_socket;
  o.no_pivot = a.no_pivot;
  o.preserve_fds = a.preserve_fds;
  return o;
}

struct ExecArgs {
  std::string id, process_file, pid_file, console_socket, cwd, user;
  std::vector<std::string> command, env, caps;
  bool detach = false, tty = false, no_new_privs = false;
};

absl::StatusOr<executor::Process> ExecProcess(Executor& ex, const ExecArgs& a) {
  if (!a.process_file.empty()) {
    auto text = ReadInput(a.process_file);
    if (!text.ok()) return text.status();
    return executor::ParseProcess(*text);
  }
  if (a.command.empty()) return absl::InvalidArgumentError("exec: no command given");
  auto state = ex.State(a.id);
  if (!state.ok()) return state.status();
  auto spec = executor::LoadSpec(state->bundle);
  if (!spec.ok()) return spec.status();
  executor::Process p = spec->process.value_or(executor::Process{});
  p.args = a.command;
  p.terminal = a.tty;
  for (const auto& e : a.env) p.env.push_back(e);
  if (!a.cwd.empty()) p.cwd = a.cwd;
  if (a.no_new_privs) p.no_new_privileges = true;
  if (!a.user.empty()) {
    std::vector<std::string> ug = absl::StrSplit(a.user, ':');
    if (!absl::SimpleAtoi(ug[0], &p.user.uid) ||
        (ug.size() > 1 && !absl::SimpleAtoi(ug[1], &p.user.gid))) {
      return absl::InvalidArgumentError("--user takes uid[:gid]");
    }
  }
  return p;
}

}  // namespace

std::vector<Command> RegisterCommands(CLI::App& app, Globals& g) {
  std::vector<Command> cmds;
  auto ex = [&g] { return Executor(g.root); };

  auto create = std::make_shared<CreateArgs>();
  CLI::App* sub = app.add_subcommand("create", "create a container");
  AddCreateOptions(sub, *create);
  cmds.push_back({sub, [create, ex] {
                    Executor e = ex();
                    auto pid = e.Create(create->id, ToOptions(*create));
                    return pid.ok() ? 0 : Fail(pid.status());
                  }});

  auto run = std::make_shared<CreateArgs>();
  sub = app.add_subcommand("run", "create and start a container");
  AddCreateOptions(sub, *run);
  sub->add_flag("-d,--detach", run->detach);
  sub->add_flag("--keep", run->keep);
  cmds.push_back({sub, [run, ex] {
                    Executor e = ex();
                    auto code = e.Run(run->id, ToOptions(*run), run->detach);
                    return code.ok() ? *code : Fail(code.status());
                  }});

  auto id = std::make_shared<std::string>();
  for (const char* verb : {"start", "pause", "resume"}) {
    sub = app.add_subcommand(verb, std::string(verb) + " a container");
    sub->add_option("id", *id)->required();
    std::string v = verb;
    cmds.push_back({sub, [id, ex, v] {
                      Executor e = ex();
                      absl::Status st = v == "start"   ? e.Start(*id)
                                        : v == "pause" ? e.Pause(*id)
                                                       : e.Resume(*id);
                      return st.ok() ? 0 : Fail(st);
                    }});
  }

  sub = app.add_subcommand("state", "print the state of a container");
  sub->add_option("id", *id)->required();
  cmds.push_back({sub, [id, ex] {
                    Executor e = ex();
                    auto s = e.State(*id);
                    if (!s.ok()) return Fail(s.status());
                    std::printf("%s\n", executor::StateToJson(*s, true).c_str());
                    return 0;
                  }});

  auto list_format = std::make_shared<std::string>("table");
  auto quiet = std::make_shared<bool>(false);
  sub = app.add_subcommand("list", "list containers");
  sub->add_option("-f,--format", *list_format);
  sub->add_flag("-q,--quiet", *quiet);
  cmds.push_back({sub, [list_format, quiet, ex] {
                    Executor e = ex();
                    auto all = e.List();
                    if (!all.ok()) return Fail(all.status());
                    PrintList(*all, *list_format, *quiet);
                    return 0;
                  }});

  auto kill_all = std::make_shared<bool>(false);
  auto signal = std::make_shared<std::string>("SIGTERM");
  sub = app.add_subcommand("kill", "send a signal to a container");
  sub->add_option("id", *id)->required();
  sub->add_option("signal", *signal);
  sub->add_flag("-a,--all", *kill_all);
  cmds.push_back({sub, [id, signal, kill_all, ex] {
                    auto sig = ParseSignal(*signal);
                    if (!sig.ok()) return Fail(sig.status());
                    Executor e = ex();
                    absl::Status st = e.Kill(*id, *sig, *kill_all);
                    return st.ok() ? 0 : Fail(st);
                  }});

  auto force = std::make_shared<bool>(false);
  sub = app.add_subcommand("delete", "delete a container");
  sub->add_option("id", *id)->required();
  sub->add_flag("-f,--force", *force);
  cmds.push_back({sub, [id, force, ex] {
                    Executor e = ex();
                    absl::Status st = e.Delete(*id, *force);
                    return st.ok() ? 0 : Fail(st);
                  }});

  auto exec = std::make_shared<ExecArgs>();
  sub = app.add_subcommand("exec", "run a process in a container");
  sub->add_option("id", exec->id)->required();
  sub->add_option("command", exec->command);
  sub->add_option("-p,--process", exec->process_file);
  sub->add_option("--pid-file", exec->pid_file);
  sub->add_option("--console-socket", exec->console_socket);
  sub->add_option("--cwd", exec->cwd);
  sub->add_option("-u,--user", exec->user);
  sub->add_option("-e,--env", exec->env);
  sub->add_option("-c,--cap", exec->caps);
  sub->add_flag("-d,--detach", exec->detach);
  sub->add_flag("-t,--tty", exec->tty);
  sub->add_flag("--no-new-privs", exec->no_new_privs);
  sub->prefix_command(false);
  sub->positionals_at_end(true);
  cmds.push_back({sub, [exec, ex] {
                    Executor e = ex();
                    auto process = ExecProcess(e, *exec);
                    if (!process.ok()) return Fail(process.status());
                    executor::ExecOptions o;
                    o.process = *std::move(process);
                    o.detach = exec->detach;
                    o.pid_file = exec->pid_file;
                    o.console_socket = exec->console_socket;
                    auto r = e.Exec(exec->id, o);
                    if (!r.ok()) return Fail(r.status());
                    return exec->detach ? 0 : *r;
                  }});

  auto ps_format = std::make_shared<std::string>("table");
  sub = app.add_subcommand("ps", "list the processes of a container");
  sub->add_option("id", *id)->required();
  sub->add_option("-f,--format", *ps_format);
  sub->allow_extras();
  cmds.push_back({sub, [id, ps_format, ex] {
                    Executor e = ex();
                    auto pids = e.Ps(*id);
                    if (!pids.ok()) return Fail(pids.status());
                    PrintPids(*pids, *ps_format);
                    return 0;
                  }});

  auto upd = std::make_shared<UpdateArgs>();
  sub = app.add_subcommand("update", "update the resource limits of a container");
  sub->add_option("id", *id)->required();
  AddUpdateOptions(sub, *upd);
  cmds.push_back({sub, [id, upd, ex] {
                    auto res = BuildResources(*upd, ReadInput);
                    if (!res.ok()) return Fail(res.status());
                    Executor e = ex();
                    absl::Status st = e.Update(*id, *res);
                    return st.ok() ? 0 : Fail(st);
                  }});

  auto stats_once = std::make_shared<bool>(false);
  auto interval = std::make_shared<std::string>("5s");
  sub = app.add_subcommand("events", "container stats (--stats prints once)");
  sub->add_option("id", *id)->required();
  sub->add_flag("--stats", *stats_once);
  sub->add_option("--interval", *interval);
  cmds.push_back({sub, [id, stats_once, interval, ex] {
                    Executor e = ex();
                    int secs = 5;
                    (void)absl::SimpleAtoi(absl::StripSuffix(*interval, "s"), &secs);
                    for (;;) {
                      auto stats = e.Stats(*id);
                      if (!stats.ok()) return Fail(stats.status());
                      std::printf("%s\n", StatsEventJson(*id, *stats).c_str());
                      std::fflush(stdout);
                      if (*stats_once) return 0;
                      std::this_thread::sleep_for(std::chrono::seconds(secs > 0 ? secs : 5));
                    }
                  }});

  auto spec_bundle = std::make_shared<std::string>();
  auto spec_rootless = std::make_shared<bool>(false);
  sub = app.add_subcommand("spec", "create a new specification file (runc's example)");
  sub->add_option("-b,--bundle", *spec_bundle, "path to the root of the bundle directory");
  sub->add_flag("--rootless", *spec_rootless, "generate a configuration for a rootless container");
  cmds.push_back({sub, [spec_bundle, spec_rootless] {
                    absl::Status st = WriteExampleSpec(*spec_bundle, *spec_rootless);
                    return st.ok() ? 0 : Fail(st);
                  }});

  sub = app.add_subcommand("features", "print the features of this runtime");
  cmds.push_back({sub, [] {
                    std::printf("%s\n", FeaturesJson().c_str());
                    return 0;
                  }});
  return cmds;
}

}  // namespace berth::runc
