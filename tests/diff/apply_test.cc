#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "plugins/diff/diff.h"
#include "tests/diff/test_util.h"

namespace berth::diff {
namespace {

using testing::Exists;
using ::testing::HasSubstr;
using testing::Lstat;
using testing::ReadAll;
using testing::StringReader;
using testing::TarBuilder;
using testing::TempDir;

absl::StatusOr<ApplyResult> ApplyTar(const std::string& blob, const std::string& root,
                                     ApplyOptions opts = {},
                                     const std::string& media_type = kMediaTypeOciLayer) {
  return Apply(StringReader(blob), media_type, root, opts);
}

TEST(ApplyTest, FilesDirsSymlinksModesAndTimes) {
  TempDir tmp;
  std::string tar = TarBuilder()
                        .Dir("etc", {.mode = 0750, .mtime = 1600000000, .mtime_nsec = 5})
                        .File("etc/hosts", "127.0.0.1 localhost\n",
                              {.mode = 0640, .mtime = 1500000000, .mtime_nsec = 123456789})
                        .Symlink("etc/link", "/etc/hosts", {.mtime = 1400000000})
                        .File("./bin/tool", "x", {.mode = 04755})
                        .Dir("tmp", {.mode = 01777})
                        .Dir("share", {.mode = 02755})
                        .Fifo("pipe", {.mode = 0600})
                        .Finish();
  auto r = ApplyTar(tar, tmp.path());
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->entries, 7);
  const std::string& root = tmp.path();
  EXPECT_EQ(ReadAll(root + "/etc/hosts"), "127.0.0.1 localhost\n");
  struct stat st = Lstat(root + "/etc/hosts");
  EXPECT_EQ(st.st_mode & 07777, 0640u);
  EXPECT_EQ(st.st_mtim.tv_sec, 1500000000);
  EXPECT_EQ(st.st_mtim.tv_nsec, 123456789);
  st = Lstat(root + "/etc");
  EXPECT_TRUE(S_ISDIR(st.st_mode));
  EXPECT_EQ(st.st_mode & 07777, 0750u);
  EXPECT_EQ(st.st_mtim.tv_sec, 1600000000) << "directory mtime fixed after its children";
  st = Lstat(root + "/etc/link");
  ASSERT_TRUE(S_ISLNK(st.st_mode));
  EXPECT_EQ(st.st_mtim.tv_sec, 1400000000);
  char target[64] = {};
  ASSERT_GT(::readlink((root + "/etc/link").c_str(), target, sizeof(target)), 0);
  EXPECT_STREQ(target, "/etc/hosts");
  EXPECT_EQ(Lstat(root + "/bin/tool").st_mode & 07777, 04755u) << "setuid kept";
  EXPECT_EQ(Lstat(root + "/bin").st_mode & 07777, 0755u) << "implicit parent";
  EXPECT_EQ(Lstat(root + "/tmp").st_mode & 07777, 01777u) << "sticky";
  EXPECT_EQ(Lstat(root + "/share").st_mode & 07777, 02755u) << "setgid";
  EXPECT_TRUE(S_ISFIFO(Lstat(root + "/pipe").st_mode));
}

// The puller extracts overlay uppers without their lowers: Apply names the directories a
// layer relied on them for, and InheritImplicitDirs gives those their lower attributes later.
TEST(ApplyTest, OverlayUpperImplicitDirectoriesInheritedLater) {
  TempDir lower, upper;
  ASSERT_TRUE(ApplyTar(TarBuilder()
                           .Dir("usr", {.mode = 0750, .mtime = 1500000000})
                           .Dir("usr/bin", {.mode = 0711, .mtime = 1400000000})
                           .Dir("etc", {.mode = 0700})
                           .Finish(),
                       lower.path())
                  .ok());
  ApplyOptions opts;
  opts.mode = Mode::kOverlayUpper;
  auto r = ApplyTar(TarBuilder()
                        .File("usr/bin/tool", "x")
                        .File("usr/bin/other", "y")
                        .File("etc/conf", "z")
                        .Dir("etc", {.mode = 0755, .mtime = 1600000000})
                        .File("opt/x/file", "w")
                        .Finish(),
                    upper.path(), opts);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->implicit_dirs, (std::vector<std::string>{"usr", "usr/bin", "opt", "opt/x"}))
      << "etc is listed by the layer itself";
  ASSERT_TRUE(InheritImplicitDirs(upper.path(), r->implicit_dirs, {lower.path()}).ok());
  struct stat st = Lstat(upper.path() + "/usr");
  EXPECT_EQ(st.st_mode & 07777, 0750u);
  EXPECT_EQ(st.st_mtim.tv_sec, 1500000000);
  st = Lstat(upper.path() + "/usr/bin");
  EXPECT_EQ(st.st_mode & 07777, 0711u);
  EXPECT_EQ(st.st_mtim.tv_sec, 1400000000);
  st = Lstat(upper.path() + "/etc");
  EXPECT_EQ(st.st_mode & 07777, 0755u) << "the layer's own entry wins";
  EXPECT_EQ(st.st_mtim.tv_sec, 1600000000);
  EXPECT_EQ(Lstat(upper.path() + "/opt/x").st_mode & 07777, 0755u) << "no lower has it";
  EXPECT_EQ(ReadAll(upper.path() + "/usr/bin/other"), "y");
}

