#include "core/config.h"

#include "gtest/gtest.h"

namespace berth {
namespace {

TEST(DaemonConfig, DefaultsWhenEmpty) {
  auto cfg = DaemonConfig::Parse("", "test");
  ASSERT_TRUE(cfg.ok()) << cfg.status();
  EXPECT_EQ(cfg->root, "/var/lib/berth");
  EXPECT_EQ(cfg->grpc.address, "/run/berth/berth.sock");
}

TEST(DaemonConfig, ReadsKeysAndPluginSections) {
  auto cfg = DaemonConfig::Parse(R"(
version = 2
root = "/r"
[grpc]
address = "/s.sock"
[debug]
level = "debug"
[plugins."io.containerd.snapshotter.v1.overlayfs"]
root_path = "/x"
)",
                                 "test");
  ASSERT_TRUE(cfg.ok()) << cfg.status();
  EXPECT_EQ(cfg->root, "/r");
  EXPECT_EQ(cfg->grpc.address, "/s.sock");
  EXPECT_EQ(cfg->debug.level, "debug");
  ASSERT_EQ(cfg->plugins.count("io.containerd.snapshotter.v1.overlayfs"), 1u);
}

TEST(DaemonConfig, UnknownKeyIsNamed) {
  auto cfg = DaemonConfig::Parse("roott = \"/x\"\n", "test");
  ASSERT_EQ(cfg.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(cfg.status().message().find("roott"), absl::string_view::npos);
  auto nested = DaemonConfig::Parse("[grpc]\nadress = \"/x\"\n", "test");
  EXPECT_NE(nested.status().message().find("adress"), absl::string_view::npos);
}

TEST(DaemonConfig, SyntaxErrorAndWrongTypes) {
  EXPECT_EQ(DaemonConfig::Parse("root = ", "t").status().code(),
            absl::StatusCode::kInvalidArgument);
  auto typed = DaemonConfig::Parse("root = 3\n", "t");
  ASSERT_EQ(typed.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(typed.status().message().find("root"), absl::string_view::npos);
  EXPECT_FALSE(DaemonConfig::Parse("version = 9\n", "t").ok());
}

TEST(DaemonConfig, RoundTripsThroughToToml) {
  DaemonConfig def;
  std::ostringstream out;
  out << def.ToToml();
  auto again = DaemonConfig::Parse(out.str(), "roundtrip");
  ASSERT_TRUE(again.ok()) << again.status() << "\n" << out.str();
  EXPECT_EQ(again->state, def.state);
}

}  // namespace
}  // namespace berth
