// run and exec.
#include <unistd.h>

#include <filesystem>
#include <iostream>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "client/container_setup.h"
#include "client/image_resolve.h"
#include "cmd/berthctl/attach.h"
#include "cmd/berthctl/commands.h"

namespace berth::ctl {
namespace {

// The label that remembers a container's --log-file for `berthctl logs`.
constexpr char kLogFileLabel[] = "io.berth.log-file";

struct RunFlags {
  bool rm = false, detach = false, tty = false, interactive = false, read_only = false;
  std::vector<std::string> env, volumes;
  std::string user, memory, hostname, net = "none", name, log_file, workdir;
  double cpus = 0;
  std::string runtime = client::kDefaultRuntime;
  std::string snapshotter = client::kDefaultSnapshotter;
  std::string image;
  std::vector<std::string> args;
};

RunFlags& RunArgs() {
  static RunFlags f;
  return f;
}

absl::StatusOr<client::ContainerConfig> ToConfig(const RunFlags& f) {
  client::ContainerConfig cfg;
  cfg.id = f.name.empty() ? client::GenerateId() : f.name;
  cfg.image = f.image;
  cfg.runtime = f.runtime;
  cfg.snapshotter = f.snapshotter;
  client::SpecOptions& o = cfg.spec;
  o.args = f.args;
  o.env = f.env;
  o.user = f.user;
  o.cwd = f.workdir;
  o.cpus = f.cpus;
  o.hostname = f.hostname.empty() ? cfg.id.substr(0, 12) : f.hostname;
  o.read_only = f.read_only;
  o.terminal = f.tty;
  o.net = f.net == "host" ? client::NetworkMode::kHost : client::NetworkMode::kNone;
  if (!f.memory.empty()) {
    auto m = client::ParseMemory(f.memory);
    if (!m.ok()) return m.status();
    o.memory_bytes = *m;
  }
  for (const auto& v : f.volumes) {
    auto m = client::ParseVolume(v);
    if (!m.ok()) return m.status();
    o.mounts.push_back(*m);
  }
  if (!f.log_file.empty()) {
    cfg.labels[kLogFileLabel] = std::filesystem::absolute(f.log_file).string();
  }
  return cfg;
}

absl::StatusOr<int> Run(client::Client& c) {
  const RunFlags& f = RunArgs();
  if (!f.log_file.empty() && !f.detach) {
    return absl::InvalidArgumentError("run: --log-file needs -d (attached output goes here)");
  }
  auto cfg = ToConfig(f);
  if (!cfg.ok()) return cfg.status();
  auto container = client::CreateContainerFromImage(c, *cfg);
  if (!container.ok()) return container.status();
  const std::string id = cfg->id;
  client::FifoSet io;
  if (!f.detach) {
    auto fifos = MakeFifos(id, f.interactive, f.tty);
    if (!fifos.ok()) return fifos.status();
    io = *fifos;
  } else if (!f.log_file.empty()) {
    io.out = io.err = "file://" + cfg->labels[kLogFileLabel];
  }
  auto cleanup = [&](absl::Status s) -> absl::Status {
    client::RemoveContainer(c, id, /*force=*/true).IgnoreError();
    client::RemoveFifoSet(io).IgnoreError();
    return s;
  };
  auto mounts = c.snapshots().Mounts(cfg->snapshotter, id);
  if (!mounts.ok()) return cleanup(mounts.status());
  if (f.detach) {
    auto pid = c.tasks().Create(id, *mounts, io);
    if (!pid.ok()) return cleanup(pid.status());
    auto started = c.tasks().Start(id);
    if (!started.ok()) return cleanup(started.status());
    std::cout << id << "\n";
    return 0;
  }
  // The fifos' readers must exist before the shim opens them: RunAttached opens them first,
  // then creates the task.
  AttachedProcess p{id, "", f.tty, f.interactive};
  absl::StatusOr<int> code = RunAttached(
      c, p, io, [&] { return c.tasks().Create(id, *mounts, io).status(); },
      [&] { return c.tasks().Start(id).status(); });
  if (!code.ok()) return cleanup(code.status());
  absl::Status s = f.rm ? client::RemoveContainer(c, id, true)
                        : c.tasks().Delete(id).status();
  client::RemoveFifoSet(io).IgnoreError();
  if (!s.ok()) ReportError(s);
  return *code;
}

struct ExecFlags {
  bool tty = false, interactive = false, detach = false;
  std::vector<std::string> env;
  std::string id;
  std::vector<std::string> args;
};

ExecFlags& Exec() {
  static ExecFlags f;
  return f;
}

absl::StatusOr<int> DoExec(client::Client& c) {
  const ExecFlags& f = Exec();
  auto container = c.containers().Get(f.id);
  if (!container.ok()) return container.status();
  auto spec = client::Containers::SpecOf(*container);
  if (!spec.ok()) return spec.status();
  nlohmann::json process = client::ExecProcessSpec(*spec, f.args, f.tty, f.env);
  std::string exec_id = "exec-" + client::GenerateId().substr(0, 12);
  client::FifoSet io;
  if (!f.detach) {
    auto fifos = MakeFifos(exec_id, f.interactive, f.tty);
    if (!fifos.ok()) return fifos.status();
    io = *fifos;
  }
  if (f.detach) {
    if (auto s = c.tasks().Exec(f.id, exec_id, process, io); !s.ok()) return s;
    auto pid = c.tasks().Start(f.id, exec_id);
    if (!pid.ok()) return pid.status();
    std::cout << exec_id << "\n";
    return 0;
  }
  AttachedProcess p{f.id, exec_id, f.tty, f.interactive};
  absl::StatusOr<int> code = RunAttached(
      c, p, io, [&] { return c.tasks().Exec(f.id, exec_id, process, io); },
      [&] { return c.tasks().Start(f.id, exec_id).status(); });
  c.tasks().DeleteProcess(f.id, exec_id).IgnoreError();
  client::RemoveFifoSet(io).IgnoreError();
  return code;
}

}  // namespace

void AddRunCommands(CLI::App& app, Context& ctx) {
  RunFlags& f = RunArgs();
  auto* run = app.add_subcommand("run", "Run a command in a new container");
  run->add_flag("--rm", f.rm, "Remove the container when it exits");
  run->add_flag("-d,--detach", f.detach, "Run in the background and print the id");
  run->add_flag("-t,--tty", f.tty, "Give the process a terminal");
  run->add_flag("-i,--interactive", f.interactive, "Connect stdin");
  run->add_option("-e,--env", f.env, "Set K=V in the environment (repeatable)")
      ->allow_extra_args(false);
  run->add_option("-v,--volume", f.volumes, "Bind mount HOST:CTR[:ro] (repeatable)")
      ->allow_extra_args(false);
  run->add_option("-u,--user", f.user, "uid[:gid] or name[:group]");
  run->add_option("-w,--workdir", f.workdir, "Working directory in the container");
  run->add_option("-m,--memory", f.memory, "Memory limit (512m, 1g)");
  run->add_option("--cpus", f.cpus, "CPU quota in cores (1.5)");
  run->add_option("--hostname", f.hostname, "Hostname (default: the id's first 12 chars)");
  run->add_flag("--read-only", f.read_only, "Read-only root filesystem");
  run->add_option("--net", f.net, "Network: none (loopback only) or host")
      ->check(CLI::IsMember({"none", "host"}))
      ->capture_default_str();
  run->add_option("--name", f.name, "Container id (default: generated)");
  run->add_option("--runtime", f.runtime, "Runtime (io.containerd.berth.v2 for Berth's shim)")
      ->capture_default_str();
  run->add_option("--snapshotter", f.snapshotter, "Snapshotter")->capture_default_str();
  run->add_option("--log-file", f.log_file, "With -d: write stdout/stderr to this file");
  run->add_option("image", f.image, "Image name")->required();
  // Everything after IMAGE is the command (default: the image's), options included
  // ("sh -c ..."): CLI11's prefix mode leaves it in remaining(). A positional for it would
  // let CLI11 pick options out of the command.
  run->prefix_command();
  run->footer("Everything after IMAGE is the command and its arguments.");
  run->callback([&ctx, run] {
    for (const auto& extra : run->remaining()) RunArgs().args.push_back(extra);
    ctx.action = [&ctx] {
      BlockForwardedSignals();
      return WithClient(ctx, [](client::Client& c) { return Run(c); });
    };
  });

  ExecFlags& e = Exec();
  auto* exec = app.add_subcommand("exec", "Run a command in a running container");
  exec->add_flag("-t,--tty", e.tty, "Give the process a terminal");
  exec->add_flag("-i,--interactive", e.interactive, "Connect stdin");
  exec->add_flag("-d,--detach", e.detach, "Do not wait; print the exec id");
  exec->add_option("-e,--env", e.env, "Set K=V in the environment (repeatable)")
      ->allow_extra_args(false);
  exec->add_option("id", e.id, "Container id")->required();
  exec->prefix_command();  // as for run: the command is what remains after ID
  exec->footer("Everything after ID is the command and its arguments.");
  exec->callback([&ctx, exec] {
    for (const auto& extra : exec->remaining()) Exec().args.push_back(extra);
    if (Exec().args.empty()) throw CLI::ValidationError("exec", "a command is required");
    ctx.action = [&ctx] {
      BlockForwardedSignals();
      return WithClient(ctx, [](client::Client& c) { return DoExec(c); });
    };
  });
}

}  // namespace berth::ctl
