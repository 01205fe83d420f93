#include "plugins/transfer/reference.h"

#include "gtest/gtest.h"
#include "plugins/transfer/http.h"
#include "plugins/transfer/platform.h"

namespace berth::transfer {
namespace {

TEST(Reference, ShortNamesNormaliseLikeDocker) {
  auto r = ParseReference("busybox");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->String(), "docker.io/library/busybox:latest");
  EXPECT_EQ(ParseReference("user/app:1")->String(), "docker.io/user/app:1");
  EXPECT_EQ(ParseReference("index.docker.io/library/alpine")->String(),
            "docker.io/library/alpine:latest");
  EXPECT_EQ(RegistryHostFor("docker.io"), "registry-1.docker.io");
}

TEST(Reference, HostsPortsTagsAndDigests) {
  std::string d = "sha256:" + std::string(64, 'a');
  auto r = ParseReference("127.0.0.1:5000/x/y:v1@" + d);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->host, "127.0.0.1:5000");
  EXPECT_EQ(r->repository, "x/y");
  EXPECT_EQ(r->tag, "v1");
  EXPECT_EQ(r->digest, d);
  EXPECT_EQ(r->Object(), d);
  auto p = ParseReference("localhost:5000/busybox");
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->host, "localhost:5000");
  EXPECT_EQ(p->tag, "latest");
  EXPECT_EQ(ParseReference("localhost/busybox")->host, "localhost");
  auto digest_only = ParseReference("reg.example/x@" + d);
  ASSERT_TRUE(digest_only.ok());
  EXPECT_EQ(digest_only->tag, "");
}

TEST(Reference, RejectsBadInput) {
  EXPECT_FALSE(ParseReference("").ok());
  EXPECT_FALSE(ParseReference("Busybox").ok());
  EXPECT_FALSE(ParseReference("busybox:-bad").ok());
  EXPECT_FALSE(ParseReference("busybox@sha256:abc").ok());
  EXPECT_FALSE(ParseReference("busybox:").ok());
  EXPECT_FALSE(ParseReference("a//b").ok());
}

// Names come from imported archives (index.json, manifest.json): "../../etc/passwd" was taken
// as host ".." and repository "../etc/passwd", and imported as an image (image_import seeds).
TEST(Reference, FollowsDistributionGrammar) {
  for (const char* bad :
       {"../../etc/passwd", "./x", "x/../y", "x/./y", "reg.example/../x", "reg.example/.x", "x_",
        "x-", "-x", "a...b", "a___b", "a._b", "reg.example:port/x", "reg.example:/x",
        "-reg.example/x", "reg.example-/x", "reg..example/x", "[::1/x", "reg_host.example/x"}) {
    EXPECT_FALSE(ParseReference(bad).ok()) << bad;
  }
  for (const char* good : {"a.b_c__d-e---f", "reg.example/a.b/c_d:v1", "localhost:5000/x-y",
                           "[::1]:5000/x", "[fe80::1]/x", "my-reg.example:443/team/app"}) {
    EXPECT_TRUE(ParseReference(good).ok()) << good;
  }
  EXPECT_EQ(ParseReference("[::1]:5000/x")->host, "[::1]:5000");
}

TEST(UrlEscape, KeepsUnreservedAndEncodesTheRestLikeCurl) {
  EXPECT_EQ(UrlEscape("repository:library/busybox:pull,push"),
            "repository%3Alibrary%2Fbusybox%3Apull%2Cpush");
  EXPECT_EQ(UrlEscape("a-b.c_d~e 09AZ"), "a-b.c_d~e%2009AZ");
  EXPECT_EQ(UrlEscape(std::string("\x00\xff+&=", 5)), "%00%FF%2B%26%3D");
  EXPECT_EQ(UrlEscape(""), "");
}

TEST(Platform, NormalisesAndMatches) {
  Platform want{"linux", "amd64", "", ""};
  EXPECT_TRUE(Matches(want, {"linux", "x86_64", "", ""}));
  EXPECT_FALSE(Matches(want, {"linux", "arm64", "", ""}));
  EXPECT_FALSE(Matches(want, {"windows", "amd64", "", ""}));
  EXPECT_TRUE(Matches({"linux", "arm64", "", ""}, {"linux", "aarch64", "v8", ""}));
  EXPECT_TRUE(Matches({"linux", "arm", "v7", ""}, {"linux", "arm", "", ""}));
  EXPECT_FALSE(Matches({"linux", "arm", "v6", ""}, {"linux", "arm", "v7", ""}));
  auto p = ParsePlatform("linux/arm64/v8");
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->String(), "linux/arm64");
  EXPECT_EQ(ParsePlatform("amd64")->String(), "linux/amd64");
  EXPECT_FALSE(ParsePlatform("").ok());
  Platform self = DefaultPlatform();
  EXPECT_EQ(self.os, "linux");
  EXPECT_FALSE(self.architecture.empty());
  EXPECT_TRUE(Matches(self, self));
}

}  // namespace
}  // namespace berth::transfer
