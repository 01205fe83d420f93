#include "plugins/gc/collector.h"

#include "content-store/local_store.h"
#include "core/fs.h"
#include "gtest/gtest.h"
#include "plugins/content/namespaced_store.h"
#include "plugins/images/images.h"
#include "plugins/leases/leases.h"
#include "snapshotter/native.h"

namespace berth::gc {
namespace {

using content::Digest;

class CollectorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/berth-gc-test.XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    db_ = *metadata::Db::Open(dir_ + "/db");
    blobs_ = *content::LocalStore::Open(dir_ + "/content");
    snaps_ = *snapshotter::NewNativeSnapshotter({dir_ + "/native"});
    content_ = std::make_unique<content::NamespacedStore>(db_.get(), blobs_.get());
    leases_ = std::make_unique<leases::LeaseStore>(db_.get());
    images_ = std::make_unique<images::ImageStore>(db_.get());
    gc_ = std::make_unique<Collector>(db_.get(), blobs_.get(),
                                      std::map<std::string, snapshotter::Snapshotter*>{
                                          {"native", snaps_.get()}});
  }
  void TearDown() override {
    gc_.reset();
    snaps_.reset();
    content_.reset();
    blobs_.reset();
    db_.reset();
    ASSERT_TRUE(fs::RemoveAll(dir_).ok());
  }

  Digest Put(const std::string& data, const content::Labels& labels = {},
             const std::string& lease = "") {
    auto w = content_->OpenWriter("ns", "ref-" + data, 0, Digest(), lease);
    EXPECT_TRUE(w.ok()) << w.status();
    EXPECT_TRUE((*w)->Write(0, data).ok());
    auto d = (*w)->Commit(static_cast<int64_t>(data.size()), Digest(), labels);
    EXPECT_TRUE(d.ok()) << d.status();
    return *d;
  }
  bool Has(const Digest& d) { return content_->GetInfo("ns", d).ok() && blobs_->Info(d).ok(); }
  bool HasSnap(const std::string& key) { return snaps_->Stat("ns", key).ok(); }

  std::string dir_;
  std::unique_ptr<metadata::Db> db_;
  std::unique_ptr<content::LocalStore> blobs_;
  std::unique_ptr<snapshotter::Snapshotter> snaps_;
  std::unique_ptr<content::NamespacedStore> content_;
  std::unique_ptr<leases::LeaseStore> leases_;
  std::unique_ptr<images::ImageStore> images_;
  std::unique_ptr<Collector> gc_;
};

TEST_F(CollectorTest, FollowsImagesAndLabels) {
  Digest layer = Put("layer");
  Digest orphan = Put("orphan");
  ASSERT_TRUE(snaps_->Prepare("ns", "tmp", "").ok());
  ASSERT_TRUE(snaps_->Commit("ns", "chain1", "tmp").ok());
  ASSERT_TRUE(snaps_->Prepare("ns", "tmp2", "chain1").ok());
  ASSERT_TRUE(snaps_->Commit("ns", "chain2", "tmp2").ok());
  ASSERT_TRUE(snaps_->Prepare("ns", "loose", "").ok());
  Digest config = Put("config", {{"containerd.io/gc.ref.snapshot.native", "chain2"}});
  Digest manifest = Put("manifest", {{"containerd.io/gc.ref.content.l.0", layer.str()},
                                     {"containerd.io/gc.ref.content.config", config.str()}});
  images::Image img{"img", {}, {"application/vnd.oci.image.manifest.v1+json", manifest.str(), 8, {}}, {}, {}};
  ASSERT_TRUE(images_->Create("ns", img).ok());

  auto stats = gc_->CollectNow();
  ASSERT_TRUE(stats.ok()) << stats.status();
  EXPECT_TRUE(Has(manifest));
  EXPECT_TRUE(Has(layer));
  EXPECT_TRUE(Has(config));
  EXPECT_FALSE(Has(orphan));
  EXPECT_FALSE(blobs_->Info(orphan).ok()) << "the bytes must go too";
  EXPECT_TRUE(HasSnap("chain2"));
  EXPECT_TRUE(HasSnap("chain1")) << "parents of live snapshots are live";
  EXPECT_FALSE(HasSnap("loose"));

  ASSERT_TRUE(images_->Delete("ns", "img").ok());
  ASSERT_TRUE(gc_->CollectNow().ok());
  EXPECT_FALSE(Has(manifest));
  EXPECT_FALSE(Has(layer));
  EXPECT_FALSE(HasSnap("chain2"));
  EXPECT_FALSE(HasSnap("chain1"));
}

TEST_F(CollectorTest, LeasesAndRootLabelProtect) {
  ASSERT_TRUE(leases_->Create("ns", "l1", {}).ok());
  ASSERT_TRUE(leases_->Create("ns", "old", {{leases::kExpireLabel, "2001-01-01T00:00:00Z"}}).ok());
  Digest leased = Put("leased", {}, "l1");
  Digest expired = Put("expired", {}, "old");
  Digest rooted = Put("rooted", {{"containerd.io/gc.root", "x"}});
  ASSERT_TRUE(gc_->CollectNow().ok());
  EXPECT_TRUE(Has(leased));
  EXPECT_TRUE(Has(rooted));
  EXPECT_FALSE(Has(expired));
  auto left = leases_->List("ns", {});
  ASSERT_TRUE(left.ok());
  ASSERT_EQ(left->size(), 1u) << "the expired lease is removed";
  ASSERT_TRUE(leases_->Delete("ns", "l1").ok());
  ASSERT_TRUE(gc_->CollectNow().ok());
  EXPECT_FALSE(Has(leased));
}

TEST_F(CollectorTest, SharedBlobStaysWhileAnyNamespaceHoldsIt) {
  Digest d = Put("shared", {{"containerd.io/gc.root", "x"}});
  // Another namespace gets the same bytes through the shared-content path, unreferenced there.
  auto w = content_->OpenWriter("other", "r", 0, d, "");
  EXPECT_EQ(w.status().code(), absl::StatusCode::kAlreadyExists);
  ASSERT_TRUE(content_->GetInfo("other", d).ok());
  ASSERT_TRUE(gc_->CollectNow().ok());
  EXPECT_FALSE(content_->GetInfo("other", d).ok());
  EXPECT_TRUE(Has(d));
}

}  // namespace
}  // namespace berth::gc
