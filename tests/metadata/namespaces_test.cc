#include "plugins/metadata/namespaces.h"

#include "tests/metadata/temp_db.h"

namespace berth::metadata {
namespace {

using NamespacesTest = TempDbTest;

TEST_F(NamespacesTest, CreateGetListDelete) {
  NamespaceStore store(db_.get());
  ASSERT_TRUE(store.Create({"a", {{"x", "1"}}}).ok());
  EXPECT_EQ(store.Create({"a", {}}).status().code(), absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(store.Create({"bad/name!", {}}).status().code(), absl::StatusCode::kInvalidArgument);
  ASSERT_TRUE(store.Create({"b", {}}).ok());
  auto got = store.Get("a");
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->labels.at("x"), "1");
  auto all = store.List();
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->size(), 2u);
  ASSERT_TRUE(store.Delete("a").ok());
  EXPECT_EQ(store.Get("a").status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(store.Delete("a").code(), absl::StatusCode::kNotFound);
}

TEST_F(NamespacesTest, LabelUpdatesWithPaths) {
  NamespaceStore store(db_.get());
  ASSERT_TRUE(store.Create({"a", {{"one", "1"}}}).ok());
  ASSERT_TRUE(store.Update({"a", {{"two", "2"}}}, {"labels.two"}).ok());
  ASSERT_TRUE(store.Update({"a", {{"one", ""}}}, {"labels.one"}).ok());
  auto got = store.Get("a");
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->labels, (std::map<std::string, std::string>{{"two", "2"}}));
  EXPECT_EQ(store.Update({"a", {}}, {"name"}).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(store.Update({"nosuch", {}}, {}).status().code(), absl::StatusCode::kNotFound);
}

TEST_F(NamespacesTest, DeleteRefusesWhileInUse) {
  NamespaceStore store(db_.get());
  ASSERT_TRUE(db_->Update([](Txn& txn) -> absl::Status {
    if (auto s = EnsureNamespace(txn, "a"); !s.ok()) return s;
    txn.Put(ObjectKey("a", "content", "sha256:00"), "{}");
    txn.Put(ObjectKey("a", "leases", "l1"), "{}");
    return absl::OkStatus();
  }).ok());
  auto s = store.Delete("a");
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(s.message().find("content"), absl::string_view::npos);
  ASSERT_TRUE(db_->Update([](Txn& txn) {
    txn.Delete(ObjectKey("a", "content", "sha256:00"));
    return absl::OkStatus();
  }).ok());
  store.AddUsageCheck([](const std::string& ns) -> absl::StatusOr<std::string> {
    return ns == "a" ? "snapshots in overlayfs" : "";
  });
  EXPECT_NE(store.Delete("a").message().find("overlayfs"), absl::string_view::npos);
}

TEST_F(NamespacesTest, DeleteTakesLeasesAlong) {
  NamespaceStore store(db_.get());
  ASSERT_TRUE(db_->Update([](Txn& txn) -> absl::Status {
    if (auto s = EnsureNamespace(txn, "a"); !s.ok()) return s;
    txn.Put(ObjectKey("a", "leases", "l1"), "{}");
    return absl::OkStatus();
  }).ok());
  ASSERT_TRUE(store.Delete("a").ok());
  ASSERT_TRUE(store.Create({"a", {}}).ok());
  bool leftover = true;
  ASSERT_TRUE(db_->View([&](const Reader& r) -> absl::Status {
    auto has = r.HasPrefix(NamespacePrefix("a"));
    leftover = has.ok() && *has;
    return absl::OkStatus();
  }).ok());
  EXPECT_FALSE(leftover);
}

}  // namespace
}  // namespace berth::metadata