TEST(ApplyTest, OwnersWhenRoot) {
  if (::geteuid() != 0) GTEST_SKIP() << "chown needs root";
  TempDir tmp;
  std::string tar = TarBuilder()
                        .File("f", "x", {.mode = 06755, .uid = 1234, .gid = 5678})
                        .Symlink("l", "f", {.uid = 42, .gid = 43})
                        .Dir("d", {.uid = 7, .gid = 8})
                        .Finish();
  ASSERT_TRUE(ApplyTar(tar, tmp.path()).ok());
  struct stat st = Lstat(tmp.path() + "/f");
  EXPECT_EQ(st.st_uid, 1234u);
  EXPECT_EQ(st.st_gid, 5678u);
  EXPECT_EQ(st.st_mode & 07777, 06755u) << "chmod after chown keeps setuid/setgid";
  EXPECT_EQ(Lstat(tmp.path() + "/l").st_uid, 42u);
  EXPECT_EQ(Lstat(tmp.path() + "/d").st_gid, 8u);
}

TEST(ApplyTest, UserXattrsAndNoOverlayXattrsFromTar) {
  TempDir tmp;
  std::string tar =
      TarBuilder()
          .File("f", "x", {.xattrs = {{"user.test", "hello"}}})
          .Dir("d", {.xattrs = {{"user.test", "dir"}, {"trusted.overlay.opaque", "y"}}})
          .Finish();
  ASSERT_TRUE(ApplyTar(tar, tmp.path()).ok());
  std::string probe = tmp.path() + "/f";
  if (testing::Xattr(probe, "user.test") == "<none>" &&
      ::setxattr(probe.c_str(), "user.probe", "1", 1, 0) != 0) {
    GTEST_SKIP() << "no user xattrs on this filesystem";
  }
  EXPECT_EQ(testing::Xattr(tmp.path() + "/f", "user.test"), "hello");
  EXPECT_EQ(testing::Xattr(tmp.path() + "/d", "user.test"), "dir");
  EXPECT_EQ(testing::Xattr(tmp.path() + "/d", "trusted.overlay.opaque"), "<none>");
}

TEST(ApplyTest, PlainWhiteoutsRemoveLowerEntries) {
  TempDir tmp;
  std::string base =
      TarBuilder().Dir("a").File("a/b", "b").File("a/c", "c").Dir("d").File("d/deep", "x").Finish();
  ASSERT_TRUE(ApplyTar(base, tmp.path()).ok());
  std::string layer =
      TarBuilder().Whiteout("a/.wh.b").Whiteout(".wh.d").Whiteout(".wh.missing").Finish();
  auto r = ApplyTar(layer, tmp.path());
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_FALSE(Exists(tmp.path() + "/a/b"));
  EXPECT_TRUE(Exists(tmp.path() + "/a/c"));
  EXPECT_FALSE(Exists(tmp.path() + "/d"));
  EXPECT_FALSE(Exists(tmp.path() + "/a/.wh.b")) << "whiteouts are not extracted";
}

TEST(ApplyTest, PlainOpaqueDirectoryKeepsOnlyThisLayer) {
  TempDir tmp;
  std::string base = TarBuilder()
                         .Dir("o")
                         .File("o/old", "1")
                         .Dir("o/sub")
                         .File("o/sub/old", "2")
                         .Dir("p")
                         .File("p/old", "3")
                         .Finish();
  ASSERT_TRUE(ApplyTar(base, tmp.path()).ok());
  // "o": marker first (the usual order); "p": marker after a new entry, which must survive.
  std::string layer = TarBuilder()
                          .Dir("o")
                          .Whiteout("o/.wh..wh..opq")
                          .File("o/new", "n")
                          .Dir("p")
                          .File("p/new", "m")
                          .Whiteout("p/.wh..wh..opq")
                          .Finish();
  ASSERT_TRUE(ApplyTar(layer, tmp.path()).ok());
  EXPECT_FALSE(Exists(tmp.path() + "/o/old"));
  EXPECT_FALSE(Exists(tmp.path() + "/o/sub"));
  EXPECT_EQ(ReadAll(tmp.path() + "/o/new"), "n");
  EXPECT_FALSE(Exists(tmp.path() + "/p/old"));
  EXPECT_EQ(ReadAll(tmp.path() + "/p/new"), "m");
}

