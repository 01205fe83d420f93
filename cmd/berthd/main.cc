// berthd: the Berth daemon.
//
//   berthd [-a SOCKET] [--root DIR] [--state DIR] [-c CONFIG] [-l LEVEL]
//   berthd config default      prints the complete default configuration
#include <malloc.h>
#include <unistd.h>

#include <cstdio>
#include <iostream>
#include <string_view>

#include "CLI/CLI.hpp"
#include "absl/synchronization/mutex.h"
#include "cmd/berthd/builtins.h"
#include "cmd/berthd/server.h"
#include "core/config.h"
#include "core/log.h"
#include "shim-v2/manager/publish.h"

namespace {

constexpr char kDefaultConfigPath[] = "/etc/berth/config.toml";

struct Flags {
  std::string address, root, state, config_path, log_level, log_format;
};

int Fail(const absl::Status& status) {
  std::fprintf(stderr, "berthd: %s\n", std::string(status.message()).c_str());
  return 1;
}

absl::StatusOr<berth::DaemonConfig> LoadConfig(const Flags& flags) {
  berth::DaemonConfig config;
  if (!flags.config_path.empty()) {
    BERTH_ASSIGN_OR_RETURN(config, berth::DaemonConfig::Load(flags.config_path));
  } else if (::access(kDefaultConfigPath, F_OK) == 0) {
    BERTH_ASSIGN_OR_RETURN(config, berth::DaemonConfig::Load(kDefaultConfigPath));
  }
  // Flags win over the file.
  if (!flags.address.empty()) config.grpc.address = flags.address;
  if (!flags.root.empty()) config.root = flags.root;
  if (!flags.state.empty()) config.state = flags.state;
  if (!flags.log_level.empty()) config.debug.level = flags.log_level;
  if (!flags.log_format.empty()) config.debug.format = flags.log_format;
  return config;
}

// What the dynamic loader reads to bind every library's symbols at load time. The value marks
// that berthd set it itself, so it is not passed on to the shims, runc and CNI plugins.
constexpr char kBindNow[] = "LD_BIND_NOW";
constexpr char kBindNowOurs[] = "berthd";

// Debian's libraries are linked for lazy binding (berthd's own -z now covers only berthd), so
// the first call of each of their functions would look its name up in the symbol hash tables
// of ~100 libraries: the first RPC alone faulted 4 MB of symbol tables back into the serving
// daemon's RSS. A daemon that runs for days binds once, at start (~6 ms), where
// startup_pages::Drop releases what binding read. The loader only honours LD_BIND_NOW at exec,
// hence one re-exec of the same binary (same pid) before anything else starts.
void ExecWithEagerBinding(char** argv) {
  const char* bind_now = ::getenv(kBindNow);
  if (bind_now != nullptr) {
    if (std::string_view(bind_now) == kBindNowOurs) ::unsetenv(kBindNow);
    return;
  }
  ::setenv(kBindNow, kBindNowOurs, 1);
  ::execv("/proc/self/exe", argv);
  ::unsetenv(kBindNow);  // no /proc: serve with lazy binding
}

}  // namespace

int main(int argc, char** argv) {
  // `berthd publish ...`: the -publish-binary command of shims (shim-v2/manager/publish.h).
  if (argc > 1 && std::string(argv[1]) == "publish") {
    return berth::runtime::RunPublish(argc - 1, argv + 1);
  }
  // glibc's defaults keep what a large import or pull freed: the mmap threshold rises with
  // every big free (later big buffers then come from the heap and stay there), and each gRPC
  // thread may get an arena of its own. Fixed thresholds hand big buffers back at free and trim
  // the heap top; two arenas bound fragmentation. Measured: anonymous memory after an image
  // import and one container 18.7 MB -> 5.6 MB. Before any thread starts.
  mallopt(M_MMAP_THRESHOLD, 256 * 1024);
  mallopt(M_TRIM_THRESHOLD, 4 * 1024 * 1024);
  mallopt(M_ARENA_MAX, 2);
  // Debian's Abseil is built without NDEBUG, so every absl::Mutex operation also maintains
  // the deadlock-detection graph (4x the cost of a lock). Tests keep it; serving does not.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  CLI::App app{"berthd - the Berth container runtime daemon", "berthd"};
  Flags flags;
  app.add_option("-a,--address", flags.address, "gRPC unix socket (default /run/berth/berth.sock)");
  app.add_option("--root", flags.root, "persistent state directory (default /var/lib/berth)");
  app.add_option("--state", flags.state, "runtime state directory (default /run/berth)");
  app.add_option("-c,--config", flags.config_path,
                 "TOML config file (default /etc/berth/config.toml if present)");
  app.add_option("-l,--log-level", flags.log_level, "trace, debug, info, warn or error");
  app.add_option("--log-format", flags.log_format, "text or json");
  auto* config_cmd = app.add_subcommand("config", "configuration helpers");
  auto* config_default = config_cmd->add_subcommand("default", "print the default configuration");
  config_cmd->require_subcommand(1);
  CLI11_PARSE(app, argc, argv);

  if (*config_default) {
    berth::plugin::Registry registry;
    if (auto s = berth::daemon::RegisterBuiltins(registry); !s.ok()) return Fail(s);
    std::cout << registry.DefaultConfigToml(berth::DaemonConfig{});
    return 0;
  }
  ExecWithEagerBinding(argv);
  auto config = LoadConfig(flags);
  if (!config.ok()) return Fail(config.status());
  auto format =
      config->debug.format == "json" ? berth::log::Format::kJson : berth::log::Format::kText;
  if (auto s = berth::log::Init(config->debug.level, format); !s.ok()) return Fail(s);
  if (auto s = berth::daemon::Serve(*config); !s.ok()) return Fail(s);
  return 0;
}
