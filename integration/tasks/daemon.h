// A real berthd on private directories for end-to-end tests, plus the gRPC stubs, a busybox
// rootfs and an OCI spec (from `runc spec`) to run containers from.
#pragma once

#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "containerd/services/containers/v1/containers.grpc.pb.h"
#include "containerd/services/events/v1/events.grpc.pb.h"
#include "containerd/services/tasks/v1/tasks.grpc.pb.h"
#include "core/fs.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"

namespace berth::itest {

namespace cpb = ::containerd::services::containers::v1;
namespace tpb = ::containerd::services::tasks::v1;
namespace epb = ::containerd::services::events::v1;

// One namespace per test process: runc keeps state under /run/containerd/runc/<ns>.
inline const std::string kNs = "itest-" + std::to_string(::getpid());

class Daemon {
 public:
  explicit Daemon(std::string dir) : dir_(std::move(dir)) {}
  ~Daemon() { Stop(SIGTERM); }

  std::string sock() const { return dir_ + "/d.sock"; }

  bool Start() {
    pid_ = ::fork();
    if (pid_ == 0) {
      int log = ::open((dir_ + "/daemon.log").c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
      ::dup2(log, 1);
      ::dup2(log, 2);
      ::setsid();
      ::execl(BERTHD_BIN, BERTHD_BIN, "--root", (dir_ + "/root").c_str(), "--state",
              (dir_ + "/state").c_str(), "--address", sock().c_str(), "--log-level", "debug",
              nullptr);
      ::_exit(127);
    }
    for (int i = 0; i < 150; ++i) {
      if (::access(sock().c_str(), F_OK) == 0) {
        channel_ = grpc::CreateChannel("unix:" + sock(), grpc::InsecureChannelCredentials());
        // The socket file appears at bind(), a moment before listen(): a first call made then
        // is refused (seen on a loaded machine). Ready is when a connection is accepted.
        auto deadline = std::chrono::system_clock::now() + std::chrono::seconds(15);
        if (!channel_->WaitForConnected(deadline)) return false;
        containers_ = cpb::Containers::NewStub(channel_);
        tasks_ = tpb::Tasks::NewStub(channel_);
        events_ = epb::Events::NewStub(channel_);
        return true;
      }
      int status;
      if (::waitpid(pid_, &status, WNOHANG) == pid_) return false;
      ::usleep(100 * 1000);
    }
    return false;
  }

  void Stop(int sig) {
    if (pid_ <= 0) return;
    ::kill(pid_, sig);
    int status;
    ::waitpid(pid_, &status, 0);
    pid_ = -1;
  }

  std::unique_ptr<grpc::ClientContext> Ctx() {
    auto ctx = std::make_unique<grpc::ClientContext>();
    ctx->AddMetadata("containerd-namespace", kNs);
    ctx->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(60));
    return ctx;
  }

  std::string Log() { return fs::ReadFile(dir_ + "/daemon.log").value_or(""); }

  cpb::Containers::Stub& containers() { return *containers_; }
  tpb::Tasks::Stub& tasks() { return *tasks_; }
  epb::Events::Stub& events() { return *events_; }

 private:
  std::string dir_;
  pid_t pid_ = -1;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<cpb::Containers::Stub> containers_;
  std::unique_ptr<tpb::Tasks::Stub> tasks_;
  std::unique_ptr<epb::Events::Stub> events_;
};

// <dir>/rootfs with /bin/busybox (static) and <dir>/spec.json from `runc spec` running `args`.
inline std::string MakeSpec(const std::string& dir, const std::vector<std::string>& args) {
  std::string cmd = "cd " + dir + " && rm -f config.json && runc spec >/dev/null 2>&1";
  if (std::system(cmd.c_str()) != 0) return "";
  auto spec = nlohmann::json::parse(fs::ReadFile(dir + "/config.json").value_or("{}"));
  spec["process"]["args"] = args;
  spec["process"]["terminal"] = false;
  spec["root"]["path"] = "rootfs";
  spec["root"]["readonly"] = true;
  return spec.dump();
}

inline bool MakeRootfs(const std::string& dir) {
  std::string cmd = "mkdir -p " + dir + "/rootfs/bin " + dir + "/rootfs/proc " + dir +
                    "/rootfs/dev " + dir + "/rootfs/sys " + dir + "/rootfs/tmp && cp /bin/busybox " +
                    dir + "/rootfs/bin/busybox && ln -sf busybox " + dir + "/rootfs/bin/sh";
  return std::system(cmd.c_str()) == 0;
}

}  // namespace berth::itest
