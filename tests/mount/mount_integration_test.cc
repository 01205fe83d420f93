// Real mounts: needs root (CAP_SYS_ADMIN). Runs in a private mount namespace so nothing leaks.
#include <sched.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "core/fs.h"
#include "core/mount/mount.h"
#include "core/mount/mountinfo.h"
#include "core/mount/temp_mount.h"
#include "gtest/gtest.h"

namespace berth::mount {
namespace {

namespace stdfs = std::filesystem;

void WriteFile(const std::string& path, const std::string& data) {
  std::ofstream(path) << data;
}

std::string Slurp(const std::string& path) {
  auto r = fs::ReadFile(path);
  return r.ok() ? *r : std::string("<missing>");
}

class MountIntegration : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (::geteuid() != 0) return;
    // Private mount namespace for the whole test binary (single-threaded here).
    ASSERT_EQ(::unshare(CLONE_NEWNS), 0) << strerror(errno);
    ASSERT_EQ(::mount("", "/", "", MS_REC | MS_PRIVATE, nullptr), 0);
  }
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root (CAP_SYS_ADMIN) to mount";
    char tmpl[] = "/tmp/berth-mount-test-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override {
    if (dir_.empty()) return;
    EXPECT_TRUE(UnmountRecursive(dir_).ok());
    stdfs::remove_all(dir_);
  }
  std::string Mkdir(const std::string& rel) {
    std::string p = dir_ + "/" + rel;
    stdfs::create_directories(p);
    return p;
  }
  std::string dir_;
};

TEST_F(MountIntegration, TmpfsWithDataAndUnmount) {
  std::string t = Mkdir("t");
  ASSERT_TRUE(MountAll({{.type = "tmpfs", .source = "tmpfs", .options = {"size=1m", "nodev"}}}, t)
                  .ok());
  EXPECT_TRUE(*IsMountPoint(t));
  auto under = ListMountsUnder(dir_);
  ASSERT_TRUE(under.ok());
  ASSERT_EQ(under->size(), 1u);
  EXPECT_EQ((*under)[0].fs_type, "tmpfs");
  EXPECT_NE((*under)[0].options.find("nodev"), std::string::npos);
  ASSERT_TRUE(Unmount(t).ok());
  EXPECT_FALSE(*IsMountPoint(t));
  EXPECT_TRUE(absl::IsInvalidArgument(Unmount(t)));  // not a mount point any more
  EXPECT_TRUE(UnmountAll(t).ok());
}

TEST_F(MountIntegration, ReadOnlyBindIsReadOnly) {
  std::string src = Mkdir("src"), t = Mkdir("t");
  WriteFile(src + "/f", "hello");
  ASSERT_TRUE(MountAll({{.type = "bind", .source = src, .options = {"ro", "rbind"}}}, t).ok());
  EXPECT_EQ(Slurp(t + "/f"), "hello");
  std::ofstream out(t + "/g");
  EXPECT_FALSE(out.is_open());  // EROFS
  EXPECT_FALSE(stdfs::exists(src + "/g"));
  EXPECT_TRUE(UnmountAll(t).ok());
}

TEST_F(MountIntegration, StackedMountsAllUnmounted) {
  std::string t = Mkdir("t");
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(MountOne({.type = "tmpfs", .source = "tmpfs"}, t).ok());
  }
  EXPECT_TRUE(UnmountAll(t, {.detach = true}).ok());
  EXPECT_FALSE(*IsMountPoint(t));
}

TEST_F(MountIntegration, PropagationApplied) {
  std::string src = Mkdir("src"), t = Mkdir("t");
  ASSERT_TRUE(MountAll({{.type = "bind", .source = src, .options = {"rbind", "shared"}}}, t).ok());
  auto under = ListMountsUnder(t);
  ASSERT_TRUE(under.ok());
  ASSERT_FALSE(under->empty());
  bool shared = false;
  for (const auto& o : (*under)[0].optional) shared |= o.rfind("shared:", 0) == 0;
  EXPECT_TRUE(shared);
}

