#include "plugins/transfer/manifest.h"

#include "content-store/digest.h"
#include "gtest/gtest.h"

namespace berth::transfer {
namespace {

const std::string kD1 = "sha256:" + std::string(64, '1');
const std::string kD2 = "sha256:" + std::string(64, '2');

TEST(Manifest, IndexWithPlatforms) {
  std::string idx = R"({"schemaVersion":2,"mediaType":"application/vnd.docker.distribution.manifest.list.v2+json","manifests":[
    {"mediaType":"application/vnd.docker.distribution.manifest.v2+json","digest":")" + kD1 +
                    R"(","size":10,"platform":{"os":"linux","architecture":"arm64","variant":"v8"}},
    {"mediaType":"application/vnd.docker.distribution.manifest.v2+json","digest":")" + kD2 +
                    R"(","size":20,"platform":{"os":"linux","architecture":"amd64"}}]})";
  EXPECT_EQ(*ManifestMediaType(idx, "application/json"), kDockerManifestList);
  auto m = ParseIndex(idx);
  ASSERT_TRUE(m.ok()) << m.status();
  ASSERT_EQ(m->size(), 2u);
  EXPECT_EQ((*m)[1].digest, kD2);
  ASSERT_TRUE((*m)[0].platform.has_value());
  EXPECT_TRUE(Matches({"linux", "arm64", "", ""}, *(*m)[0].platform));
  EXPECT_FALSE(Matches({"linux", "arm64", "", ""}, *(*m)[1].platform));
}

TEST(Manifest, SelectManifestsPerWantedPlatform) {
  const std::string kD3 = "sha256:" + std::string(64, '3');
  std::vector<Descriptor> all = {
      {kOciIndex, kD3, 1, Platform{"linux", "amd64", "", ""}, {}},  // not a manifest: skipped
      {kDockerManifest, kD1, 1, Platform{"linux", "aarch64", "8", ""}, {}},
      {kDockerManifest, kD2, 1, Platform{"linux", "x86_64", "", ""}, {}},
      {"", kD3, 1, std::nullopt, {}},  // untyped and without a platform: matches anything
  };
  auto amd64 = SelectManifests(all, {{"linux", "amd64", "", ""}}, "sha256:idx");
  ASSERT_TRUE(amd64.ok()) << amd64.status();
  ASSERT_EQ(amd64->size(), 1u);
  EXPECT_EQ((*amd64)[0].digest, kD2);
  // In wanted order, each digest once; riscv64 falls to the platform-less entry.
  auto many = SelectManifests(all,
                              {{"linux", "arm64", "v8", ""},
                               {"linux", "arm64", "", ""},
                               {"linux", "riscv64", "", ""}},
                              "sha256:idx");
  ASSERT_TRUE(many.ok()) << many.status();
  ASSERT_EQ(many->size(), 2u);
  EXPECT_EQ((*many)[0].digest, kD1);
  EXPECT_EQ((*many)[1].digest, kD3);
  all.pop_back();
  auto none = SelectManifests(all, {{"windows", "amd64", "", ""}}, "sha256:idx");
  EXPECT_EQ(none.status().code(), absl::StatusCode::kNotFound);
  EXPECT_NE(none.status().message().find("windows/amd64"), std::string::npos);
}

TEST(Manifest, ManifestAndConfig) {
  std::string man = R"({"schemaVersion":2,"config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":")" +
                    kD1 + R"(","size":5},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":")" +
                    kD2 + R"(","size":7}]})";
  EXPECT_EQ(*ManifestMediaType(man, ""), kOciManifest);
  EXPECT_EQ(*ManifestMediaType(man, std::string(kDockerManifest) + "; charset=utf-8"), kDockerManifest);
  auto m = ParseManifest(man);
  ASSERT_TRUE(m.ok()) << m.status();
  EXPECT_EQ(m->config.size, 5);
  ASSERT_EQ(m->layers.size(), 1u);
  EXPECT_EQ(m->layers[0].digest, kD2);

  auto cfg = ParseImageConfig(R"({"os":"linux","architecture":"amd64","rootfs":{"type":"layers","diff_ids":[")" +
                              kD1 + R"(",")" + kD2 + R"("]}})");
  ASSERT_TRUE(cfg.ok()) << cfg.status();
  EXPECT_EQ(cfg->diff_ids.size(), 2u);
  EXPECT_EQ(cfg->platform.architecture, "amd64");
}

TEST(Manifest, RejectsMalformed) {
  EXPECT_FALSE(ParseManifest(R"({"layers":[]})").ok());
  EXPECT_FALSE(ParseManifest(R"({"config":{"digest":"sha256:zz","size":1},"layers":[]})").ok());
  EXPECT_FALSE(ParseManifest(R"({"config":{"digest":")" + kD1 + R"(","size":-1},"layers":[]})").ok());
  EXPECT_FALSE(ParseIndex("[1,2]").ok());
  EXPECT_FALSE(ManifestMediaType(R"({"foo":1})", "text/plain").ok());
  EXPECT_FALSE(ParseImageConfig(R"({"rootfs":{"diff_ids":["nope"]}})").ok());
}

TEST(Manifest, ChainIdsFollowTheSpec) {
  auto chain = ChainIds({kD1, kD2});
  ASSERT_EQ(chain.size(), 2u);
  EXPECT_EQ(chain[0], kD1);
  EXPECT_EQ(chain[1], content::Digest::Sha256Of(kD1 + " " + kD2).str());
  EXPECT_TRUE(ChainIds({}).empty());
}

}  // namespace
}  // namespace berth::transfer
