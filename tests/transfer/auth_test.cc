#include "plugins/transfer/auth.h"

#include "gtest/gtest.h"

namespace berth::transfer {
namespace {

TEST(Challenge, ParsesDockerHubBearer) {
  auto cs = ParseChallenges({R"(Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/busybox:pull")"});
  ASSERT_EQ(cs.size(), 1u);
  EXPECT_EQ(cs[0].scheme, "bearer");
  EXPECT_EQ(cs[0].params["realm"], "https://auth.docker.io/token");
  EXPECT_EQ(cs[0].params["service"], "registry.docker.io");
  EXPECT_EQ(cs[0].params["scope"], "repository:library/busybox:pull");
}

TEST(Challenge, SeveralChallengesQuotingAndCase) {
  auto cs = ParseChallenges({R"(Basic realm="Registry Realm", BEARER Realm="https://t/x?a=b", scope="a:b:pull,push", error="insufficient_scope")",
                             "Negotiate"});
  ASSERT_EQ(cs.size(), 3u);
  EXPECT_EQ(cs[0].scheme, "basic");
  EXPECT_EQ(cs[0].params["realm"], "Registry Realm");
  EXPECT_EQ(cs[1].scheme, "bearer");
  EXPECT_EQ(cs[1].params["realm"], "https://t/x?a=b");
  EXPECT_EQ(cs[1].params["scope"], "a:b:pull,push");
  EXPECT_EQ(cs[1].params["error"], "insufficient_scope");
  EXPECT_EQ(cs[2].scheme, "negotiate");
  EXPECT_TRUE(ParseChallenges({""}).empty());
  auto esc = ParseChallenges({R"(Bearer realm="a\"b")"});
  ASSERT_EQ(esc.size(), 1u);
  EXPECT_EQ(esc[0].params["realm"], "a\"b");
}

TEST(DockerConfig, FindsCredentialsByHost) {
  const char* cfg = R"({"auths": {
      "https://index.docker.io/v1/": {"auth": "dXNlcjpwYXNzOndpdGg6Y29sb25z"},
      "127.0.0.1:5000": {"username": "u", "password": "p"},
      "reg.example": {"identitytoken": "refresh"}}})";
  auto hub = CredentialsFromDockerConfig(cfg, "docker.io");
  ASSERT_TRUE(hub.ok()) << hub.status();
  EXPECT_EQ(hub->username, "user");
  EXPECT_EQ(hub->password, "pass:with:colons");
  auto local = CredentialsFromDockerConfig(cfg, "127.0.0.1:5000");
  EXPECT_EQ(local->username, "u");
  EXPECT_EQ(local->password, "p");
  EXPECT_EQ(CredentialsFromDockerConfig(cfg, "reg.example")->identity_token, "refresh");
  EXPECT_TRUE(CredentialsFromDockerConfig(cfg, "other.example")->empty());
  EXPECT_FALSE(CredentialsFromDockerConfig("{not json", "x").ok());
  EXPECT_FALSE(CredentialsFromDockerConfig(R"({"auths":{"x":{"auth":"!!"}}})", "x").ok());
  EXPECT_TRUE(CredentialsFromDockerConfig("{}", "x")->empty());
}

TEST(Token, FromResponseAndBasicHeader) {
  EXPECT_EQ(*TokenFromResponse(R"({"token":"abc"})"), "abc");
  EXPECT_EQ(*TokenFromResponse(R"({"access_token":"xyz","expires_in":300})"), "xyz");
  EXPECT_FALSE(TokenFromResponse(R"({"nothing":1})").ok());
  EXPECT_FALSE(TokenFromResponse("[").ok());
  EXPECT_EQ(BasicAuthorization("u", "p"), "Basic dTpw");
  EXPECT_EQ(PullScope("library/busybox"), "repository:library/busybox:pull");
}

}  // namespace
}  // namespace berth::transfer
