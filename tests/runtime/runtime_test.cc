// The runtime manager's pieces that need no shim: binary names and lookup, the exact shim
// command line (checked with a recording script), bundles and recorded exits.
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/fs.h"
#include "gtest/gtest.h"
#include "shim-v2/manager/binary.h"
#include "shim-v2/manager/bundle.h"
#include "shim-v2/manager/daemon_address.h"
#include "tests/support/topdir_flag.h"

namespace berth::runtime {
namespace {

class RuntimeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/berth-runtime-test.XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { ASSERT_TRUE(fs::RemoveAll(dir_).ok()); }
  std::string WriteScript(const std::string& name, const std::string& body) {
    std::string path = dir_ + "/" + name;
    EXPECT_TRUE(fs::WriteFileAtomic(path, "#!/bin/sh\n" + body, 0755).ok());
    return path;
  }
  std::string dir_;
};

TEST(ShimBinaryNameTest, ContainerdConvention) {
  EXPECT_EQ(ShimBinaryName("io.containerd.runc.v2"), "containerd-shim-runc-v2");
  EXPECT_EQ(ShimBinaryName("io.containerd.berth.v2"), "containerd-shim-berth-v2");
  EXPECT_EQ(ShimBinaryName("runc"), "");
  EXPECT_EQ(ShimBinaryName("io.containerd.runc."), "");
}

TEST_F(RuntimeTest, ResolveLooksNextToTheDaemonFirstThenPath) {
  std::string self = dir_ + "/self";
  ASSERT_TRUE(fs::MkdirAll(self).ok());
  EXPECT_EQ(ResolveShimBinary("io.containerd.nosuch.v9", self).status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(ResolveShimBinary("relative/path", self).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ResolveShimBinary("nodots", self).status().code(), absl::StatusCode::kInvalidArgument);
  std::string bin = WriteScript("self/containerd-shim-fake-v2", "exit 0\n");
  auto got = ResolveShimBinary("io.containerd.fake.v2", self);
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(*got, bin);
  // An absolute path is taken as is.
  EXPECT_EQ(ResolveShimBinary(bin, "").value(), bin);
  // On PATH (sh exists everywhere): "io.x.sh.v" does not, but an absolute /bin/sh does.
  EXPECT_EQ(ResolveShimBinary("/bin/sh", "").value(), "/bin/sh");
}

TEST_F(RuntimeTest, StartCommandLineEnvCwdAndStdinAreContainerds) {
  std::string bin = WriteScript(
      "shim", "echo \"$@\" > args\npwd > cwd\nenv > env\ncat > stdin\necho '  unix:///x/y  '\n");
  std::string bundle = dir_ + "/bundle";
  ASSERT_TRUE(fs::MkdirAll(bundle).ok());
  ShimCommand cmd{bin, "ns1", "c1", bundle, "/run/b.sock", "/run/b.sock.ttrpc", "/usr/bin/berthd"};
  auto address = RunShimStart(cmd, std::string("opts\0bytes", 10));
  ASSERT_TRUE(address.ok()) << address.status();
  EXPECT_EQ(*address, "unix:///x/y");
  EXPECT_EQ(fs::ReadFile(bundle + "/args").value(),
            "-namespace ns1 -address /run/b.sock -publish-binary /usr/bin/berthd -id c1 start\n");
  EXPECT_EQ(fs::ReadFile(bundle + "/cwd").value(), bundle + "\n");
  std::string env = fs::ReadFile(bundle + "/env").value();
  EXPECT_NE(env.find("TTRPC_ADDRESS=/run/b.sock.ttrpc\n"), std::string::npos) << env;
  EXPECT_NE(env.find("GRPC_ADDRESS=/run/b.sock\n"), std::string::npos);
  EXPECT_NE(env.find("NAMESPACE=ns1\n"), std::string::npos);
  EXPECT_EQ(fs::ReadFile(bundle + "/stdin").value(), std::string("opts\0bytes", 10));
}

TEST_F(RuntimeTest, StartFailureCarriesTheShimsOutputAndTimeoutKills) {
  std::string bundle = dir_;
  ShimCommand cmd{WriteScript("bad", "echo boom >&2\nexit 3\n"), "ns", "c", bundle, "a", "t", "p"};
  auto st = RunShimStart(cmd, "");
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.status().message().find("boom"), std::string::npos) << st.status();
  cmd.binary = WriteScript("slow", "sleep 30\n");
  absl::Time t0 = absl::Now();
  EXPECT_EQ(RunShimStart(cmd, "", absl::Milliseconds(300)).status().code(),
            absl::StatusCode::kDeadlineExceeded);
  EXPECT_LT(absl::Now() - t0, absl::Seconds(10));
}

TEST_F(RuntimeTest, DeleteCommandDecodesTheResponse) {
  ::containerd::task::v2::DeleteResponse want;
  want.set_pid(42);
  want.set_exit_status(137);
  ASSERT_TRUE(fs::WriteFileAtomic(dir_ + "/resp", want.SerializeAsString()).ok());
  std::string bin = WriteScript("del", "echo \"$@\" > " + dir_ + "/dargs\ncat " + dir_ + "/resp\n");
  ShimCommand cmd{bin, "ns", "c", dir_, "/a.sock", "/a.sock.ttrpc", "/p"};
  auto resp = RunShimDelete(cmd);
  ASSERT_TRUE(resp.ok()) << resp.status();
  EXPECT_EQ(resp->pid(), 42u);
  EXPECT_EQ(resp->exit_status(), 137u);
  EXPECT_EQ(fs::ReadFile(dir_ + "/dargs").value(),
            "-namespace ns -address /a.sock -publish-binary /p -id c -bundle " + dir_ + " delete\n");
}

TEST_F(RuntimeTest, BundleLayoutExitRecordAndDelete) {
  std::string state = dir_ + "/state", root = dir_ + "/root";
  auto b = Bundle::Create(state, root, "ns", "c1", "{\"ociVersion\":\"1.0.2\"}");
  ASSERT_TRUE(b.ok()) << b.status();
  EXPECT_EQ(b->path, state + "/ns/c1");
  EXPECT_EQ(fs::ReadFile(b->path + "/config.json").value(), "{\"ociVersion\":\"1.0.2\"}");
  struct stat st;
  ASSERT_EQ(::stat((b->path + "/rootfs").c_str(), &st), 0);
  EXPECT_TRUE(S_ISDIR(st.st_mode));
  ASSERT_EQ(::stat((b->path + "/work").c_str(), &st), 0);  // follows the link to the work dir
  EXPECT_EQ(Bundle::Create(state, root, "ns", "c1", "{}").status().code(),
            absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(Bundle::Create(state, root, "ns", "../x", "{}").status().code(),
            absl::StatusCode::kInvalidArgument);

  EXPECT_FALSE(b->ReadExit().has_value());
  Exit e{7, 137, absl::FromUnixSeconds(1700000000) + absl::Nanoseconds(5)};
  ASSERT_TRUE(b->WriteExit(e).ok());
  auto got = Bundle::At(state, root, "ns", "c1").ReadExit();
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(got->pid, 7u);
  EXPECT_EQ(got->status, 137u);
  EXPECT_EQ(got->exited_at, e.exited_at);

  ASSERT_TRUE(b->Delete().ok());
  EXPECT_NE(::access(b->path.c_str(), F_OK), 0);
  EXPECT_NE(::access(b->work_dir.c_str(), F_OK), 0);
}

// Bundles and work dirs are created and removed per container: each goes to an ext4 group of
// its own (core/fs.h SpreadSubdirectories), not beside the ones just removed.
TEST_F(RuntimeTest, BundlesAreSpreadOverExt4Groups) {
  if (!test_support::HasTopdirFlag(dir_).has_value()) GTEST_SKIP() << dir_ << " is not on ext4";
  std::string state = dir_ + "/state", root = dir_ + "/root";
  ASSERT_TRUE(Bundle::Create(state, root, "ns", "c1", "{}").ok());
  EXPECT_EQ(test_support::HasTopdirFlag(state + "/ns"), true);
  EXPECT_EQ(test_support::HasTopdirFlag(root + "/ns"), true);
}

TEST(DaemonAddressTest, SetAddressWinsAndTtrpcIsNextToIt) {
  SetDaemonGrpcAddress("/tmp/x/berth.sock");
  EXPECT_EQ(DaemonGrpcAddress("/var/lib/berth"), "/tmp/x/berth.sock");
  EXPECT_EQ(TtrpcAddressFor("/tmp/x/berth.sock"), "/tmp/x/berth.sock.ttrpc");
}

}  // namespace
}  // namespace berth::runtime