TEST(ApplyTest, PlainKeepsTimesOfDirectoriesTheLayerDoesNotList) {
  TempDir tmp;
  std::string base =
      TarBuilder().Dir("d", {.mtime = 1000}).File("d/old", "o").Dir("e", {.mtime = 2000}).Finish();
  ASSERT_TRUE(ApplyTar(base, tmp.path()).ok());
  std::string layer = TarBuilder()
                          .File("d/new", "n")
                          .Whiteout("d/.wh.old")
                          .File("e/x", "x")
                          .Dir("e", {.mtime = 3000})
                          .Finish();
  ASSERT_TRUE(ApplyTar(layer, tmp.path()).ok());
  EXPECT_EQ(Lstat(tmp.path() + "/d").st_mtim.tv_sec, 1000) << "as in the overlay merged view";
  EXPECT_EQ(Lstat(tmp.path() + "/e").st_mtim.tv_sec, 3000) << "the layer's own entry wins";
}

TEST(ApplyTest, EntriesReplaceExistingOnes) {
  TempDir tmp;
  std::string base = TarBuilder()
                         .Dir("was_dir")
                         .File("was_dir/x", "x")
                         .File("was_file", "f")
                         .File("was_file2", "f")
                         .Dir("stays_dir", {.mode = 0700})
                         .File("stays_dir/keep", "k")
                         .Finish();
  ASSERT_TRUE(ApplyTar(base, tmp.path()).ok());
  std::string layer = TarBuilder()
                          .File("was_dir", "now a file")
                          .Dir("was_file")
                          .Symlink("was_file2", "elsewhere")
                          .Dir("stays_dir", {.mode = 0755})
                          .Finish();
  ASSERT_TRUE(ApplyTar(layer, tmp.path()).ok());
  EXPECT_EQ(ReadAll(tmp.path() + "/was_dir"), "now a file");
  EXPECT_TRUE(S_ISDIR(Lstat(tmp.path() + "/was_file").st_mode));
  EXPECT_TRUE(S_ISLNK(Lstat(tmp.path() + "/was_file2").st_mode));
  EXPECT_EQ(ReadAll(tmp.path() + "/stays_dir/keep"), "k") << "directories merge";
  EXPECT_EQ(Lstat(tmp.path() + "/stays_dir").st_mode & 07777, 0755u);
}

TEST(ApplyTest, HardlinksInLayerAndToLowerLayer) {
  TempDir tmp;
  ASSERT_TRUE(ApplyTar(TarBuilder().File("lower", "L").Finish(), tmp.path()).ok());
  std::string layer = TarBuilder()
                          .File("a", "data")
                          .Hardlink("b", "a")
                          .Hardlink("./c", "./a")
                          .Hardlink("l2", "lower")
                          .Finish();
  auto r = ApplyTar(layer, tmp.path());
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(Lstat(tmp.path() + "/a").st_ino, Lstat(tmp.path() + "/b").st_ino);
  EXPECT_EQ(Lstat(tmp.path() + "/a").st_ino, Lstat(tmp.path() + "/c").st_ino);
  EXPECT_EQ(Lstat(tmp.path() + "/a").st_nlink, 3u);
  EXPECT_EQ(Lstat(tmp.path() + "/lower").st_ino, Lstat(tmp.path() + "/l2").st_ino);
}

TEST(ApplyTest, MissingHardlinkSourceIsNotFound) {
  TempDir tmp;
  auto r = ApplyTar(TarBuilder().Hardlink("b", "nope").Finish(), tmp.path());
  EXPECT_TRUE(absl::IsNotFound(r.status())) << r.status();
  EXPECT_THAT(r.status().message(), HasSubstr("\"b\""));
}

TEST(ApplyTest, SparseFile) {
  TempDir tmp;
  std::string tar = TarBuilder().Sparse("sparse", 3 << 20, 1 << 20, "middle").Finish();
  ASSERT_TRUE(ApplyTar(tar, tmp.path()).ok());
  std::string data = ReadAll(tmp.path() + "/sparse");
  ASSERT_EQ(data.size(), size_t{3} << 20);
  EXPECT_EQ(data.substr(1 << 20, 6), "middle");
  EXPECT_EQ(data.find_first_not_of('\0'), size_t{1} << 20);
}

