#include <sys/mount.h>

#include <string>

#include "core/mount/mount.h"
#include "gtest/gtest.h"

namespace berth::mount {
namespace {

TEST(ParseOptions, FlagsAndData) {
  ParsedOptions p = ParseOptions({"ro", "nosuid", "nodev", "size=65536k", "mode=755"});
  EXPECT_EQ(p.flags, static_cast<unsigned long>(MS_RDONLY | MS_NOSUID | MS_NODEV));
  EXPECT_EQ(p.propagation, 0u);
  EXPECT_EQ(p.DataString(), "size=65536k,mode=755");
}

TEST(ParseOptions, LaterWordClearsEarlier) {
  EXPECT_EQ(ParseOptions({"ro", "rw"}).flags, 0u);
  EXPECT_EQ(ParseOptions({"rw", "ro"}).flags, static_cast<unsigned long>(MS_RDONLY));
  EXPECT_EQ(ParseOptions({"nosuid", "suid", "noexec"}).flags,
            static_cast<unsigned long>(MS_NOEXEC));
  EXPECT_EQ(ParseOptions({"noatime", "atime"}).flags, 0u);
}

TEST(ParseOptions, BindAndRbind) {
  EXPECT_EQ(ParseOptions({"bind"}).flags, static_cast<unsigned long>(MS_BIND));
  EXPECT_EQ(ParseOptions({"rbind", "ro"}).flags,
            static_cast<unsigned long>(MS_BIND | MS_REC | MS_RDONLY));
  EXPECT_TRUE(ParseOptions({"rbind"}).data.empty());
}

TEST(ParseOptions, Propagation) {
  ParsedOptions p = ParseOptions({"rbind", "rprivate"});
  EXPECT_EQ(p.propagation, static_cast<unsigned long>(MS_PRIVATE | MS_REC));
  EXPECT_EQ(ParseOptions({"shared"}).propagation, static_cast<unsigned long>(MS_SHARED));
  EXPECT_EQ(ParseOptions({"rslave"}).propagation, static_cast<unsigned long>(MS_SLAVE | MS_REC));
  EXPECT_EQ(ParseOptions({"unbindable"}).propagation,
            static_cast<unsigned long>(MS_UNBINDABLE));
  EXPECT_TRUE(p.data.empty());
}

TEST(ParseOptions, OverlayDataKeptInOrder) {
  ParsedOptions p = ParseOptions(
      {"index=off", "workdir=/w", "upperdir=/u", "lowerdir=/l1:/l2", "defaults"});
  EXPECT_EQ(p.flags, 0u);
  EXPECT_EQ(p.DataString(), "index=off,workdir=/w,upperdir=/u,lowerdir=/l1:/l2");
}

TEST(CompactLowerdirs, CommonParentBecomesChdir) {
  CompactedData c = CompactLowerdirs(
      "index=off,workdir=/root/snapshots/3/work,upperdir=/root/snapshots/3/fs,"
      "lowerdir=/root/snapshots/2/fs:/root/snapshots/1/fs:/root/snapshots/10/fs");
  EXPECT_EQ(c.chdir, "/root/snapshots");
  EXPECT_EQ(c.data,
            "index=off,workdir=/root/snapshots/3/work,upperdir=/root/snapshots/3/fs,"
            "lowerdir=2/fs:1/fs:10/fs");
}

TEST(CompactLowerdirs, PartialComponentIsNotCommon) {
  // "/data/ab" and "/data/ac" share "/data/a" textually but only "/data/" as a directory.
  CompactedData c = CompactLowerdirs("lowerdir=/data/ab/fs:/data/ac/fs");
  EXPECT_EQ(c.chdir, "/data");
  EXPECT_EQ(c.data, "lowerdir=ab/fs:ac/fs");
}

TEST(CompactLowerdirs, NothingToDo) {
  EXPECT_EQ(CompactLowerdirs("size=1k").chdir, "");
  EXPECT_EQ(CompactLowerdirs("lowerdir=/a:/b").chdir, "");
  EXPECT_EQ(CompactLowerdirs("lowerdir=rel:/b").chdir, "");
}

TEST(CompactLowerdirs, LongChainFitsAPage) {
  std::string lower;
  for (int i = 500; i > 0; --i) {
    if (!lower.empty()) lower += ":";
    lower += "/var/lib/berth/io.containerd.snapshotter.v1.overlayfs/snapshots/" +
             std::to_string(i) + "/fs";
  }
  std::string data = "lowerdir=" + lower;
  ASSERT_GT(data.size(), MaxMountDataLength());
  CompactedData c = CompactLowerdirs(data);
  EXPECT_EQ(c.chdir, "/var/lib/berth/io.containerd.snapshotter.v1.overlayfs/snapshots");
  EXPECT_LE(c.data.size(), MaxMountDataLength());
  EXPECT_EQ(c.data.rfind("lowerdir=500/fs:499/fs:", 0), 0u);
}

TEST(MountOne, RejectsEmptyType) {
  EXPECT_TRUE(absl::IsInvalidArgument(MountOne(Mount{.type = "", .source = "x"}, "/nowhere")));
}

}  // namespace
}  // namespace berth::mount
