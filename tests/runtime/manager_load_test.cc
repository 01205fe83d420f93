// TaskManager::LoadExisting after a daemon restart, against a fake shim (a ttrpc server in this
// process): a shim that answers Connect late is re-attached, not cleaned up - cleaning up runs
// `shim delete`, which kills the container - and one that never answers is cleaned up.
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <thread>

#include "absl/synchronization/notification.h"
#include "containerd/runtime/v2/task/shim.pb.h"
#include "core/fs.h"
#include "gtest/gtest.h"
#include "shim-v2/manager/manager.h"
#include "shim-v2/ttrpc/server.h"

namespace berth::runtime {
namespace {

namespace v2 = ::containerd::task::v2;

constexpr absl::Duration kLoadTimeout = absl::Milliseconds(100);

class LoadExistingTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/berth-load-test.XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    bundle_ = dir_ + "/state/ns1/t1";
    ASSERT_TRUE(fs::MkdirAll(bundle_, 0700).ok());
    ASSERT_TRUE(fs::MkdirAll(dir_ + "/root/ns1/t1").ok());
    socket_ = dir_ + "/shim.sock";
    ASSERT_TRUE(fs::WriteFileAtomic(bundle_ + "/address", "unix://" + socket_).ok());
    // The shim binary only ever runs as `... delete` (the cleanup of a dead shim): it records
    // that and fails, which the manager logs and carries on from.
    std::string shim = dir_ + "/shim";
    ASSERT_TRUE(
        fs::WriteFileAtomic(shim, "#!/bin/sh\necho \"$@\" >>" + dir_ + "/deletes\nexit 1\n", 0755)
            .ok());
    ASSERT_TRUE(fs::WriteFileAtomic(bundle_ + "/shim-binary-path", shim).ok());
  }

  void TearDown() override {
    release_.Notify();
    server_.Shutdown();
    if (serving_.joinable()) serving_.join();
    ASSERT_TRUE(fs::RemoveAll(dir_).ok());
  }

  // Serves Connect and State; the first `slow` Connect calls answer only once the test ends.
  void StartShim(int slow) {
    server_.Register(
        "containerd.task.v2.Task", "Connect",
        [this, slow](const ttrpc::CallContext&, const std::string&) -> absl::StatusOr<std::string> {
          if (connects_++ < slow) release_.WaitForNotification();
          v2::ConnectResponse resp;
          resp.set_shim_pid(static_cast<uint32_t>(::getpid()));
          return resp.SerializeAsString();
        });
    server_.Register(
        "containerd.task.v2.Task", "State",
        [](const ttrpc::CallContext&, const std::string&) -> absl::StatusOr<std::string> {
          return v2::StateResponse().SerializeAsString();
        });
    int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    ASSERT_GE(fd, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    ASSERT_LT(socket_.size(), sizeof(addr.sun_path));
    socket_.copy(addr.sun_path, socket_.size());
    ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
    ASSERT_EQ(::listen(fd, 8), 0);
    serving_ = std::thread([this, fd] { (void)server_.Serve(fd); });
  }

  ManagerOptions Options() const {
    ManagerOptions o;
    o.state = dir_ + "/state";
    o.root = dir_ + "/root";
    o.load_timeout = kLoadTimeout;
    return o;
  }

  bool DeleteRan() const { return ::access((dir_ + "/deletes").c_str(), F_OK) == 0; }

  std::string dir_, bundle_, socket_;
  ttrpc::Server server_;
  std::thread serving_;
  absl::Notification release_;
  std::atomic<int> connects_{0};
};

TEST_F(LoadExistingTest, ShimThatAnswersLateIsReattached) {
  StartShim(/*slow=*/1);
  TaskManager manager(Options(), nullptr);
  manager.LoadExisting();
  auto shim = manager.Get("ns1", "t1");
  ASSERT_TRUE(shim.ok()) << shim.status();
  EXPECT_EQ(connects_.load(), 2);
  EXPECT_FALSE(DeleteRan()) << "a live shim was cleaned up (its container killed)";
  EXPECT_EQ(::access((bundle_ + "/address").c_str(), F_OK), 0);
}

TEST_F(LoadExistingTest, ShimThatNeverAnswersIsCleanedUpAfterThreeTries) {
  StartShim(/*slow=*/1000);
  TaskManager manager(Options(), nullptr);
  manager.LoadExisting();
  EXPECT_EQ(manager.Get("ns1", "t1").status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(connects_.load(), 3);
  EXPECT_TRUE(DeleteRan());
  EXPECT_NE(::access(bundle_.c_str(), F_OK), 0) << "the dead shim's bundle is left";
}

TEST_F(LoadExistingTest, ShimThatIsGoneIsCleanedUpAtOnce) {
  // Nobody listens on the address: no retries, straight to cleanup.
  TaskManager manager(Options(), nullptr);
  manager.LoadExisting();
  EXPECT_EQ(manager.Get("ns1", "t1").status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(connects_.load(), 0);
  EXPECT_TRUE(DeleteRan());
}

}  // namespace
}  // namespace berth::runtime
