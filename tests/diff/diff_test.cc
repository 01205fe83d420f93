#include "plugins/diff/diff.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/diff/test_util.h"

namespace berth::diff {
namespace {

using testing::Exists;
using testing::StringReader;
using testing::StringWriter;
using testing::TarBuilder;
using testing::TempDir;

std::string BaseLayer() {
  return TarBuilder()
      .Dir("etc", {.mtime = 1000})
      .File("etc/passwd", "root:x:0:0\n", {.mtime = 1001, .mtime_nsec = 5})
      .File("etc/unchanged", "same", {.mtime = 1002, .mtime_nsec = 7})
      .Dir("var", {.mtime = 1003})
      .Dir("var/cache", {.mtime = 1004})
      .File("var/cache/a", "aaaa", {.mtime = 1005, .mtime_nsec = 1})
      .File("var/cache/b", "bbbb", {.mtime = 1006, .mtime_nsec = 1})
      .File("gone", "bye", {.mtime = 1007, .mtime_nsec = 1})
      .File("becomes_dir", "file", {.mtime = 1008, .mtime_nsec = 1})
      .Dir("becomes_file", {.mtime = 1009})
      .File("becomes_file/inner", "i", {.mtime = 1010, .mtime_nsec = 1})
      .Symlink("link", "etc/passwd", {.mtime = 1011})
      .Finish();
}

void Write(const std::string& path, const std::string& data, int mode = 0644) {
  ASSERT_TRUE(fs::WriteFileAtomic(path, data, mode).ok());
}

// Changes a tree the way a container would.
void Mutate(const std::string& u) {
  Write(u + "/etc/passwd", "root:x:0:0\nuser:x:1000:1000\n");
  Write(u + "/etc/new", "new file", 04755);
  ASSERT_EQ(::chmod((u + "/etc/new").c_str(), 04755), 0);
  ASSERT_EQ(::unlink((u + "/gone").c_str()), 0);
  ASSERT_TRUE(fs::RemoveAll(u + "/var/cache").ok());
  ASSERT_EQ(::unlink((u + "/becomes_dir").c_str()), 0);
  ASSERT_TRUE(fs::MkdirAll(u + "/becomes_dir/sub").ok());
  Write(u + "/becomes_dir/sub/f", "deep");
  ASSERT_TRUE(fs::RemoveAll(u + "/becomes_file").ok());
  Write(u + "/becomes_file", "now a file");
  Write(u + "/hl1", "shared");
  ASSERT_EQ(::link((u + "/hl1").c_str(), (u + "/hl2").c_str()), 0);
  ASSERT_EQ(::unlink((u + "/link").c_str()), 0);
  ASSERT_EQ(::symlink("/elsewhere", (u + "/link").c_str()), 0);
  ASSERT_EQ(::mkfifo((u + "/fifo").c_str(), 0600), 0);
  ::setxattr((u + "/etc/new").c_str(), "user.test", "v", 1, 0);  // may be unsupported
}

TEST(DiffTest, PlainDiffThenApplyReproducesTheTree) {
  TempDir tmp;
  std::string lower = tmp.Sub("lower"), upper = tmp.Sub("upper"), target = tmp.Sub("target");
  for (const std::string& dir : {lower, upper, target}) {
    ASSERT_TRUE(Apply(StringReader(BaseLayer()), "", dir, {}).ok());
  }
  Mutate(upper);
  std::string blob;
  auto d = Diff(lower, upper, Mode::kPlain, StringWriter(&blob));
  ASSERT_TRUE(d.ok()) << d.status();
  EXPECT_EQ(d->size, static_cast<int64_t>(blob.size()));
  EXPECT_EQ(d->digest, testing::Sha256Of(blob));
  EXPECT_EQ(d->media_type, kMediaTypeOciLayerGzip);

  ApplyOptions opts;
  opts.expected_diff_id = d->diff_id;
  opts.expected_digest = d->digest;
  auto a = Apply(StringReader(blob), d->media_type, target, opts);
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_EQ(testing::Tree(target), testing::Tree(upper));
  EXPECT_FALSE(Exists(target + "/var/cache"));
  EXPECT_EQ(testing::Lstat(target + "/hl1").st_ino, testing::Lstat(target + "/hl2").st_ino);
  EXPECT_EQ(testing::Lstat(target + "/etc/new").st_mode & 07777, 04755u);

  // Unchanged entries are not in the layer: applying it to an empty dir gives only changes.
  TempDir only;
  ASSERT_TRUE(Apply(StringReader(blob), d->media_type, only.path(), {}).ok());
  EXPECT_FALSE(Exists(only.path() + "/etc/unchanged"));
  EXPECT_TRUE(Exists(only.path() + "/etc/new"));
}

TEST(DiffTest, SameTreesGiveTheSameBytes) {
  TempDir tmp;
  std::string lower = tmp.Sub("lower"), upper = tmp.Sub("upper");
  ASSERT_TRUE(Apply(StringReader(BaseLayer()), "", lower, {}).ok());
  ASSERT_TRUE(Apply(StringReader(BaseLayer()), "", upper, {}).ok());
  Mutate(upper);
  for (Compression c : {Compression::kNone, Compression::kGzip, Compression::kZstd}) {
    std::string b1, b2;
    auto d1 = Diff(lower, upper, Mode::kPlain, StringWriter(&b1), {c});
    auto d2 = Diff(lower, upper, Mode::kPlain, StringWriter(&b2), {c});
    ASSERT_TRUE(d1.ok() && d2.ok());
    EXPECT_EQ(b1, b2);
    EXPECT_EQ(d1->diff_id, d2->diff_id);
    if (c == Compression::kNone) {
      EXPECT_EQ(d1->diff_id, d1->digest);
    }
  }
}

TEST(DiffTest, IdenticalTreesGiveAnEmptyLayer) {
  TempDir tmp;
  std::string lower = tmp.Sub("lower"), upper = tmp.Sub("upper");
  ASSERT_TRUE(Apply(StringReader(BaseLayer()), "", lower, {}).ok());
  ASSERT_TRUE(Apply(StringReader(BaseLayer()), "", upper, {}).ok());
  std::string blob;
  auto d = Diff(lower, upper, Mode::kPlain, StringWriter(&blob), {Compression::kNone});
  ASSERT_TRUE(d.ok()) << d.status();
  EXPECT_EQ(blob, std::string(1024, '\0')) << "just the end-of-archive marker";
}

TEST(DiffTest, FullTreeAgainstEmptyLowerRoundTrips) {
  TempDir tmp;
  std::string empty = tmp.Sub("empty"), full = tmp.Sub("full"), target = tmp.Sub("target");
  ASSERT_TRUE(Apply(StringReader(BaseLayer()), "", full, {}).ok());
  Mutate(full);
  std::string blob;
  auto d = Diff(empty, full, Mode::kPlain, StringWriter(&blob), {Compression::kZstd});
  ASSERT_TRUE(d.ok()) << d.status();
  auto a = Apply(StringReader(blob), d->media_type, target, {});
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_EQ(testing::Tree(target), testing::Tree(full));
}

TEST(DiffTest, MissingDirectoryIsNotFound) {
  std::string blob;
  auto d = Diff("/nonexistent/a", "/nonexistent/b", Mode::kPlain, StringWriter(&blob));
  EXPECT_TRUE(absl::IsNotFound(d.status())) << d.status();
}

}  // namespace
}  // namespace berth::diff
