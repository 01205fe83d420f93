#include <stdlib.h>
#include <unistd.h>

#include "core/fs.h"
#include "cri/cni.h"
#include "gtest/gtest.h"

namespace berth::cri {
namespace {

TEST(CniConfig, ParsesConfAndConflist) {
  auto one = ParseCniConfig("a.conf", R"({"cniVersion":"0.4.0","name":"n","type":"bridge"})");
  ASSERT_TRUE(one.ok());
  EXPECT_EQ(one->plugins.size(), 1u);
  auto list = ParseCniConfig("b.conflist",
      R"({"cniVersion":"1.0.0","name":"l","plugins":[{"type":"bridge"},{"type":"portmap","capabilities":{"portMappings":true}}]})");
  ASSERT_TRUE(list.ok());
  EXPECT_EQ(list->plugins.size(), 2u);
  EXPECT_FALSE(ParseCniConfig("c", "{").ok());
  EXPECT_FALSE(ParseCniConfig("d", R"({"name":"x","plugins":[]})").ok());
  EXPECT_FALSE(ParseCniConfig("e", R"({"plugins":[{"type":"bridge"}]})").ok());
}

TEST(CniConfig, FirstValidFileWins) {
  char tmpl[] = "/tmp/cri-cni-XXXXXX";
  std::string dir = ::mkdtemp(tmpl);
  EXPECT_TRUE(absl::IsFailedPrecondition(LoadCniNetwork(dir).status()));
  ASSERT_TRUE(fs::WriteFileAtomic(dir + "/05-bad.conf", "nope").ok());
  ASSERT_TRUE(fs::WriteFileAtomic(dir + "/20-b.conflist", R"({"name":"b","plugins":[{"type":"x"}]})").ok());
  ASSERT_TRUE(fs::WriteFileAtomic(dir + "/10-a.conf", R"({"name":"a","type":"bridge"})").ok());
  ASSERT_TRUE(fs::WriteFileAtomic(dir + "/00-ignored.txt", R"({"name":"t","type":"bridge"})").ok());
  auto net = LoadCniNetwork(dir);
  ASSERT_TRUE(net.ok());
  EXPECT_EQ(net->name, "a");
  fs::RemoveAll(dir).IgnoreError();
}

TEST(CniConfig, PluginConfigCarriesNamePrevResultAndPortMappings) {
  auto net = ParseCniConfig("l", R"({"cniVersion":"1.0.0","name":"l","plugins":[{"type":"bridge"},{"type":"portmap","capabilities":{"portMappings":true}}]})");
  ASSERT_TRUE(net.ok());
  CniAttachment att{"id", "/ns", "eth0", {{8080, 80, "tcp", ""}}};
  auto first = CniPluginConfig(*net, 0, att, nullptr);
  EXPECT_EQ(first["name"], "l");
  EXPECT_EQ(first["cniVersion"], "1.0.0");
  EXPECT_FALSE(first.contains("prevResult"));
  EXPECT_FALSE(first.contains("runtimeConfig"));
  nlohmann::json prev = {{"ips", {{{"address", "10.1.0.5/24"}}}}};
  auto second = CniPluginConfig(*net, 1, att, prev);
  EXPECT_EQ(second["prevResult"], prev);
  EXPECT_EQ(second["runtimeConfig"]["portMappings"][0]["hostPort"], 8080);
}

TEST(CniConfig, ResultIpsV4First) {
  nlohmann::json r = {{"ips", {{{"address", "fd00::5/64"}}, {{"address", "10.1.0.5/24"}}}}};
  EXPECT_EQ(CniResultIps(r), (std::vector<std::string>{"10.1.0.5", "fd00::5"}));
  EXPECT_TRUE(CniResultIps(nlohmann::json::object()).empty());
}

TEST(CniConfig, CheckSkipsWhenDisabledOrTooOldAndRunsOtherwise) {
  // No plugin binary exists in the bin dir: a CHECK that runs fails with NotFound.
  const std::string bin = "/nonexistent-cni-bin";
  CniAttachment att{"c1", "/proc/self/ns/net", "eth0", {}};
  auto disabled = ParseCniConfig("a.conflist", R"({"cniVersion":"1.0.0","name":"n","disableCheck":true,
                                                   "plugins":[{"type":"bridge"}]})");
  ASSERT_TRUE(disabled.ok());
  EXPECT_TRUE(disabled->disable_check);
  EXPECT_TRUE(CniCheck(*disabled, bin, att, nlohmann::json::object()).ok());
  auto old = ParseCniConfig("b.conflist", R"({"cniVersion":"0.3.1","name":"n","plugins":[{"type":"bridge"}]})");
  ASSERT_TRUE(old.ok());
  EXPECT_TRUE(CniCheck(*old, bin, att, nlohmann::json::object()).ok());
  auto cur = ParseCniConfig("c.conflist", R"({"cniVersion":"1.0.0","name":"n","plugins":[{"type":"bridge"}]})");
  ASSERT_TRUE(cur.ok());
  EXPECT_FALSE(cur->disable_check);
  absl::Status st = CniCheck(*cur, bin, att, nlohmann::json::object());
  EXPECT_FALSE(st.ok());
  EXPECT_NE(st.message().find("bridge"), std::string::npos) << st;
}

}  // namespace
}  // namespace berth::cri
