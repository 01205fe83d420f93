#include "plugins/transfer/hosts.h"

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "gtest/gtest.h"

namespace berth::transfer {
namespace {

TEST(Hosts, DefaultsWithoutConfig) {
  auto hosts = ConfigureHosts("docker.io", {});
  ASSERT_TRUE(hosts.ok());
  ASSERT_EQ(hosts->size(), 1u);
  EXPECT_EQ((*hosts)[0].BaseUrl(), "https://registry-1.docker.io/v2");
  auto plain = ConfigureHosts("127.0.0.1:5000", {.plain_http = true});
  EXPECT_EQ((*plain)[0].BaseUrl(), "http://127.0.0.1:5000/v2");
}

TEST(Hosts, MirrorsInFileOrderThenServer) {
  const char* toml = R"(
server = "https://upstream.example"
ca = "/etc/ca.pem"

[host."http://zz-mirror:5001"]
  capabilities = ["pull", "resolve"]
  skip_verify = true
  [host."http://zz-mirror:5001".header]
    x-test = "1"

[host."https://aa-mirror/custom"]
  capabilities = ["pull"]
  ca = ["/a.pem", "/b.pem"]
  override_path = true
)";
  auto hosts = ParseHostsToml(toml, "docker.io", {});
  ASSERT_TRUE(hosts.ok()) << hosts.status();
  ASSERT_EQ(hosts->size(), 3u);
  const auto& m1 = (*hosts)[0];
  EXPECT_EQ(m1.BaseUrl(), "http://zz-mirror:5001/v2");
  EXPECT_EQ(m1.capabilities, kCapPull | kCapResolve);
  EXPECT_TRUE(m1.skip_verify);
  EXPECT_EQ(m1.headers.at("x-test"), "1");
  const auto& m2 = (*hosts)[1];
  EXPECT_EQ(m2.BaseUrl(), "https://aa-mirror/custom");
  EXPECT_EQ(m2.capabilities, kCapPull);
  EXPECT_EQ(m2.ca_files, (std::vector<std::string>{"/a.pem", "/b.pem"}));
  const auto& server = (*hosts)[2];
  EXPECT_EQ(server.BaseUrl(), "https://upstream.example/v2");
  EXPECT_EQ(server.ca_files, std::vector<std::string>{"/etc/ca.pem"});
  EXPECT_EQ(server.capabilities, kCapPull | kCapResolve | kCapPush);
}

TEST(Hosts, BadFilesAreInvalidArgument) {
  EXPECT_EQ(ParseHostsToml("server = ", "h", {}).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ParseHostsToml("[host.\"ftp://x\"]\n", "h", {}).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ParseHostsToml("[host.\"http://x\"]\ncapabilities=[\"fly\"]\n", "h", {}).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(Hosts, ReadsHostDirectoryAndDefault) {
  std::filesystem::path dir = std::filesystem::temp_directory_path() /
                              ("berth-hosts-" + std::to_string(getpid()));
  std::filesystem::create_directories(dir / "127.0.0.1:5000");
  std::filesystem::create_directories(dir / "_default");
  std::ofstream(dir / "127.0.0.1:5000" / "hosts.toml") << "server = \"http://127.0.0.1:5000\"\n";
  std::ofstream(dir / "_default" / "hosts.toml") << "[host.\"http://mirror:1\"]\nca = \"ca.pem\"\n";
  auto specific = ConfigureHosts("127.0.0.1:5000", {.hosts_dir = dir.string()});
  ASSERT_TRUE(specific.ok()) << specific.status();
  ASSERT_EQ(specific->size(), 1u);
  EXPECT_EQ((*specific)[0].BaseUrl(), "http://127.0.0.1:5000/v2");
  auto fallback = ConfigureHosts("other:1", {.hosts_dir = dir.string()});
  ASSERT_TRUE(fallback.ok());
  ASSERT_EQ(fallback->size(), 2u);
  EXPECT_EQ((*fallback)[0].BaseUrl(), "http://mirror:1/v2");
  EXPECT_EQ((*fallback)[0].ca_files,
            std::vector<std::string>{(dir / "_default" / "ca.pem").string()});  // relative to the file
  EXPECT_EQ((*fallback)[1].BaseUrl(), "https://other:1/v2");
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace berth::transfer
