// The daemon starting our own shim's server without `start`: the serving command line, the
// socket on fd 3, a server that is not the daemon's child, group sharing.
#include "shim-v2/manager/own_shim.h"

#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "core/fs.h"
#include "gtest/gtest.h"
#include "shim-v2/socket/socket_address.h"
#include "tests/support/temp_dir.h"

namespace berth::runtime {
namespace {

class OwnShimTest : public ::testing::Test {
 protected:
  void SetUp() override {
    // A grpc address of our own: the socket's name is a hash of it, so runs never collide.
    cmd_ = ShimCommand{"", "ns1", "c1", dir_, dir_ + "/d.sock", dir_ + "/d.sock.ttrpc", "/p"};
  }
  void TearDown() override {
    if (auto pid = fs::ReadFile(dir_ + "/pid"); pid.ok()) ::kill(atoi(pid->c_str()), SIGKILL);
    ::unlink(shim::SocketPath(shim::SocketAddress(cmd_.grpc_address, "ns1", "c1")).c_str());
    ::unlink(shim::SocketPath(shim::SocketAddress(cmd_.grpc_address, "ns1", "pod")).c_str());
  }
  // A stand-in server: records what it got, then keeps fd 3 open for `seconds`.
  std::string FakeShim(int seconds) {
    std::string path = dir_ + "/containerd-shim-berth-v2";
    EXPECT_TRUE(fs::WriteFileAtomic(path,
                                    absl::StrCat("#!/bin/sh\n"
                                                 "echo $$ > pid\n"
                                                 "echo \"$@\" > args.tmp\n"
                                                 "pwd >> args.tmp\n"
                                                 "readlink /proc/self/fd/3 >> args.tmp\n"
                                                 "echo $PPID $NAMESPACE >> args.tmp\n"
                                                 "mv args.tmp args\n"
                                                 "exec sleep ",
                                                 seconds, "\n"),
                                    0755)
                    .ok());
    return path;
  }
  std::string WaitForArgs() {
    for (absl::Time end = absl::Now() + absl::Seconds(10); absl::Now() < end;) {
      if (auto args = fs::ReadFile(dir_ + "/args"); args.ok()) return *args;
      absl::SleepFor(absl::Milliseconds(5));
    }
    return "";
  }
  berth::test_support::TempDir tmp_{"own-shim-test"};
  const std::string dir_ = tmp_.path();
  ShimCommand cmd_;
};

TEST(OwnShimNameTest, OnlyOurShim) {
  EXPECT_TRUE(IsOwnShim("/usr/bin/containerd-shim-berth-v2"));
  EXPECT_TRUE(IsOwnShim("containerd-shim-berth-v2"));
  EXPECT_FALSE(IsOwnShim("/usr/bin/containerd-shim-runc-v2"));
  EXPECT_FALSE(IsOwnShim("/opt/not-containerd-shim-berth-v2"));
}

TEST(ShimGroupTest, SandboxIdAnnotationElseOwnId) {
  EXPECT_EQ(ShimGroup("c1", R"({"ociVersion":"1.0.2"})"), "c1");
  EXPECT_EQ(ShimGroup("c1", R"({"annotations":{"io.kubernetes.cri.sandbox-id":"pod"}})"), "pod");
  EXPECT_EQ(ShimGroup("c1", R"({"annotations":{"io.kubernetes.cri.sandbox-id":""}})"), "c1");
  EXPECT_EQ(ShimGroup("c1", R"({"annotations":{"io.kubernetes.cri.sandbox-id":7}})"), "c1");
  EXPECT_EQ(ShimGroup("c1", R"({"io.kubernetes.cri.sandbox-id": broken)"), "c1");
}

TEST_F(OwnShimTest, SpawnsTheServingCommandLineOnTheSocketDetached) {
  cmd_.binary = FakeShim(0);
  auto address = StartOwnShim(cmd_, "c1");
  ASSERT_TRUE(address.ok()) << address.status();
  EXPECT_EQ(*address, shim::SocketAddress(cmd_.grpc_address, "ns1", "c1"));
  std::vector<std::string> lines = absl::StrSplit(WaitForArgs(), '\n');
  ASSERT_GE(lines.size(), 4u);
  // The serving form: no action word (shim.h).
  EXPECT_EQ(lines[0],
            absl::StrCat("-namespace ns1 -address ", dir_, "/d.sock -publish-binary /p -id c1"));
  EXPECT_EQ(lines[1], dir_);
  EXPECT_TRUE(absl::StartsWith(lines[2], "socket:[")) << lines[2];
  std::vector<std::string> ppid_ns = absl::StrSplit(lines[3], ' ');
  ASSERT_EQ(ppid_ns.size(), 2u);
  EXPECT_NE(ppid_ns[0], absl::StrCat(::getpid())) << "the server must not be our child";
  EXPECT_EQ(ppid_ns[1], "ns1");
}

TEST_F(OwnShimTest, ARunningGroupShimIsSharedNotSpawned) {
  cmd_.binary = FakeShim(30);
  auto first = StartOwnShim(cmd_, "pod");
  ASSERT_TRUE(first.ok()) << first.status();
  ASSERT_FALSE(WaitForArgs().empty());
  ASSERT_TRUE(fs::RemoveAll(dir_ + "/args").ok());
  cmd_.id = "c2";
  auto second = StartOwnShim(cmd_, "pod");
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_EQ(*second, *first);
  absl::SleepFor(absl::Milliseconds(200));
  EXPECT_FALSE(fs::ReadFile(dir_ + "/args").ok()) << "a second server was spawned";
}

TEST_F(OwnShimTest, AMissingBinaryFailsAndFreesTheSocket) {
  cmd_.binary = dir_ + "/nosuch";
  EXPECT_FALSE(StartOwnShim(cmd_, "c1").ok());
  std::string path = shim::SocketPath(shim::SocketAddress(cmd_.grpc_address, "ns1", "c1"));
  EXPECT_NE(::access(path.c_str(), F_OK), 0);
}

}  // namespace
}  // namespace berth::runtime
