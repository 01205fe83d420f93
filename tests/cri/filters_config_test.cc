#include "cri/config.h"
#include "cri/filters.h"
#include "gtest/gtest.h"

namespace berth::cri {
namespace {

namespace v1 = ::runtime::v1;

TEST(Filters, SandboxByIdPrefixStateAndLabels) {
  SandboxRecord r;
  r.id = "abcdef";
  r.state = v1::SANDBOX_READY;
  (*r.config.mutable_labels())["app"] = "web";
  v1::PodSandboxFilter f;
  EXPECT_TRUE(MatchSandbox(f, r));
  f.set_id("abc");
  EXPECT_TRUE(MatchSandbox(f, r));
  f.set_id("x");
  EXPECT_FALSE(MatchSandbox(f, r));
  f.clear_id();
  f.mutable_state()->set_state(v1::SANDBOX_NOTREADY);
  EXPECT_FALSE(MatchSandbox(f, r));
  f.clear_state();
  (*f.mutable_label_selector())["app"] = "web";
  EXPECT_TRUE(MatchSandbox(f, r));
  (*f.mutable_label_selector())["tier"] = "db";
  EXPECT_FALSE(MatchSandbox(f, r));
}

TEST(Filters, ContainerBySandbox) {
  ContainerRecord r;
  r.id = "c1";
  r.sandbox_id = "s1";
  r.state = v1::CONTAINER_RUNNING;
  v1::ContainerFilter f;
  f.set_pod_sandbox_id("s1");
  EXPECT_TRUE(MatchContainer(f, r));
  f.set_pod_sandbox_id("s2");
  EXPECT_FALSE(MatchContainer(f, r));
}

TEST(CriConfigToml, ContainerdSectionCarriesOver) {
  auto t = toml::parse(R"(
sandbox_image = "registry.k8s.io/pause:3.6"
max_container_log_line_size = 100
[containerd]
  snapshotter = "native"
  default_runtime_name = "runc"
  [containerd.runtimes.runc]
    runtime_type = "io.containerd.runc.v2"
    [containerd.runtimes.runc.options]
      SystemdCgroup = false
[cni]
  bin_dir = "/usr/lib/cni"
  conf_dir = "/tmp/net.d"
  max_conf_num = 1
[registry]
  config_path = "/etc/containerd/certs.d"
)");
  auto cfg = CriConfig::FromToml(&t);
  ASSERT_TRUE(cfg.ok()) << cfg.status();
  ASSERT_TRUE(cfg->Validate().ok());
  EXPECT_EQ(cfg->snapshotter, "native");
  EXPECT_EQ(*cfg->RuntimeFor(""), "io.containerd.runc.v2");
  EXPECT_EQ(*cfg->RuntimeFor("berth"), "io.containerd.berth.v2");
  EXPECT_EQ(cfg->runtimes["runc"].options["SystemdCgroup"], "false");
  EXPECT_EQ(cfg->cni_conf_dir, "/tmp/net.d");
  EXPECT_TRUE(absl::IsNotFound(cfg->RuntimeFor("kata").status()));
  auto round = CriConfig::FromToml(&*std::make_unique<toml::table>(cfg->ToToml()));
  ASSERT_TRUE(round.ok()) << round.status();
}

TEST(CriConfigToml, UnknownKeysAndBadValuesAreErrors) {
  auto t = toml::parse("bogus = 1\n");
  auto cfg = CriConfig::FromToml(&t);
  ASSERT_FALSE(cfg.ok());
  EXPECT_NE(cfg.status().message().find("bogus"), std::string::npos);
  auto u = toml::parse("[containerd]\ndefault_runtime_name = \"nope\"\n");
  auto c2 = CriConfig::FromToml(&u);
  ASSERT_TRUE(c2.ok());
  EXPECT_FALSE(c2->Validate().ok());
}

TEST(CriConfigToml, SandboxModePerHandler) {
  auto t = toml::parse(R"(
[containerd.runtimes.pause]
  runtime_type = "io.containerd.berth.v2"
  sandbox_mode = "podsandbox"
)");
  auto cfg = CriConfig::FromToml(&t);
  ASSERT_TRUE(cfg.ok()) << cfg.status();
  ASSERT_TRUE(cfg->Validate().ok());
  EXPECT_TRUE(cfg->UsesPauseContainer("pause").value());
  EXPECT_FALSE(cfg->UsesPauseContainer("").value());  // berth: pauseless by default
  EXPECT_TRUE(absl::IsNotFound(cfg->UsesPauseContainer("nope").status()));
  auto bad = toml::parse("[containerd.runtimes.x]\nruntime_type = \"a\"\nsandbox_mode = \"shim\"\n");
  auto c2 = CriConfig::FromToml(&bad);
  ASSERT_TRUE(c2.ok());
  absl::Status st = c2->Validate();
  EXPECT_TRUE(absl::IsInvalidArgument(st));
  EXPECT_NE(st.message().find("sandbox_mode"), std::string::npos) << st;
}

}  // namespace
}  // namespace berth::cri
