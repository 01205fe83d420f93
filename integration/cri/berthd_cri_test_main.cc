// berthd-cri-test: berthd's plugins plus the CRI plugin, for the CRI integration suite until
// cmd/berthd registers the CRI itself. Same flags as berthd (-a, --root, --state, -c,
// --log-level); serves until SIGTERM/SIGINT. Mirrors cmd/berthd/server.cc's Serve.
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstring>

#include "CLI/CLI.hpp"
#include "cmd/berthd/builtins.h"
#include "cmd/berthd/lock_file.h"
#include "core/config.h"
#include "core/fs.h"
#include "core/log.h"
#include "cri/plugin.h"
#include "grpcpp/grpcpp.h"
#include "services/common/grpc_service.h"
#include "shim-v2/manager/daemon_address.h"
#include "shim-v2/manager/publish.h"

namespace {

int g_pipe[2];
void OnSignal(int sig) {
  unsigned char b = static_cast<unsigned char>(sig);
  [[maybe_unused]] ssize_t n = ::write(g_pipe[1], &b, 1);
}

absl::Status Serve(const berth::DaemonConfig& config) {
  using namespace berth;
  BERTH_RETURN_IF_ERROR(fs::MkdirAll(config.root, 0711));
  BERTH_RETURN_IF_ERROR(fs::MkdirAll(config.state, 0711));
  BERTH_ASSIGN_OR_RETURN(auto lock, daemon::LockFile::Acquire(config.root + "/berthd.lock", "root"));
  ::unlink(config.grpc.address.c_str());
  runtime::SetDaemonGrpcAddress(config.grpc.address);
  plugin::Registry registry;
  BERTH_RETURN_IF_ERROR(daemon::RegisterBuiltins(registry));
  BERTH_RETURN_IF_ERROR(cri::RegisterCriPlugin(registry));
  BERTH_RETURN_IF_ERROR(registry.InitAll(config));
  for (const auto& st : registry.statuses()) {
    if (!st.init_error.ok()) {
      log::Get("berthd")->warn("plugin {} skipped: {}", st.registration->FullId(),
                               std::string(st.init_error.message()));
    }
  }
  grpc::ServerBuilder builder;
  builder.AddListeningPort("unix:" + config.grpc.address, grpc::InsecureServerCredentials());
  builder.SetMaxReceiveMessageSize(16 << 20);
  for (const auto& inst : registry.ready()) {
    if (inst.registration->type != plugin::kGrpc) continue;
    builder.RegisterService(std::any_cast<std::shared_ptr<services::GrpcService>>(inst.value)->Service());
  }
  auto server = builder.BuildAndStart();
  if (!server) return absl::UnavailableError("cannot serve on " + config.grpc.address);
  log::Get("berthd")->info("serving on {}", config.grpc.address);
  unsigned char b;
  while (::read(g_pipe[0], &b, 1) < 0 && errno == EINTR) {
  }
  server->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(5));
  server->Wait();
  ::unlink(config.grpc.address.c_str());
  return absl::OkStatus();
}

}  // namespace

int main(int argc, char** argv) {
  if (argc > 1 && std::string(argv[1]) == "publish") {
    return berth::runtime::RunPublish(argc - 1, argv + 1);
  }
  CLI::App app{"berthd-cri-test", "berthd-cri-test"};
  std::string address, root, state, config_path, level = "info";
  app.add_option("-a,--address", address);
  app.add_option("--root", root);
  app.add_option("--state", state);
  app.add_option("-c,--config", config_path);
  app.add_option("-l,--log-level", level);
  CLI11_PARSE(app, argc, argv);
  berth::DaemonConfig config;
  if (!config_path.empty()) {
    auto loaded = berth::DaemonConfig::Load(config_path);
    if (!loaded.ok()) {
      std::fprintf(stderr, "%s\n", std::string(loaded.status().message()).c_str());
      return 1;
    }
    config = *loaded;
  }
  if (!address.empty()) config.grpc.address = address;
  if (!root.empty()) config.root = root;
  if (!state.empty()) config.state = state;
  berth::log::Init(level, berth::log::Format::kText).IgnoreError();
  if (::pipe(g_pipe) != 0) return 1;
  ::signal(SIGTERM, OnSignal);
  ::signal(SIGINT, OnSignal);
  ::signal(SIGPIPE, SIG_IGN);
  auto st = Serve(config);
  if (!st.ok()) {
    std::fprintf(stderr, "berthd-cri-test: %s\n", std::string(st.message()).c_str());
    return 1;
  }
  return 0;
}
