// Hostile layers: every refused entry fails with InvalidArgument naming it, and nothing beside
// the root changes (a sentinel directory next to it is compared before and after).
#include <unistd.h>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "plugins/diff/diff.h"
#include "plugins/diff/safe_fs.h"
#include "tests/diff/test_util.h"

namespace berth::diff {
namespace {

using testing::Exists;
using ::testing::HasSubstr;
using testing::ReadAll;
using testing::StringReader;
using testing::TarBuilder;
using testing::TempDir;

// (mode, resolve parents with openat2 or with the O_NOFOLLOW walk of older kernels)
class HostileTest : public ::testing::TestWithParam<std::tuple<Mode, bool>> {
 protected:
  Mode mode() const { return std::get<0>(GetParam()); }
  void TearDown() override { internal::DisableOpenat2ForTest(false); }
  void SetUp() override {
    internal::DisableOpenat2ForTest(!std::get<1>(GetParam()));
    if (mode() == Mode::kOverlayUpper && ::geteuid() != 0) {
      GTEST_SKIP() << "overlay whiteouts need root (mknod, trusted.* xattrs)";
    }
    root_ = tmp_.Sub("root");
    sentinel_ = tmp_.Sub("sentinel");
    ASSERT_TRUE(fs::WriteFileAtomic(sentinel_ + "/keep", "precious").ok());
    ASSERT_TRUE(fs::MkdirAll(sentinel_ + "/sub").ok());
    ASSERT_TRUE(fs::WriteFileAtomic(sentinel_ + "/sub/x", "x").ok());
    before_ = testing::Tree(tmp_.path() + "/sentinel");
    outside_before_ = Outside();
  }

  // Everything in the temp dir except the root's content.
  std::vector<std::string> Outside() {
    std::vector<std::string> names;
    for (const auto& [path, line] : testing::Tree(tmp_.path(), false)) {
      if (path.rfind("root/", 0) != 0) names.push_back(path + " " + line);
    }
    return names;
  }

  absl::Status ApplyLayer(const std::string& tar) {
    ApplyOptions opts;
    opts.mode = mode();
    return Apply(StringReader(tar), kMediaTypeOciLayer, root_, opts).status();
  }

  void ExpectRefused(const std::string& tar, const std::string& entry) {
    absl::Status s = ApplyLayer(tar);
    EXPECT_TRUE(absl::IsInvalidArgument(s)) << s;
    EXPECT_THAT(s.message(), HasSubstr("\"" + entry + "\""));
    ExpectOutsideUnchanged();
  }

  void ExpectOutsideUnchanged() {
    EXPECT_EQ(testing::Tree(tmp_.path() + "/sentinel"), before_);
    EXPECT_EQ(Outside(), outside_before_);
    EXPECT_EQ(ReadAll(sentinel_ + "/keep"), "precious");
  }

