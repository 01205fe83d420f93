// Puller::Push over a real metadata database and content store, against the in-memory fake
// registry: order of requests, blobs skipped or mounted, refusals before anything is sent.
#include <cstdlib>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "content-store/local_store.h"
#include "core/fs.h"
#include "gtest/gtest.h"
#include "plugins/transfer/puller.h"
#include "tests/transfer/fake_registry.h"

namespace berth::transfer {
namespace {

using testing::FakeRequest;
using testing::FakeServer;

std::string Sha(const std::string& s) { return content::Digest::Sha256Of(s).str(); }

std::string Desc(const std::string& type, const std::string& body, const std::string& extra = "") {
  return absl::StrCat(R"({"mediaType":")", type, R"(","digest":")", Sha(body), R"(","size":)",
                      body.size(), extra, "}");
}

class PusherTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/berth-push-test.XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    setenv("DOCKER_CONFIG", (dir_ + "/docker").c_str(), 1);  // no credentials from the host
    md_ = std::make_shared<metadata::Metadata>();
    md_->db = *metadata::Db::Open(dir_ + "/db");
    md_->blobs = std::shared_ptr<content::ContentStore>(*content::LocalStore::Open(dir_ + "/content"));
    md_->content = std::make_shared<content::NamespacedStore>(md_->db.get(), md_->blobs.get());
    md_->leases = std::make_shared<leases::LeaseStore>(md_->db.get());
    md_->images = std::make_shared<images::ImageStore>(md_->db.get());
    reg_.host = srv_.host();
    PullerConfig cfg;
    cfg.config_path = dir_ + "/certs.d";
    cfg.max_attempts = 2;
    cfg.low_speed_seconds = 5;
    puller_ = std::make_unique<Puller>(md_, cfg);

    layer_ = std::string(200000, 'l');
    config_ = R"({"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":["sha256:00"]}})";
    manifest_ = absl::StrCat(R"({"schemaVersion":2,"mediaType":")", kOciManifest, R"(","config":)",
                             Desc(kOciConfig, config_), R"(,"layers":[)",
                             Desc("application/vnd.oci.image.layer.v1.tar+gzip", layer_), "]}");
  }
  void TearDown() override {
    puller_.reset();
    md_.reset();
    ASSERT_TRUE(fs::RemoveAll(dir_).ok());
  }

  void Put(const std::string& bytes, content::Labels labels = {}) {
    auto w = md_->content->OpenWriter("ns", "ref-" + Sha(bytes), 0, content::Digest(), "");
    ASSERT_TRUE(w.ok()) << w.status();
    ASSERT_TRUE((*w)->Write(0, bytes).ok());
    ASSERT_TRUE((*w)->Commit(static_cast<int64_t>(bytes.size()), content::Digest(), labels).ok());
  }
  void Image(const std::string& name, const std::string& type, const std::string& bytes) {
    images::Image img{name, {}, {type, Sha(bytes), static_cast<int64_t>(bytes.size()), {}}, {}, {}};
    ASSERT_TRUE(md_->images->Create("ns", img).ok());
  }
  absl::StatusOr<PullResult> Push(const std::string& image, std::vector<Platform> platforms = {}) {
    PushOptions o;
    o.image = image;
    o.remote = srv_.host() + "/repo:v1";
    o.plain_http = true;
    o.platforms = std::move(platforms);
    return puller_->Push("ns", o, [this](const std::vector<ProgressItem>& items) {
      for (const auto& i : items) states_[i.ref].push_back(i.state);
      return absl::OkStatus();
    });
  }
  std::string Last(const std::string& kind, const std::string& body) {
    auto& v = states_[absl::StrCat(kind, "-", Sha(body))];
    return v.empty() ? "" : v.back();
  }
  size_t Count(const std::string& method) {
    size_t n = 0;
    for (const auto& r : srv_.requests()) n += r.method == method;
    return n;
  }

  std::string dir_;
  std::shared_ptr<metadata::Metadata> md_;
  testing::MemoryRegistry reg_;
  FakeServer srv_{[this](const FakeRequest& r) { return reg_.Handle(r); }};
  std::unique_ptr<Puller> puller_;
  std::string layer_, config_, manifest_;
  std::map<std::string, std::vector<std::string>> states_;
};

