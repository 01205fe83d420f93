// berth-runc: runc's command line over berth::executor. Errors go to stderr and, with --log,
// as JSON lines {"level":"error","msg":...,"time":...} to the log file (containerd's shim reads
// the last error line from there).
#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <cstdio>
#include <iostream>
#include <thread>

#include "CLI/CLI.hpp"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "cmd/berth-runc/commands.h"
#include "core/fs.h"
#include "executor/executor.h"
#include "nlohmann/json.hpp"

namespace berth::runc {
namespace {

std::string g_log_path;
std::string g_log_format = "text";

void LogError(const std::string& msg) {
  std::string t = executor::NowRfc3339Nano();
  std::fprintf(stderr, "time=\"%s\" level=error msg=\"%s\"\n", t.c_str(), msg.c_str());
  if (g_log_path.empty()) return;
  std::string line;
  if (g_log_format == "json") {
    line = nlohmann::json{{"level", "error"}, {"msg", msg}, {"time", t}}.dump() + "\n";
  } else {
    line = absl::StrCat("time=\"", t, "\" level=error msg=\"", msg, "\"\n");
  }
  int fd = open(g_log_path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) return;
  (void)!write(fd, line.data(), line.size());
  close(fd);
}

}  // namespace

int Fail(const absl::Status& st) {
  LogError(std::string(st.message()));
  return 1;
}

}  // namespace berth::runc

int main(int argc, char** argv) {
  using namespace berth::runc;
  CLI::App app{"berth-runc: an OCI runtime (runc-compatible command line)", "berth-runc"};
  app.require_subcommand(1);
  Globals g;
  bool debug = false, systemd = false;
  std::string rootless, criu;
  app.add_option("--root", g.root, "state directory")->capture_default_str();
  app.add_option("--log", g_log_path, "log file");
  app.add_option("--log-format", g_log_format, "text or json");
  app.add_flag("--debug", debug);
  app.add_flag("--systemd-cgroup", systemd, "not supported: cgroupfs is used");
  app.add_option("--rootless", rootless);
  app.add_option("--criu", criu);
  app.set_version_flag("-v,--version", "berth-runc version 0.1.0\nspec: 1.1.0");
  std::vector<Command> commands = RegisterCommands(app, g);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0) return app.exit(e);
    LogError(e.what());
    return e.get_exit_code() == 0 ? 0 : 1;
  }
  for (auto& c : commands) {
    if (c.sub->parsed()) return c.run();
  }
  return 1;
}
