// Client <-> server over socketpairs and a real unix socket.
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <thread>

#include "absl/synchronization/notification.h"
#include "gtest/gtest.h"
#include "shim-v2/ttrpc/client.h"
#include "shim-v2/ttrpc/frame.h"
#include "shim-v2/ttrpc/server.h"
#include "ttrpc/ttrpc.pb.h"

namespace berth::ttrpc {
namespace {

class RpcTest : public ::testing::Test {
 protected:
  void SetUp() override {
    server_ = std::make_unique<Server>();
    server_->Register("svc", "Echo", [](const CallContext& ctx, const std::string& in)
                                         -> absl::StatusOr<std::string> {
      return ctx.Namespace() + ":" + in;
    });
    server_->Register("svc", "Fail", [](const CallContext&, const std::string&)
                                         -> absl::StatusOr<std::string> {
      return absl::NotFoundError("no such thing");
    });
    server_->Register("svc", "Block", [this](const CallContext& ctx, const std::string&)
                                          -> absl::StatusOr<std::string> {
      block_started_.Notify();
      // Like Task.Wait: blocks until released or the caller's deadline passes.
      if (!release_.WaitForNotificationWithDeadline(ctx.deadline)) {
        return absl::DeadlineExceededError("deadline");
      }
      return std::string("released");
    });
    server_->Register("svc", "Deadline", [](const CallContext& ctx, const std::string&)
                                             -> absl::StatusOr<std::string> {
      return std::string(ctx.deadline == absl::InfiniteFuture() ? "none" : "set");
    });
  }
  void TearDown() override {
    if (!release_.HasBeenNotified()) release_.Notify();
    client_.reset();
    server_.reset();
  }
  void Connect() {
    int fds[2];
    ASSERT_EQ(0, socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds));
    ASSERT_TRUE(server_->ServeConnection(fds[0]).ok());
    client_ = std::make_unique<Client>(fds[1]);
  }
  // A raw peer for malformed input: returns the client end.
  int RawConnect() {
    int fds[2];
    EXPECT_EQ(0, socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds));
    EXPECT_TRUE(server_->ServeConnection(fds[0]).ok());
    return fds[1];
  }

  std::unique_ptr<Server> server_;
  std::unique_ptr<Client> client_;
  absl::Notification block_started_, release_;
};

TEST_F(RpcTest, UnaryRoundTripWithMetadata) {
  Connect();
  auto r = client_->Call("svc", "Echo", "ping", {{kNamespaceKey, "default"}});
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(*r, "default:ping");
}

TEST_F(RpcTest, ErrorsCarryCodes) {
  Connect();
  auto r = client_->Call("svc", "Fail", "");
  EXPECT_EQ(r.status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(r.status().message(), "no such thing");
  r = client_->Call("svc", "Nope", "");
  EXPECT_EQ(r.status().code(), absl::StatusCode::kUnimplemented);
}

TEST_F(RpcTest, BlockingCallDoesNotBlockOthers) {
  Connect();
  std::atomic<bool> done{false};
  absl::StatusOr<std::string> blocked;
  std::thread t([&] {
    blocked = client_->Call("svc", "Block", "");
    done = true;
  });
  block_started_.WaitForNotification();
  for (int i = 0; i < 20; ++i) {
    auto r = client_->Call("svc", "Echo", std::to_string(i));
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(*r, ":" + std::to_string(i));
  }
  EXPECT_FALSE(done.load());
  release_.Notify();
  t.join();
  ASSERT_TRUE(blocked.ok());
  EXPECT_EQ(*blocked, "released");
}

TEST_F(RpcTest, ConcurrentCallsFromManyThreads) {
  Connect();
  std::vector<std::thread> threads;
  std::atomic<int> ok{0};
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 25; ++i) {
        std::string in = std::to_string(t * 100 + i);
        auto r = client_->Call("svc", "Echo", in);
        if (r.ok() && *r == ":" + in) ok++;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(ok.load(), 200);
}

TEST_F(RpcTest, DeadlineTravelsAndIsEnforced) {
  Connect();
  auto r = client_->Call("svc", "Deadline", "", {}, absl::Seconds(5));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, "set");
  r = client_->Call("svc", "Deadline", "");
  EXPECT_EQ(*r, "none");
  absl::Time start = absl::Now();
  r = client_->Call("svc", "Block", "", {}, absl::Milliseconds(100));
  EXPECT_EQ(r.status().code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_LT(absl::Now() - start, absl::Seconds(3));
  // The connection stays usable.
  EXPECT_TRUE(client_->Call("svc", "Echo", "x").ok());
}

TEST_F(RpcTest, OversizedFrameClosesOnlyThatConnection) {
  Connect();
  int raw = RawConnect();
  uint8_t hdr[kHeaderSize];
  EncodeHeader({kMaxPayload + 1, 1, 1, 0}, hdr);
  ASSERT_EQ(write(raw, hdr, kHeaderSize), static_cast<ssize_t>(kHeaderSize));
  char c;
  EXPECT_EQ(read(raw, &c, 1), 0);  // server closed it
  close(raw);
  EXPECT_TRUE(client_->Call("svc", "Echo", "still").ok());
}

TEST_F(RpcTest, GarbageRequestAndEvenStreamGetInvalidArgument) {
  int raw = RawConnect();
  ASSERT_TRUE(WriteFrame(raw, 1, FrameType::kRequest, "\xff\xff\xff").ok());
  ::ttrpc::Request req;
  req.set_service("svc");
  req.set_method("Echo");
  ASSERT_TRUE(WriteFrame(raw, 2, FrameType::kRequest, req.SerializeAsString()).ok());
  for (int i = 0; i < 2; ++i) {
    FrameHeader h;
    std::string p;
    ASSERT_TRUE(ReadFrame(raw, &h, &p).ok());
    EXPECT_EQ(h.type, 2);
    ::ttrpc::Response resp;
    ASSERT_TRUE(resp.ParseFromString(p));
    EXPECT_EQ(resp.status().code(), 3) << h.stream_id;  // INVALID_ARGUMENT
  }
  close(raw);
}

TEST_F(RpcTest, ServerOverUnixSocketAndShutdown) {
  std::string path = ::testing::TempDir() + "/ttrpc-test-" + std::to_string(getpid()) + ".sock";
  unlink(path.c_str());
  int lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_un sa{};
  sa.sun_family = AF_UNIX;
  strncpy(sa.sun_path, path.c_str(), sizeof(sa.sun_path) - 1);
  ASSERT_EQ(0, bind(lfd, reinterpret_cast<sockaddr*>(&sa), sizeof(sa)));
  ASSERT_EQ(0, listen(lfd, 8));
  std::thread serve([&] { EXPECT_TRUE(server_->Serve(lfd).ok()); });
  auto c = Client::Dial("unix://" + path);
  ASSERT_TRUE(c.ok()) << c.status();
  auto r = (*c)->Call("svc", "Echo", "sock", {{kNamespaceKey, "k8s.io"}});
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(*r, "k8s.io:sock");
  server_->Shutdown();
  serve.join();
  EXPECT_EQ((*c)->Call("svc", "Echo", "x").status().code(), absl::StatusCode::kUnavailable);
  unlink(path.c_str());
  EXPECT_EQ(Client::Dial("unix://" + path).status().code(), absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace berth::ttrpc
