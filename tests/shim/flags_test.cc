#include "gtest/gtest.h"
#include "shim-v2/socket/sha256.h"
#include "shim-v2/socket/socket_address.h"
#include "shim-v2/shim/shim.h"

namespace berth::shim {
namespace {

TEST(FlagsTest, ContainerdStartCommandLine) {
  auto f = ParseFlags({"-namespace", "default", "-address", "/run/containerd/containerd.sock",
                       "-publish-binary", "/usr/bin/containerd", "-id", "c1", "-debug", "start"});
  ASSERT_TRUE(f.ok()) << f.status();
  EXPECT_EQ(f->ns, "default");
  EXPECT_EQ(f->address, "/run/containerd/containerd.sock");
  EXPECT_EQ(f->publish_binary, "/usr/bin/containerd");
  EXPECT_EQ(f->id, "c1");
  EXPECT_TRUE(f->debug);
  EXPECT_EQ(f->action, "start");
}

TEST(FlagsTest, EqualsFormDoubleDashAndDelete) {
  auto f = ParseFlags({"--namespace=k8s.io", "-id=x", "-bundle", "/b", "delete"});
  ASSERT_TRUE(f.ok());
  EXPECT_EQ(f->ns, "k8s.io");
  EXPECT_EQ(f->id, "x");
  EXPECT_EQ(f->bundle, "/b");
  EXPECT_EQ(f->action, "delete");
  EXPECT_FALSE(f->debug);
}

TEST(FlagsTest, Errors) {
  EXPECT_EQ(ParseFlags({"-nope", "x"}).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ParseFlags({"-id"}).status().code(), absl::StatusCode::kInvalidArgument);
  auto f = ParseFlags({"-id", "a"});
  ASSERT_TRUE(f.ok());
  EXPECT_EQ(f->action, "");  // serve
}

TEST(Sha256Test, KnownVectors) {
  EXPECT_EQ(Sha256Hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(Sha256Hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  std::string long_input(1000, 'a');
  EXPECT_EQ(Sha256Hex(long_input),
            "41edece42d63e8d9bf515a9ba6932e1c20cbc9f5a5d134645adb5db1b9737ea3");
}

TEST(SocketAddressTest, MatchesContainerd) {
  // sha256("/run/containerd/containerd.sock/default/c1"), as containerd's SocketAddress.
  EXPECT_EQ(SocketAddress("/run/containerd/containerd.sock", "default", "c1"),
            "unix:///run/containerd/s/"
            "d25aa4ef11a84e954e74a5bcff06557d0b6ea8d0c00243896f29826694bbd888");
}

}  // namespace
}  // namespace berth::shim