  TempDir tmp_;
  std::string root_, sentinel_;
  std::map<std::string, std::string> before_;
  std::vector<std::string> outside_before_;
};

TEST_P(HostileTest, DotDotTraversal) {
  ExpectRefused(TarBuilder().File("../x", "evil").Finish(), "../x");
  ExpectRefused(TarBuilder().File("a/../../sentinel/keep", "evil").Finish(),
                "a/../../sentinel/keep");
  ExpectRefused(TarBuilder().Dir("..").Finish(), "..");
}

TEST_P(HostileTest, AbsolutePath) {
  std::string target = sentinel_ + "/abs";
  ExpectRefused(TarBuilder().File(target, "evil").Finish(), target);
  ExpectRefused(TarBuilder().File("/etc/berth-diff-hostile", "evil").Finish(),
                "/etc/berth-diff-hostile");
  EXPECT_FALSE(Exists("/etc/berth-diff-hostile"));
}

TEST_P(HostileTest, SymlinkThenWriteThroughIt) {
  ExpectRefused(TarBuilder().Symlink("a", sentinel_).File("a/file", "evil").Finish(), "a/file");
  ExpectRefused(TarBuilder().Symlink("b", "../sentinel").File("b/keep", "evil").Finish(), "b/keep");
  ExpectRefused(TarBuilder().Symlink("c", "/").File("c/tmp/evil", "x").Finish(), "c/tmp/evil");
}

TEST_P(HostileTest, SymlinkDirectoryChain) {
  ExpectRefused(TarBuilder()
                    .Symlink("d2", sentinel_)
                    .Dir("real")
                    .Symlink("real/d1", "../d2")
                    .File("real/d1/sub/x", "evil")
                    .Finish(),
                "real/d1/sub/x");
}

TEST_P(HostileTest, SymlinkParentInsideTheRootIsRefusedToo) {
  // Stricter than containerd (which resolves it in the root): no parent symlink is followed.
  ExpectRefused(TarBuilder().Dir("real").Symlink("alias", "real").File("alias/f", "x").Finish(),
                "alias/f");
}

TEST_P(HostileTest, HardlinkOutside) {
  ExpectRefused(TarBuilder().Hardlink("link", "../../etc/passwd").Finish(), "link");
  ExpectRefused(TarBuilder().Hardlink("link", "/etc/passwd").Finish(), "link");
  // Through a symlinked parent: the source must be resolved beneath the root too.
  ExpectRefused(TarBuilder().Symlink("s", sentinel_).Hardlink("h", "s/keep").Finish(), "h");
  EXPECT_EQ(testing::Lstat(sentinel_ + "/keep").st_nlink, 1u);
}

TEST_P(HostileTest, WhiteoutOutside) {
  ExpectRefused(TarBuilder().Whiteout("../.wh.sentinel").Finish(), "../.wh.sentinel");
  ExpectRefused(TarBuilder().Whiteout(".wh..").Finish(), ".wh..");
  ExpectRefused(TarBuilder().Symlink("s", sentinel_).Whiteout("s/.wh.keep").Finish(), "s/.wh.keep");
  ExpectRefused(TarBuilder().Symlink("s", sentinel_).Whiteout("s/.wh..wh..opq").Finish(),
                "s/.wh..wh..opq");
}

TEST_P(HostileTest, WhiteoutOfSymlinkRemovesOnlyTheLink) {
  ASSERT_TRUE(ApplyLayer(TarBuilder().Symlink("s", sentinel_).Finish()).ok());
  absl::Status s = ApplyLayer(TarBuilder().Whiteout(".wh.s").Finish());
  ASSERT_TRUE(s.ok()) << s;
  EXPECT_TRUE(Exists(sentinel_ + "/keep"));
  ExpectOutsideUnchanged();
}

TEST_P(HostileTest, EntriesReplaceSymlinksInsteadOfFollowingThem) {
  absl::Status s = ApplyLayer(TarBuilder()
                                  .Symlink("f", sentinel_ + "/keep")
                                  .File("f", "mine")
                                  .Symlink("d", sentinel_)
                                  .Dir("d")
                                  .File("d/keep", "mine too")
                                  .Symlink("s2", sentinel_ + "/keep")
                                  .Hardlink("h", "s2")
                                  .File("h", "replaced")
                                  .Finish());
  ASSERT_TRUE(s.ok()) << s;
  EXPECT_EQ(ReadAll(root_ + "/f"), "mine");
  EXPECT_EQ(ReadAll(root_ + "/d/keep"), "mine too");
  EXPECT_EQ(ReadAll(root_ + "/h"), "replaced");
  ExpectOutsideUnchanged();
}

TEST_P(HostileTest, HugeEntryRefusedByName) {
  ApplyOptions opts;
  opts.mode = mode();
  opts.max_entry_size = 1000;
  absl::Status s = Apply(StringReader(TarBuilder().File("bomb", std::string(5000, 'b')).Finish()),
                         kMediaTypeOciLayer, root_, opts)
                       .status();
  EXPECT_TRUE(absl::IsInvalidArgument(s)) << s;
  EXPECT_THAT(s.message(), HasSubstr("\"bomb\""));
  EXPECT_FALSE(Exists(root_ + "/bomb"));
}

INSTANTIATE_TEST_SUITE_P(
    Modes, HostileTest,
    ::testing::Combine(::testing::Values(Mode::kPlain, Mode::kOverlayUpper), ::testing::Bool()),
    [](const auto& info) {
      return std::string(std::get<0>(info.param) == Mode::kPlain ? "Plain" : "OverlayUpper") +
             (std::get<1>(info.param) ? "Openat2" : "Walk");
    });

}  // namespace
}  // namespace berth::diff
