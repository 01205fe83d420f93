// berth::rocks::Database: opening, error mapping, and surviving a failed write at close.
#include "core/rocks/database.h"

#include <atomic>
#include <filesystem>

#include "core/rocks/status.h"
#include "gtest/gtest.h"
#include "rocksdb/file_system.h"

namespace berth::rocks {
namespace {

// Local files whose appends fail with ENOSPC while `full` is set: a disk that filled up.
class FillableDisk : public rocksdb::FileSystemWrapper {
 public:
  FillableDisk() : FileSystemWrapper(rocksdb::FileSystem::Default()) {}
  const char* Name() const override { return "FillableDisk"; }

  std::atomic<bool> full{false};

  rocksdb::IOStatus NewWritableFile(const std::string& f, const rocksdb::FileOptions& o,
                                    std::unique_ptr<rocksdb::FSWritableFile>* r,
                                    rocksdb::IODebugContext* d) override {
    auto s = target()->NewWritableFile(f, o, r, d);
    if (s.ok()) *r = std::make_unique<File>(std::move(*r), &full);
    return s;
  }

 private:
  class File : public rocksdb::FSWritableFileOwnerWrapper {
   public:
    File(std::unique_ptr<rocksdb::FSWritableFile> f, std::atomic<bool>* full)
        : FSWritableFileOwnerWrapper(std::move(f)), full_(full) {}
    rocksdb::IOStatus Append(const rocksdb::Slice& data, const rocksdb::IOOptions& o,
                             rocksdb::IODebugContext* d) override {
      if (full_->load()) return rocksdb::IOStatus::NoSpace("injected: disk full");
      return FSWritableFileOwnerWrapper::Append(data, o, d);
    }

   private:
    std::atomic<bool>* full_;
  };
};

class RocksDatabaseTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("berth-rocks-test-" + std::to_string(::getpid()));
    std::filesystem::remove_all(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  static rocksdb::Status Put(Database& db, const std::string& k, const std::string& v) {
    rocksdb::WriteOptions wo;
    wo.sync = true;
    return db.get()->Put(wo, k, v);
  }
  static std::string Read(Database& db, const std::string& k) {
    std::string v;
    auto s = db.get()->Get(rocksdb::ReadOptions(), k, &v);
    return s.ok() ? v : s.ToString();
  }

  std::filesystem::path dir_;
};

TEST_F(RocksDatabaseTest, OpensWritesAndReopens) {
  {
    auto db = Database::Open(dir_);
    ASSERT_TRUE(db.ok()) << db.status();
    ASSERT_TRUE(Put(**db, "k", "v").ok());
  }
  auto db = Database::Open(dir_);
  ASSERT_TRUE(db.ok()) << db.status();
  EXPECT_EQ(Read(**db, "k"), "v");
}

TEST_F(RocksDatabaseTest, SecondOpenOfTheSameDirectoryIsUnavailable) {
  auto first = Database::Open(dir_);
  ASSERT_TRUE(first.ok()) << first.status();
  auto second = Database::Open(dir_);
  EXPECT_EQ(second.status().code(), absl::StatusCode::kUnavailable) << second.status();
}

// A WAL append failed (the disk filled): closing must not abort (Debian's librocksdb keeps its
// assertions) nor lose an acknowledged write.
TEST_F(RocksDatabaseTest, AFailedWriteDoesNotAbortTheCloseAndLosesNothing) {
  auto disk = std::make_shared<FillableDisk>();
  {
    auto db = Database::Open(dir_, {.file_system = disk});
    ASSERT_TRUE(db.ok()) << db.status();
    ASSERT_TRUE(Put(**db, "before", "1").ok());
    disk->full = true;
    rocksdb::Status s = Put(**db, "during", "2");
    ASSERT_FALSE(s.ok());
    EXPECT_EQ(FromRocks(s, "put").code(), absl::StatusCode::kResourceExhausted) << s.ToString();
    disk->full = false;
  }
  auto db = Database::Open(dir_);
  ASSERT_TRUE(db.ok()) << db.status();
  EXPECT_EQ(Read(**db, "before"), "1");
}

// RocksDB's info log goes to ours: no LOG file a full disk could poison.
TEST_F(RocksDatabaseTest, WritesNoInfoLogFile) {
  auto db = Database::Open(dir_);
  ASSERT_TRUE(db.ok()) << db.status();
  ASSERT_TRUE(Put(**db, "k", "v").ok());
  for (const auto& entry : std::filesystem::directory_iterator(dir_)) {
    EXPECT_NE(entry.path().filename().string().rfind("LOG", 0), 0u) << entry.path();
  }
}

TEST(RocksStatusTest, MapsCodes) {
  EXPECT_TRUE(FromRocks(rocksdb::Status::OK(), "x").ok());
  EXPECT_EQ(FromRocks(rocksdb::Status::NotFound("k"), "get k").code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(FromRocks(rocksdb::Status::Busy(), "x").code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(FromRocks(rocksdb::Status::Corruption("bad block"), "x").code(),
            absl::StatusCode::kInternal);
  EXPECT_EQ(FromRocks(rocksdb::Status::Corruption("bad block"), "read x").message(),
            "read x: Corruption: bad block");
}

}  // namespace
}  // namespace berth::rocks