TEST(ApplyTest, DiffIdIsSha256OfUncompressedTarAndIsVerified) {
  TempDir tmp;
  std::string tar = TarBuilder().File("f", "content").Finish();
  std::string gz = testing::Gzip(tar);
  auto r = ApplyTar(gz, tmp.Sub("a"), {}, kMediaTypeOciLayerGzip);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->diff_id, testing::Sha256Of(tar));
  EXPECT_EQ(r->digest, testing::Sha256Of(gz));
  EXPECT_EQ(r->compressed_size, static_cast<int64_t>(gz.size()));
  EXPECT_EQ(r->uncompressed_size, static_cast<int64_t>(tar.size()));

  ApplyOptions good;
  good.expected_diff_id = testing::Sha256Of(tar);
  good.expected_digest = testing::Sha256Of(gz);
  EXPECT_TRUE(ApplyTar(gz, tmp.Sub("b"), good, kMediaTypeOciLayerGzip).ok());

  ApplyOptions bad;
  bad.expected_diff_id = "sha256:" + std::string(64, '0');
  auto m = ApplyTar(gz, tmp.Sub("c"), bad, kMediaTypeOciLayerGzip);
  EXPECT_TRUE(absl::IsFailedPrecondition(m.status())) << m.status();
  EXPECT_THAT(m.status().message(), HasSubstr(*bad.expected_diff_id));
  EXPECT_THAT(m.status().message(), HasSubstr(testing::Sha256Of(tar)));
}

TEST(ApplyTest, TrailingPaddingIsPartOfDiffId) {
  TempDir tmp;
  std::string tar = TarBuilder().File("f", "x").Finish() + std::string(10240, '\0');
  auto r = ApplyTar(tar, tmp.path());
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->diff_id, testing::Sha256Of(tar));
}

TEST(ApplyTest, EntryOverSizeLimitIsRefusedByName) {
  TempDir tmp;
  ApplyOptions opts;
  opts.max_entry_size = 10;
  auto r = ApplyTar(TarBuilder().File("big", std::string(11, 'x')).Finish(), tmp.path(), opts);
  EXPECT_TRUE(absl::IsInvalidArgument(r.status())) << r.status();
  EXPECT_THAT(r.status().message(), HasSubstr("\"big\""));
  opts.max_entry_size = 1 << 20;
  opts.max_layer_size = 4096;
  r = ApplyTar(TarBuilder().File("a", std::string(8192, 'x')).Finish(), tmp.path(), opts);
  EXPECT_TRUE(absl::IsInvalidArgument(r.status())) << r.status();
}

TEST(ApplyTest, GarbageIsInvalidArgument) {
  TempDir tmp;
  auto r = ApplyTar(std::string(2048, 'z'), tmp.path());
  EXPECT_TRUE(absl::IsInvalidArgument(r.status())) << r.status();
}

TEST(ApplyTest, ReaderErrorsPropagateInBothThreadingModes) {
  std::string blob = testing::Gzip(TarBuilder().File("f", std::string(3 << 20, 'q')).Finish());
  for (bool threaded : {true, false}) {
    TempDir tmp;
    auto inner = StringReader(blob, 4096);
    size_t served = 0;
    Reader failing = [&](char* buf, size_t len) -> absl::StatusOr<size_t> {
      if (served > blob.size() / 2) return absl::UnavailableError("blob store went away");
      auto n = inner(buf, len);
      if (n.ok()) served += *n;
      return n;
    };
    ApplyOptions opts;
    opts.decompress_in_thread = threaded;
    auto r = Apply(failing, kMediaTypeOciLayerGzip, tmp.path(), opts);
    EXPECT_TRUE(absl::IsUnavailable(r.status())) << threaded << " " << r.status();
    EXPECT_THAT(r.status().message(), HasSubstr("blob store went away"));

    TempDir ok_dir;
    auto good = Apply(StringReader(blob, 5000), kMediaTypeOciLayerGzip, ok_dir.path(), opts);
    ASSERT_TRUE(good.ok()) << good.status();
    EXPECT_EQ(ReadAll(ok_dir.path() + "/f").size(), size_t{3} << 20);
  }
}

TEST(ApplyTest, MissingRootIsNotFound) {
  auto r = ApplyTar(TarBuilder().File("f", "x").Finish(), "/nonexistent/berth-diff-root");
  EXPECT_TRUE(absl::IsNotFound(r.status())) << r.status();
}

}  // namespace
}  // namespace berth::diff