TEST_F(MountIntegration, OverlayWithLowerdirsLongerThanAPage) {
  // 150 layers with long names: more than 4096 bytes of lowerdir, needs the chdir trick.
  std::string base = Mkdir("a-rather-long-directory-name-to-blow-the-page-limit/snapshots");
  std::string lower;
  for (int i = 1; i <= 150; ++i) {
    std::string d = base + "/" + std::to_string(i) + "/fs";
    stdfs::create_directories(d);
    WriteFile(d + "/layer" + std::to_string(i), std::to_string(i));
    lower = d + (lower.empty() ? "" : ":" + lower);
  }
  std::string upper = Mkdir("upper"), work = Mkdir("work"), t = Mkdir("t");
  Mount m{.type = "overlay",
          .source = "overlay",
          .options = {"workdir=" + work, "upperdir=" + upper, "lowerdir=" + lower}};
  ASSERT_GT(ParseOptions(m.options).DataString().size(), MaxMountDataLength());
  char cwd_before[4096];
  ASSERT_NE(::getcwd(cwd_before, sizeof(cwd_before)), nullptr);
  absl::Status st = MountAll({m}, t);
  ASSERT_TRUE(st.ok()) << st;
  char cwd_after[4096];
  ASSERT_NE(::getcwd(cwd_after, sizeof(cwd_after)), nullptr);
  EXPECT_STREQ(cwd_before, cwd_after);
  EXPECT_EQ(Slurp(t + "/layer1"), "1");
  EXPECT_EQ(Slurp(t + "/layer150"), "150");
  WriteFile(t + "/new", "x");
  EXPECT_TRUE(stdfs::exists(upper + "/new"));
  EXPECT_TRUE(UnmountAll(t).ok());
}

TEST_F(MountIntegration, OverlayTooLongEvenWhenRelativeUsesFsconfig) {
  // 120 layers whose relative paths alone exceed a page: only "lowerdir+" can mount this.
  std::string base = Mkdir("s");
  std::string lower;
  const std::string long_name(40, 'n');
  for (int i = 1; i <= 120; ++i) {
    std::string d = base + "/" + std::to_string(i) + "/" + long_name + "/fs";
    stdfs::create_directories(d);
    WriteFile(d + "/layer" + std::to_string(i), std::to_string(i));
    lower = d + (lower.empty() ? "" : ":" + lower);
  }
  Mount m{.type = "overlay", .source = "overlay", .options = {"ro", "lowerdir=" + lower}};
  ASSERT_GT(CompactLowerdirs(ParseOptions(m.options).DataString()).data.size(),
            MaxMountDataLength());
  std::string t = Mkdir("t");
  absl::Status st = MountAll({m}, t);
  ASSERT_TRUE(st.ok()) << st;
  EXPECT_EQ(Slurp(t + "/layer1"), "1");
  EXPECT_EQ(Slurp(t + "/layer120"), "120");
  std::ofstream out(t + "/new");
  EXPECT_FALSE(out.is_open());  // "ro" became MOUNT_ATTR_RDONLY
  EXPECT_TRUE(UnmountAll(t).ok());
}

TEST_F(MountIntegration, MountAllRollsBackOnFailure) {
  std::string src = Mkdir("src"), t = Mkdir("t");
  absl::Status st = MountAll({{.type = "tmpfs", .source = "tmpfs"},
                              {.type = "bind", .source = src + "/missing", .options = {"rbind"}}},
                             t);
  EXPECT_FALSE(st.ok());
  EXPECT_FALSE(*IsMountPoint(t));
}

TEST_F(MountIntegration, TempMountAlwaysCleansUp) {
  std::string src = Mkdir("src"), parent = Mkdir("tmp");
  WriteFile(src + "/f", "data");
  std::string seen;
  absl::Status st = WithTempMount(
      {{.type = "bind", .source = src, .options = {"ro", "rbind"}}},
      [&](const std::string& root) {
        seen = root;
        EXPECT_EQ(Slurp(root + "/f"), "data");
        return absl::InternalError("fn failed");
      },
      parent);
  EXPECT_TRUE(absl::IsInternal(st));
  EXPECT_FALSE(seen.empty());
  EXPECT_FALSE(stdfs::exists(seen));
  {
    auto tm = TempMount::Create({{.type = "tmpfs", .source = "tmpfs"}}, parent);
    ASSERT_TRUE(tm.ok()) << tm.status();
    seen = (*tm)->path();
    EXPECT_TRUE(*IsMountPoint(seen));
  }  // destructor
  EXPECT_FALSE(stdfs::exists(seen));
  auto bad = TempMount::Create({{.type = "bind", .source = src + "/nope", .options = {"rbind"}}},
                               parent);
  EXPECT_FALSE(bad.ok());
  EXPECT_TRUE(stdfs::is_empty(parent));  // failed Create left no directory behind
}

}  // namespace
}  // namespace berth::mount
