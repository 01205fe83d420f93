// Overlay snapshotter: the conformance suite (metadata rules, unprivileged) plus what is
// specific to overlay: the shape of its mounts and its config.
#include <algorithm>
#include <filesystem>

#include "gtest/gtest.h"
#include "tests/snapshotter/factories.h"

namespace berth::snapshotter::testing {
namespace {

INSTANTIATE_TEST_SUITE_P(Overlay, SnapshotterConformance,
                         ::testing::Values(OverlayFactory(false), OverlayFactory(true)),
                         FactoryName);

class OverlayMounts : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/berth-overlay-test-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    root_ = tmpl;
  }
  void TearDown() override { std::filesystem::remove_all(root_); }
  std::unique_ptr<Snapshotter> Open(OverlayConfig config) {
    config.root_path = root_;
    auto s = NewOverlaySnapshotter(config);
    EXPECT_TRUE(s.ok()) << s.status();
    return s.ok() ? *std::move(s) : nullptr;
  }
  std::string root_;
};

bool Has(const std::vector<std::string>& v, const std::string& s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

TEST_F(OverlayMounts, FollowContainerdRules) {
  auto sn = Open({.mount_options = {"volatile"}});
  ASSERT_NE(sn, nullptr);
  auto base = sn->Prepare("default", "a", "");
  ASSERT_TRUE(base.ok());
  EXPECT_EQ((*base)[0].type, "bind");
  EXPECT_EQ((*base)[0].source, root_ + "/snapshots/1/fs");
  EXPECT_EQ((*base)[0].options, (std::vector<std::string>{"rw", "rbind"}));
  EXPECT_TRUE(std::filesystem::is_directory(root_ + "/snapshots/1/work"));
  ASSERT_TRUE(sn->Commit("default", "l1", "a").ok());

  auto one = sn->View("default", "v1", "l1");  // a view of one layer is that layer, ro
  ASSERT_TRUE(one.ok());
  EXPECT_EQ((*one)[0].type, "bind");
  EXPECT_EQ((*one)[0].source, root_ + "/snapshots/1/fs");
  EXPECT_EQ((*one)[0].options, (std::vector<std::string>{"ro", "rbind"}));

  auto active = sn->Prepare("default", "b", "l1");
  ASSERT_TRUE(active.ok());
  const auto& m = (*active)[0];
  EXPECT_EQ(m.type, "overlay");
  EXPECT_EQ(m.source, "overlay");
  EXPECT_TRUE(Has(m.options, "workdir=" + root_ + "/snapshots/3/work"));
  EXPECT_TRUE(Has(m.options, "upperdir=" + root_ + "/snapshots/3/fs"));
  EXPECT_TRUE(Has(m.options, "lowerdir=" + root_ + "/snapshots/1/fs"));
  EXPECT_EQ(m.options.back(), "volatile");
  EXPECT_EQ(Has(m.options, "index=off"), OverlayHasIndexOption());
  EXPECT_FALSE(Has(m.options, "ro"));
  ASSERT_TRUE(sn->Commit("default", "l2", "b").ok());

  auto view = sn->View("default", "v2", "l2");
  ASSERT_TRUE(view.ok());
  const auto& v = (*view)[0];
  EXPECT_EQ(v.type, "overlay");
  EXPECT_TRUE(Has(v.options, "ro"));
  // Closest parent first.
  EXPECT_TRUE(Has(v.options, "lowerdir=" + root_ + "/snapshots/3/fs:" + root_ +
                                 "/snapshots/1/fs"));
  for (const auto& o : v.options) {
    EXPECT_NE(o.rfind("upperdir=", 0), 0u);
    EXPECT_NE(o.rfind("workdir=", 0), 0u);
  }
  EXPECT_FALSE(std::filesystem::exists(root_ + "/snapshots/4/work"));  // views need no workdir
}

TEST_F(OverlayMounts, UpperdirLabel) {
  auto sn = Open({.upperdir_label = true});
  ASSERT_NE(sn, nullptr);
  ASSERT_TRUE(sn->Prepare("default", "a", "", {{"x", "y"}}).ok());
  auto info = sn->Stat("default", "a");
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(info->labels.at(kUpperdirLabel), root_ + "/snapshots/1/fs");
  EXPECT_EQ(info->labels.at("x"), "y");
}

TEST_F(OverlayMounts, AsyncRemoveLeavesDirectoryForCleanup) {
  auto sn = Open({.sync_remove = false});
  ASSERT_NE(sn, nullptr);
  ASSERT_TRUE(sn->Prepare("default", "a", "").ok());
  ASSERT_TRUE(sn->Remove("default", "a").ok());
  EXPECT_TRUE(std::filesystem::exists(root_ + "/snapshots/1"));
  ASSERT_TRUE(sn->Cleanup().ok());
  EXPECT_FALSE(std::filesystem::exists(root_ + "/snapshots/1"));
}

TEST_F(OverlayMounts, SyncRemoveDeletesAtOnce) {
  auto sn = Open({.sync_remove = true});
  ASSERT_NE(sn, nullptr);
  ASSERT_TRUE(sn->Prepare("default", "a", "").ok());
  ASSERT_TRUE(sn->Remove("default", "a").ok());
  EXPECT_FALSE(std::filesystem::exists(root_ + "/snapshots/1"));
}

TEST_F(OverlayMounts, RejectsRelativeRootAndSecondOpen) {
  EXPECT_TRUE(absl::IsInvalidArgument(NewOverlaySnapshotter({.root_path = "rel"}).status()));
  EXPECT_TRUE(absl::IsInvalidArgument(NewOverlaySnapshotter({}).status()));
  auto first = Open({});
  ASSERT_NE(first, nullptr);
  auto second = NewOverlaySnapshotter({.root_path = root_});
  EXPECT_TRUE(absl::IsUnavailable(second.status())) << second.status();  // locked by the first
}

}  // namespace
}  // namespace berth::snapshotter::testing
