#include "cmd/berthd/server.h"

#include <fcntl.h>
#include <malloc.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <optional>

#include "absl/strings/str_cat.h"
#include "cmd/berthd/builtins.h"
#include "cmd/berthd/lock_file.h"
#include "core/fs.h"
#include "core/log.h"
#include "core/startup_pages.h"
#include "core/status.h"
#include "grpcpp/grpcpp.h"
#include "services/common/grpc_service.h"
#include "services/common/logging_interceptor.h"
#include "shim-v2/manager/daemon_address.h"

namespace berth::daemon {
namespace {

absl::Status PrepareDirectories(const DaemonConfig& config) {
  BERTH_RETURN_IF_ERROR(fs::MkdirAll(config.root, 0711));
  BERTH_RETURN_IF_ERROR(fs::MkdirAll(config.state, 0711));
  BERTH_RETURN_IF_ERROR(fs::MkdirAll(fs::Dirname(config.grpc.address), 0711));
  // Directories may pre-exist with looser modes: tighten them.
  for (const auto& dir : {config.root, config.state}) {
    if (::chmod(dir.c_str(), 0711) != 0) return ErrnoStatus(absl::StrCat("chmod ", dir));
  }
  return absl::OkStatus();
}

// SIGTERM/SIGINT wake the main thread through a pipe. (Blocking the signals is not enough:
// gRPC starts threads during static initialisation, before main could block them.)
int g_stop_pipe[2] = {-1, -1};

void OnStopSignal(int sig) {
  unsigned char b = static_cast<unsigned char>(sig);
  [[maybe_unused]] ssize_t n = ::write(g_stop_pipe[1], &b, 1);
}

absl::Status InstallStopSignals() {
  if (::pipe2(g_stop_pipe, O_CLOEXEC) != 0) return ErrnoStatus("pipe for signals");
  struct sigaction sa = {};
  sa.sa_handler = OnStopSignal;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = SA_RESTART;
  ::sigaction(SIGTERM, &sa, nullptr);
  ::sigaction(SIGINT, &sa, nullptr);
  ::signal(SIGPIPE, SIG_IGN);
  return absl::OkStatus();
}

int WaitForStopSignal() {
  unsigned char b = 0;
  while (::read(g_stop_pipe[0], &b, 1) < 0 && errno == EINTR) {
  }
  return b;
}

}  // namespace

absl::Status Serve(const DaemonConfig& config) {
  auto log = log::Get("berthd");
  BERTH_RETURN_IF_ERROR(InstallStopSignals());
  BERTH_RETURN_IF_ERROR(PrepareDirectories(config));
  BERTH_ASSIGN_OR_RETURN(LockFile root_lock,
                         LockFile::Acquire(config.root + "/berthd.lock", "root " + config.root));
  BERTH_ASSIGN_OR_RETURN(LockFile socket_lock, LockFile::Acquire(config.grpc.address + ".lock",
                                                                 "socket " + config.grpc.address));
  // We hold the socket's lock, so a socket file left there is stale (a crashed daemon's).
  ::unlink(config.grpc.address.c_str());

  // Shims are started with the daemon's address (-address, GRPC_ADDRESS, TTRPC_ADDRESS).
  runtime::SetDaemonGrpcAddress(config.grpc.address);
  plugin::Registry registry;
  BERTH_RETURN_IF_ERROR(RegisterBuiltins(registry));
  BERTH_RETURN_IF_ERROR(registry.InitAll(config));

  grpc::ServerBuilder builder;
  builder.AddListeningPort("unix:" + config.grpc.address, grpc::InsecureServerCredentials());
  builder.SetMaxReceiveMessageSize(static_cast<int>(config.grpc.max_recv_message_size));
  builder.SetMaxSendMessageSize(static_cast<int>(config.grpc.max_send_message_size));
  // Channelz (gRPC's introspection service) is not served here; its per-call bookkeeping and
  // code would still run on every call.
  builder.AddChannelArgument(GRPC_ARG_ENABLE_CHANNELZ, 0);
  // gRPC's sync server starts a thread whenever a request takes its last idle poller (default
  // 1) and ends it when more than 2 idle: a client with two calls in flight (ctr's Wait beside
  // Start) made a thread per request, 1-3 ms each on a VM. Keep a few idle pollers instead.
  builder.SetSyncServerOption(grpc::ServerBuilder::SyncServerOption::MIN_POLLERS, 3);
  builder.SetSyncServerOption(grpc::ServerBuilder::SyncServerOption::MAX_POLLERS, 6);
  std::vector<std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>> interceptors;
  interceptors.push_back(services::MakeLoggingInterceptor());
  builder.experimental().SetInterceptorCreators(std::move(interceptors));
  for (const auto& inst : registry.ready()) {
    if (inst.registration->type != plugin::kGrpc) continue;
    auto svc = std::any_cast<std::shared_ptr<services::GrpcService>>(inst.value);
    builder.RegisterService(svc->Service());
  }
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (server == nullptr) {
    return absl::UnavailableError(
        absl::StrCat("cannot serve gRPC on unix socket ", config.grpc.address));
  }
  if (::chmod(config.grpc.address.c_str(), 0660) != 0) {
    return ErrnoStatus(absl::StrCat("chmod ", config.grpc.address));
  }
  log->info("serving on {} (root {}, state {}, pid {})", config.grpc.address, config.root,
            config.state, ::getpid());
  // Start-up is over: what it alone touched of the code and constants need not stay resident,
  // nor the heap pages its temporary buffers freed below the heap's top (~250 KiB).
  log->debug("released {} KiB of start-up pages", startup_pages::Drop() / 1024);
  ::malloc_trim(0);

  int sig = WaitForStopSignal();
  log->info("received {}, shutting down", strsignal(sig));
  server->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(5));
  server->Wait();
  ::unlink(config.grpc.address.c_str());
  log->info("stopped");
  return absl::OkStatus();
}

}  // namespace berth::daemon