TEST_F(PusherTest, UploadsBlobsThenTheManifestUnderTheTag) {
  Put(layer_);
  Put(config_);
  Put(manifest_);
  Image("img", kOciManifest, manifest_);
  auto r = Push("img");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->name, srv_.host() + "/repo:v1");
  EXPECT_EQ(r->target.digest, Sha(manifest_));
  EXPECT_EQ(reg_.blobs[Sha(layer_)], layer_);
  EXPECT_EQ(reg_.blobs[Sha(config_)], config_);
  EXPECT_EQ(reg_.manifests["v1"], manifest_);
  EXPECT_EQ(reg_.manifest_types["v1"], kOciManifest);
  auto reqs = srv_.requests();
  ASSERT_FALSE(reqs.empty());
  EXPECT_EQ(reqs.back().method, "PUT");
  EXPECT_TRUE(absl::StartsWith(reqs.back().path, "/v2/repo/manifests/v1")) << reqs.back().path;
  EXPECT_EQ(Last("layer", layer_), "done");
  EXPECT_EQ(Last("config", config_), "done");
  EXPECT_EQ(Last("manifest", manifest_), "done");
}

TEST_F(PusherTest, SkipsBlobsTheRepositoryHasAndMountsFromTheSourceRepository) {
  Put(layer_, {{absl::StrCat("containerd.io/distribution.source.", srv_.host()), "other/repo"}});
  Put(config_);
  Put(manifest_);
  Image("img", kOciManifest, manifest_);
  reg_.blobs[Sha(config_)] = config_;
  reg_.mountable[Sha(layer_)] = layer_;
  auto r = Push("img");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(Last("config", config_), "exists");
  EXPECT_EQ(Last("layer", layer_), "mounted");
  EXPECT_EQ(Count("PUT"), 1u);  // the manifest only
}

TEST_F(PusherTest, RefusesAMissingLayerBeforeSendingAnything) {
  Put(config_);
  Put(manifest_);
  Image("img", kOciManifest, manifest_);
  auto r = Push("img");
  EXPECT_EQ(r.status().code(), absl::StatusCode::kNotFound) << r.status();
  EXPECT_TRUE(absl::StrContains(r.status().message(), Sha(layer_))) << r.status();
  EXPECT_TRUE(srv_.requests().empty());
}

TEST_F(PusherTest, UnknownImageIsNotFound) {
  EXPECT_EQ(Push("nope").status().code(), absl::StatusCode::kNotFound);
}

TEST_F(PusherTest, AnIndexIsPushedWithTheChildrenPresent) {
  std::string absent = R"({"schemaVersion":2,"note":"never pulled"})";
  std::string index = absl::StrCat(
      R"({"schemaVersion":2,"mediaType":")", kOciIndex, R"(","manifests":[)",
      Desc(kOciManifest, absent, R"(,"platform":{"os":"linux","architecture":"arm64"})"), ",",
      Desc(kOciManifest, manifest_, R"(,"platform":{"os":"linux","architecture":"amd64"})"), "]}");
  Put(layer_);
  Put(config_);
  Put(manifest_);
  Put(index);
  Image("idx", kOciIndex, index);
  auto arm = Push("idx", {{"linux", "arm64", "", ""}});
  EXPECT_EQ(arm.status().code(), absl::StatusCode::kNotFound) << arm.status();
  EXPECT_TRUE(absl::StrContains(arm.status().message(), Sha(absent))) << arm.status();
  auto r = Push("idx");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(reg_.manifests[Sha(manifest_)], manifest_);  // the child by digest
  EXPECT_EQ(reg_.manifests["v1"], index);                // the index under the tag, last
  EXPECT_EQ(reg_.manifest_types["v1"], kOciIndex);
  EXPECT_EQ(reg_.manifests.count(Sha(absent)), 0u);
  EXPECT_EQ(Last("index", index), "done");
}

}  // namespace
}  // namespace berth::transfer
