// ps, kill, rm, logs.
#include <fcntl.h>
#include <unistd.h>

#include <csignal>
#include <cstring>
#include <iostream>
#include <thread>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "client/container_setup.h"
#include "cmd/berthctl/commands.h"

namespace berth::ctl {
namespace {

using json = nlohmann::json;

struct ContainerFlags {
  bool all = false, force = false, follow = false, quiet = false;
  std::string signal = "SIGTERM";
  std::vector<std::string> ids;
};

ContainerFlags& ContainerArgs() {
  static ContainerFlags f;
  return f;
}

absl::StatusOr<int> ParseSignal(std::string s) {
  s = absl::AsciiStrToUpper(s);
  int n;
  if (absl::SimpleAtoi(s, &n) && n > 0 && n < 65) return n;
  if (s.rfind("SIG", 0) != 0) s = "SIG" + s;
  static const std::pair<const char*, int> kSignals[] = {
      {"SIGHUP", SIGHUP},   {"SIGINT", SIGINT},   {"SIGQUIT", SIGQUIT}, {"SIGKILL", SIGKILL},
      {"SIGUSR1", SIGUSR1}, {"SIGUSR2", SIGUSR2}, {"SIGTERM", SIGTERM}, {"SIGCONT", SIGCONT},
      {"SIGSTOP", SIGSTOP}, {"SIGWINCH", SIGWINCH}, {"SIGPIPE", SIGPIPE}, {"SIGALRM", SIGALRM}};
  for (const auto& [name, num] : kSignals) {
    if (s == name) return num;
  }
  return absl::InvalidArgumentError(absl::StrCat("unknown signal \"", s, "\""));
}

absl::StatusOr<int> Ps(Context& ctx, client::Client& c) {
  auto containers = c.containers().List();
  if (!containers.ok()) return containers.status();
  auto tasks = c.tasks().List();
  if (!tasks.ok()) return tasks.status();
  std::map<std::string, client::tasktypes::Process> by_id;
  for (const auto& t : *tasks) by_id[t.container_id()] = t;
  Table t({"CONTAINER", "IMAGE", "COMMAND", "STATUS", "PID", "RUNTIME"});
  json j = json::array();
  for (const auto& ct : *containers) {
    auto task = by_id.find(ct.id());
    std::string status = task == by_id.end() ? "no task"
                                             : client::TaskStatusName(task->second.status());
    bool running = task != by_id.end() && task->second.status() == client::tasktypes::RUNNING;
    if (!ContainerArgs().all && !running) continue;
    if (task != by_id.end() && task->second.status() == client::tasktypes::STOPPED) {
      status = absl::StrCat("exited (", task->second.exit_status(), ")");
    }
    std::string cmd;
    if (auto spec = client::Containers::SpecOf(ct); spec.ok()) {
      const json& args = (*spec)["process"]["args"];
      if (args.is_array()) {
        for (const auto& a : args) {
          if (a.is_string()) absl::StrAppend(&cmd, cmd.empty() ? "" : " ", a.get<std::string>());
        }
      }
    }
    if (cmd.size() > 30) cmd = cmd.substr(0, 27) + "...";
    uint32_t pid = task == by_id.end() ? 0 : task->second.pid();
    if (ContainerArgs().quiet) {
      std::cout << ct.id() << "\n";
      continue;
    }
    t.Add({ct.id(), ct.image(), cmd, status, pid ? std::to_string(pid) : "-",
           ct.runtime().name()});
    j.push_back({{"id", ct.id()},
                 {"image", ct.image()},
                 {"command", cmd},
                 {"status", task == by_id.end() ? "" : client::TaskStatusName(task->second.status())},
                 {"exit_status", task == by_id.end() ? 0 : task->second.exit_status()},
                 {"pid", pid},
                 {"runtime", ct.runtime().name()},
                 {"snapshotter", ct.snapshotter()}});
  }
  if (!ContainerArgs().quiet) Emit(ctx.format(), t, j);
  return 0;
}

absl::StatusOr<int> Kill(client::Client& c) {
  auto sig = ParseSignal(ContainerArgs().signal);
  if (!sig.ok()) return sig.status();
  for (const auto& id : ContainerArgs().ids) {
    if (auto s = c.tasks().Kill(id, static_cast<uint32_t>(*sig), /*all=*/false); !s.ok()) return s;
    std::cout << id << "\n";
  }
  return 0;
}

absl::StatusOr<int> Rm(client::Client& c) {
  int rc = 0;
  for (const auto& id : ContainerArgs().ids) {
    if (auto s = client::RemoveContainer(c, id, ContainerArgs().force); !s.ok()) {
      rc = ReportError(s);
      continue;
    }
    std::cout << id << "\n";
  }
  return rc;
}

absl::StatusOr<int> Logs(client::Client& c) {
  const std::string& id = ContainerArgs().ids.at(0);
  auto ct = c.containers().Get(id);
  if (!ct.ok()) return ct.status();
  auto it = ct->labels().find("io.berth.log-file");
  if (it == ct->labels().end()) {
    return absl::FailedPreconditionError(absl::StrCat(
        "logs of ", id, ": the container has no log file (start it with run -d --log-file)"));
  }
  int fd = open(it->second.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return absl::NotFoundError(absl::StrCat("logs of ", id, ": open ", it->second,
                                                      ": ", strerror(errno)));
  char buf[32 * 1024];
  while (true) {
    ssize_t n = read(fd, buf, sizeof(buf));
    if (n > 0) {
      std::cout.write(buf, n);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (!ContainerArgs().follow) break;
    std::cout.flush();
    auto task = c.tasks().Get(id);
    if (!task.ok() || task->status() == client::tasktypes::STOPPED) {
      // One more read picks up what the process wrote just before it exited.
      while ((n = read(fd, buf, sizeof(buf))) > 0) std::cout.write(buf, n);
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  close(fd);
  std::cout.flush();
  return 0;
}

}  // namespace

void AddContainerCommands(CLI::App& app, Context& ctx) {
  ContainerFlags& f = ContainerArgs();
  auto* ps = app.add_subcommand("ps", "List containers (running ones unless -a)");
  ps->add_flag("-a,--all", f.all, "Also containers whose task stopped or was never made");
  ps->add_flag("-q,--quiet", f.quiet, "Only ids");
  ps->callback([&ctx] {
    ctx.action = [&ctx] {
      return WithClient(ctx, [&ctx](client::Client& c) { return Ps(ctx, c); });
    };
  });
  auto* kill = app.add_subcommand("kill", "Signal a container's init process");
  kill->add_option("-s,--signal", f.signal, "Signal name or number")->capture_default_str();
  kill->add_option("id", f.ids, "Container ids")->required();
  kill->callback([&ctx] {
    ctx.action = [&ctx] { return WithClient(ctx, [](client::Client& c) { return Kill(c); }); };
  });
  auto* rm = app.add_subcommand("rm", "Remove containers (task, record and snapshot)");
  rm->add_flag("-f,--force", f.force, "Kill running tasks first");
  rm->add_option("id", f.ids, "Container ids")->required();
  rm->callback([&ctx] {
    ctx.action = [&ctx] { return WithClient(ctx, [](client::Client& c) { return Rm(c); }); };
  });
  auto* logs = app.add_subcommand("logs", "Print the log of a container started with --log-file");
  logs->add_flag("-f,--follow", f.follow, "Keep printing until the container exits");
  logs->add_option("id", f.ids, "Container id")->required()->expected(1);
  logs->callback([&ctx] {
    ctx.action = [&ctx] { return WithClient(ctx, [](client::Client& c) { return Logs(c); }); };
  });
}

}  // namespace berth::ctl
