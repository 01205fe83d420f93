#include "core/fs.h"

#include <pthread.h>
#include <stdlib.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <random>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"

namespace berth::fs {
namespace {

class FsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/berth-fs-test.XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { ASSERT_TRUE(RemoveAll(dir_).ok()); }
  std::string dir_;
};

TEST_F(FsTest, AtomicWriteReplacesContent) {
  std::string path = dir_ + "/file";
  ASSERT_TRUE(WriteFileAtomic(path, "one").ok());
  ASSERT_TRUE(WriteFileAtomic(path, "two", 0600).ok());
  auto got = ReadFile(path);
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(*got, "two");
  struct stat st;
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
}

TEST_F(FsTest, ReplaceWritesContentAndModeAndLeavesNoTempFile) {
  std::string path = dir_ + "/state.json";
  ASSERT_TRUE(WriteFileReplace(path, "one").ok());
  ASSERT_TRUE(WriteFileReplace(path, "two", 0600).ok());
  EXPECT_EQ(ReadFile(path).value(), "two");
  struct stat st;
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  // A directory that is not there: an error naming the file, nothing left behind.
  absl::Status missing = WriteFileReplace(dir_ + "/nodir/x", "y");
  EXPECT_EQ(missing.code(), absl::StatusCode::kNotFound) << missing;
  EXPECT_NE(missing.message().find("nodir/x.tmp-"), std::string::npos) << missing;
  int entries = 0;
  for (const auto& e : std::filesystem::directory_iterator(dir_)) entries += e.exists();
  EXPECT_EQ(entries, 1);
}

TEST_F(FsTest, ReadMissingIsNotFound) {
  EXPECT_EQ(ReadFile(dir_ + "/nope").status().code(), absl::StatusCode::kNotFound);
}

TEST_F(FsTest, ReadsLargeEmptyAndProcFiles) {
  std::string big(300'000, '\0');
  std::mt19937 rng(7);
  for (char& c : big) c = static_cast<char>(rng());
  ASSERT_TRUE(WriteFileAtomic(dir_ + "/big", big).ok());
  EXPECT_EQ(ReadFile(dir_ + "/big").value(), big);
  ASSERT_TRUE(WriteFileAtomic(dir_ + "/empty", "").ok());
  EXPECT_EQ(ReadFile(dir_ + "/empty").value(), "");
  auto self = ReadFile("/proc/self/status");  // st_size 0: read until EOF
  ASSERT_TRUE(self.ok());
  EXPECT_NE(self->find("Pid:"), std::string::npos);
}

// The shim's reaper calls ReadFile on a 64 KiB stack. Give it exactly that, with nothing but
// PROT_NONE below: a large stack buffer would reach past the stack (read() then fails with
// EFAULT; in the shim it silently wrote into a neighbouring thread's memory).
TEST_F(FsTest, ReadFileFitsInASmallThreadStack) {
  constexpr size_t kStack = 64 * 1024, kNoMansLand = 1024 * 1024;
  void* region = ::mmap(nullptr, kNoMansLand + kStack, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  ASSERT_NE(region, MAP_FAILED);
  char* stack = static_cast<char*>(region) + kNoMansLand;
  ASSERT_EQ(::mprotect(stack, kStack, PROT_READ | PROT_WRITE), 0);
  struct Job {
    std::string path;
    absl::StatusOr<std::string> got = absl::UnknownError("not run");
  } job{dir_ + "/small"};
  ASSERT_TRUE(WriteFileAtomic(job.path, "12345\n").ok());
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setstack(&attr, stack, kStack);
  pthread_t tid;
  ASSERT_EQ(pthread_create(
                &tid, &attr,
                [](void* arg) -> void* {
                  auto* j = static_cast<Job*>(arg);
                  j->got = ReadFile(j->path);
                  return nullptr;
                },
                &job),
            0);
  pthread_join(tid, nullptr);
  pthread_attr_destroy(&attr);
  ::munmap(region, kNoMansLand + kStack);
  ASSERT_TRUE(job.got.ok()) << job.got.status();
  EXPECT_EQ(*job.got, "12345\n");
}

TEST_F(FsTest, MkdirAllCreatesChainAndAcceptsExisting) {
  std::string deep = dir_ + "/a/b/c";
  ASSERT_TRUE(MkdirAll(deep).ok());
  ASSERT_TRUE(MkdirAll(deep).ok());
  ASSERT_TRUE(WriteFileAtomic(dir_ + "/f", "x").ok());
  EXPECT_EQ(MkdirAll(dir_ + "/f").code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_FALSE(MkdirAll(dir_ + "/f/g/h").ok());  // under a file: ENOTDIR
  struct stat st;
  ASSERT_TRUE(MkdirAll(dir_ + "/t/u//v/").ok());
  ASSERT_EQ(stat((dir_ + "/t/u/v").c_str(), &st), 0);
  EXPECT_TRUE(S_ISDIR(st.st_mode));
}

TEST_F(FsTest, RemoveAllRemovesATreeWithoutFollowingSymlinks) {
  std::string outside = dir_ + "/outside";
  ASSERT_TRUE(MkdirAll(outside).ok());
  ASSERT_TRUE(WriteFileReplace(outside + "/keep", "x").ok());
  std::string tree = dir_ + "/tree";
  ASSERT_TRUE(MkdirAll(tree + "/a/b/c").ok());
  ASSERT_TRUE(WriteFileReplace(tree + "/a/b/c/f", "x").ok());
  ASSERT_TRUE(WriteFileReplace(tree + "/a/g", "x").ok());
  ASSERT_EQ(::symlink(outside.c_str(), (tree + "/a/link").c_str()), 0);
  ASSERT_EQ(::mkfifo((tree + "/a/b/fifo").c_str(), 0600), 0);
  ASSERT_EQ(::chmod((tree + "/a/b").c_str(), 0), 0);  // no permission bits: root still removes

  ASSERT_TRUE(RemoveAll(tree).ok());
  EXPECT_FALSE(std::filesystem::exists(tree));
  EXPECT_TRUE(ReadFile(outside + "/keep").ok());  // the symlink went, not its target
  EXPECT_TRUE(RemoveAll(tree).ok()) << "absent is fine";
  ASSERT_TRUE(WriteFileReplace(tree, "a file").ok());
  EXPECT_TRUE(RemoveAll(tree).ok());
  EXPECT_FALSE(std::filesystem::exists(tree));
}

TEST_F(FsTest, RemoveAllHandlesDeepNesting) {
  // Deeper than a recursive walk's stack would like; each level opened relative to the last.
  // On tmpfs when there is one: this VM's root (ext4, online discard) spends ~1 ms per rmdir.
  std::string base = std::filesystem::is_directory("/dev/shm") ? "/dev/shm" : dir_;
  std::string tree = absl::StrCat(base, "/berth-fs-deep.", ::getpid());
  ASSERT_EQ(::mkdir(tree.c_str(), 0755), 0);
  int fd = ::open(tree.c_str(), O_RDONLY | O_DIRECTORY);
  for (int i = 0; i < 3000 && fd >= 0; ++i) {
    ASSERT_EQ(::mkdirat(fd, "d", 0755), 0);
    int next = ::openat(fd, "d", O_RDONLY | O_DIRECTORY);
    ::close(fd);
    fd = next;
  }
  ASSERT_GE(fd, 0);
  ::close(fd);
  absl::Status st = RemoveAll(tree);
  EXPECT_TRUE(st.ok()) << st;
  EXPECT_FALSE(std::filesystem::exists(tree));
}

TEST_F(FsTest, RemoveAllLeavesMountsAlone) {
  if (::geteuid() != 0) GTEST_SKIP() << "mounting needs root";
  std::string tree = dir_ + "/tree";
  ASSERT_TRUE(MkdirAll(tree + "/mnt").ok());
  ASSERT_TRUE(MkdirAll(tree + "/bind").ok());
  ASSERT_TRUE(MkdirAll(dir_ + "/elsewhere").ok());
  ASSERT_TRUE(WriteFileReplace(dir_ + "/elsewhere/keep", "x").ok());
  ASSERT_TRUE(WriteFileReplace(tree + "/sibling", "x").ok());
  ASSERT_EQ(::mount("tmpfs", (tree + "/mnt").c_str(), "tmpfs", 0, "size=1m"), 0);
  ASSERT_TRUE(WriteFileReplace(tree + "/mnt/keep", "x").ok());
  // A bind mount of the same filesystem has the same st_dev: only the mount-root flag shows it.
  ASSERT_EQ(::mount((dir_ + "/elsewhere").c_str(), (tree + "/bind").c_str(), nullptr, MS_BIND,
                    nullptr),
            0);

  absl::Status st = RemoveAll(tree);
  EXPECT_EQ(st.code(), absl::StatusCode::kFailedPrecondition) << st;
  EXPECT_NE(st.message().find("is a mount point"), std::string::npos) << st;
  EXPECT_TRUE(ReadFile(tree + "/mnt/keep").ok());
  EXPECT_TRUE(ReadFile(dir_ + "/elsewhere/keep").ok());
  EXPECT_FALSE(std::filesystem::exists(tree + "/sibling"));
  ASSERT_EQ(::umount2((tree + "/mnt").c_str(), 0), 0);
  ASSERT_EQ(::umount2((tree + "/bind").c_str(), 0), 0);
  EXPECT_TRUE(RemoveAll(tree).ok());
}

TEST(Dirname, Cases) {
  EXPECT_EQ(Dirname("/a/b"), "/a");
  EXPECT_EQ(Dirname("/a"), "/");
  EXPECT_EQ(Dirname("b"), ".");
}

}  // namespace
}  // namespace berth::fs
