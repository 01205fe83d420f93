#include "plugins/leases/leases.h"

#include "tests/metadata/temp_db.h"

namespace berth::leases {
namespace {

using LeasesTest = metadata::TempDbTest;

TEST_F(LeasesTest, CreateListDeleteAndResources) {
  LeaseStore store(db_.get());
  ASSERT_TRUE(store.Create("ns", "l1", {{"acc.owner", "test"}}).ok());
  EXPECT_EQ(store.Create("ns", "l1", {}).status().code(), absl::StatusCode::kAlreadyExists);
  EXPECT_TRUE(store.Create("ns", "/tmp/mnt", {}).ok()) << "ctr images mount uses paths as ids";
  EXPECT_TRUE(store.Create("ns", "/tmp/mnt/sub", {}).ok());
  EXPECT_EQ(store.Create("ns", std::string("a\0b", 3), {}).status().code(),
            absl::StatusCode::kInvalidArgument);
  auto generated = store.Create("ns", "", {});
  ASSERT_TRUE(generated.ok()) << generated.status();
  EXPECT_FALSE(generated->id.empty());
  auto filtered = store.List("ns", {"labels.\"acc.owner\"==test"});
  ASSERT_TRUE(filtered.ok());
  ASSERT_EQ(filtered->size(), 1u);
  ASSERT_TRUE(store.AddResource("ns", "/tmp/mnt/sub", {"k", "snapshots/overlayfs"}).ok());
  EXPECT_TRUE(store.ListResources("ns", "/tmp/mnt")->empty()) << "ids that prefix others stay apart";
  EXPECT_EQ((*filtered)[0].id, "l1");

  ASSERT_TRUE(store.AddResource("ns", "l1", {"sha256:ab", "content"}).ok());
  ASSERT_TRUE(store.AddResource("ns", "l1", {"key", "snapshots/overlayfs"}).ok());
  EXPECT_EQ(store.AddResource("ns", "l1", {"x", "bogus"}).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(store.AddResource("ns", "nope", {"x", "content"}).code(), absl::StatusCode::kNotFound);
  auto res = store.ListResources("ns", "l1");
  ASSERT_TRUE(res.ok());
  EXPECT_EQ(res->size(), 2u);
  ASSERT_TRUE(store.DeleteResource("ns", "l1", {"sha256:ab", "content"}).ok());
  EXPECT_EQ(store.ListResources("ns", "l1")->size(), 1u);

  EXPECT_TRUE(store.List("other", {})->empty()) << "leases are per namespace";
  ASSERT_TRUE(store.Delete("ns", "l1").ok());
  EXPECT_EQ(store.Delete("ns", "l1").code(), absl::StatusCode::kNotFound);
}

TEST(LeaseExpiry, ParsesRfc3339) {
  Lease l{"x", absl::Now(), {{kExpireLabel, "2001-01-01T00:00:00Z"}}};
  EXPECT_TRUE(Expired(l, absl::Now()));
  l.labels[kExpireLabel] = "2999-01-01T00:00:00Z";
  EXPECT_FALSE(Expired(l, absl::Now()));
  l.labels.clear();
  EXPECT_FALSE(Expired(l, absl::Now()));
}

}  // namespace
}  // namespace berth::leases
