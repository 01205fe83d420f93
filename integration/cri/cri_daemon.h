// Test-only: a real berthd for the CRI integration suites (integration/cri, integration/
// cri_streaming). Forked with its root, state, socket (d.sock) and config.toml under `dir`,
// its output in <dir>/daemon.log; BERTH_TEST_BERTHD runs another build of the daemon (its shim
// must sit beside it). Needs BERTHD_CRI_BIN defined by the test target, which links berth::mount.
#pragma once

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "core/mount/mountinfo.h"
#include "grpcpp/grpcpp.h"
#include "proto/cri_api.h"
#include "tests/support/temp_dir.h"

namespace berth::cri_test {

inline bool HaveCni() {
  return ::access("/usr/lib/cni/bridge", X_OK) == 0 && ::access("/usr/lib/cni/host-local", X_OK) == 0;
}

// A context that gives up after a minute, so a hung daemon fails the test instead of blocking.
inline std::unique_ptr<grpc::ClientContext> Ctx() {
  auto c = std::make_unique<grpc::ClientContext>();
  c->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(60));
  return c;
}

class Daemon {
 public:
  explicit Daemon(std::string dir) : dir_(std::move(dir)) {}
  ~Daemon() { Stop(); }

  std::string sock() const { return dir_ + "/d.sock"; }

  // Forks berthd and waits (20 s at most) until its socket accepts connections.
  bool Start() {
    pid_ = ::fork();
    if (pid_ == 0) {
      std::string log = dir_ + "/daemon.log";
      FILE* f = std::freopen(log.c_str(), "a", stdout);
      (void)f;
      ::dup2(1, 2);
      ::setsid();
      const char* bin = std::getenv("BERTH_TEST_BERTHD") ? std::getenv("BERTH_TEST_BERTHD")
                                                         : BERTHD_CRI_BIN;
      ::execl(bin, bin, "--root", (dir_ + "/root").c_str(), "--state", (dir_ + "/state").c_str(),
              "-a", sock().c_str(), "-c", (dir_ + "/config.toml").c_str(), "-l", "debug", nullptr);
      ::_exit(127);
    }
    for (int i = 0; i < 200; ++i) {
      if (::access(sock().c_str(), F_OK) == 0) {
        auto ch = grpc::CreateChannel("unix:" + sock(), grpc::InsecureChannelCredentials());
        // The socket file appears at bind(), a moment before listen(): a first call made then
        // is refused (seen on a loaded machine). Ready is when a connection is accepted.
        if (!ch->WaitForConnected(std::chrono::system_clock::now() + std::chrono::seconds(15))) {
          return false;
        }
        rt_ = ::runtime::v1::RuntimeService::NewStub(ch);
        img_ = ::runtime::v1::ImageService::NewStub(ch);
        return true;
      }
      ::usleep(100 * 1000);
    }
    return false;
  }

  // SIGTERM, then SIGKILL after `grace`; false when the daemon needed the SIGKILL.
  bool Stop(absl::Duration grace = absl::Seconds(30)) {
    bool clean = true;
    if (pid_ > 0) {
      ::kill(pid_, SIGTERM);
      int st;
      absl::Time deadline = absl::Now() + grace;
      while (::waitpid(pid_, &st, WNOHANG) == 0) {
        if (absl::Now() > deadline) {
          clean = false;
          ::kill(pid_, SIGKILL);
          ::waitpid(pid_, &st, 0);
          break;
        }
        ::usleep(50 * 1000);
      }
      pid_ = -1;
    }
    ::unlink(sock().c_str());
    return clean;
  }

  // Pods a failed test left behind: their pinned namespaces and CNI attachments go too.
  void RemoveAllPods() {
    ::runtime::v1::ListPodSandboxResponse lp;
    if (!rt_ || !rt_->ListPodSandbox(Ctx().get(), {}, &lp).ok()) return;
    for (const auto& p : lp.items()) {
      ::runtime::v1::RemovePodSandboxRequest req;
      req.set_pod_sandbox_id(p.id());
      ::runtime::v1::RemovePodSandboxResponse resp;
      (void)rt_->RemovePodSandbox(Ctx().get(), req, &resp);
    }
  }

  ::runtime::v1::RuntimeService::Stub& rt() { return *rt_; }
  ::runtime::v1::ImageService::Stub& img() { return *img_; }

 private:
  const std::string dir_;
  pid_t pid_ = -1;
  std::unique_ptr<::runtime::v1::RuntimeService::Stub> rt_;
  std::unique_ptr<::runtime::v1::ImageService::Stub> img_;
};

// Ends a suite (TearDownTestSuite) in the order its pieces depend on: the pods a failed test
// left, the daemon, then the suite's directory. What is still mounted below the directory by
// then (a daemon killed mid-way leaves its pods' nsfs binds,
// state/io.containerd.grpc.v1.cri/sandboxes/<id>/{ipc,uts,net}) is unmounted deepest first, so
// that removing the directory takes everything. Either may be null; both are null afterwards.
inline void EndSuite(Daemon*& daemon, std::unique_ptr<test_support::TempDir>& dir) {
  if (daemon != nullptr) {
    daemon->RemoveAllPods();
    daemon->Stop();
    delete daemon;
    daemon = nullptr;
  }
  if (dir == nullptr) return;
  // Detached (lazily): a shim orphaned by a killed daemon can still hold a namespace file open,
  // which makes a plain umount EBUSY for as long as it lives; the holder keeps its reference.
  absl::Status st = mount::UnmountRecursive(dir->path(), {.detach = true});
  if (!st.ok()) {
    std::fprintf(stderr, "unmount under %s: %s\n", dir->path().c_str(), st.ToString().c_str());
  }
  dir.reset();
}

}  // namespace berth::cri_test
