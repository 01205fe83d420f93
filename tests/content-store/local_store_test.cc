// The local store: the conformance suite plus what only a directory-backed store has (layout,
// permissions, checkpointed hash resume, cleaning after a crash).
#include "content-store/local_store.h"

#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "absl/strings/str_cat.h"
#include "content-store/ingest.h"
#include "content-store/local_writer.h"
#include "core/fs.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/content-store/conformance.h"

namespace berth::content {
namespace {

using testing::ContentStoreConformance;
using testing::ContentStoreFactory;
using testing::TestData;

INSTANTIATE_TEST_SUITE_P(
    Local, ContentStoreConformance,
    ::testing::Values(
        ContentStoreFactory{"Local",
                            [](const std::string& root)
                                -> absl::StatusOr<std::unique_ptr<ContentStore>> {
                              auto s = LocalStore::Open(root);
                              if (!s.ok()) return s.status();
                              return std::unique_ptr<ContentStore>(std::move(*s));
                            }},
        // Tiny checkpoint interval: every conformance test also exercises checkpointing.
        ContentStoreFactory{"LocalSmallCheckpoints",
                            [](const std::string& root)
                                -> absl::StatusOr<std::unique_ptr<ContentStore>> {
                              auto s = LocalStore::Open(root, {.checkpoint_interval = 10000});
                              if (!s.ok()) return s.status();
                              return std::unique_ptr<ContentStore>(std::move(*s));
                            }},
        ContentStoreFactory{"LocalBuffered",
                            [](const std::string& root)
                                -> absl::StatusOr<std::unique_ptr<ContentStore>> {
                              auto s = LocalStore::Open(root, {.direct_io = false});
                              if (!s.ok()) return s.status();
                              return std::unique_ptr<ContentStore>(std::move(*s));
                            }}),
    testing::FactoryName);

bool Exists(const std::string& p) { return ::access(p.c_str(), F_OK) == 0; }

class LocalStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/berth-local-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    root_ = tmpl;
  }
  void TearDown() override { (void)fs::RemoveAll(root_); }

  // Buffered I/O unless asked: these tests look at the data file while a writer is open.
  std::unique_ptr<LocalStore> Open(int64_t interval = int64_t{1} << 20, bool background = false,
                                   bool direct = false) {
    auto s = LocalStore::Open(root_, {.checkpoint_interval = interval,
                                      .background_checkpoints = background,
                                      .direct_io = direct});
    EXPECT_TRUE(s.ok()) << s.status();
    return s.ok() ? *std::move(s) : nullptr;
  }
  std::string IngestDir(absl::string_view ref) {
    return absl::StrCat(root_, "/ingest/", ingest::DirName(ref));
  }

  std::string root_;
};

TEST_F(LocalStoreTest, Layout) {
  auto store = Open();
  Digest d = Digest::Sha256Of("layout");
  auto w = *store->OpenWriter("my-ref", 6, d);
  ASSERT_TRUE(w->Append("lay").ok());
  std::string dir = IngestDir("my-ref");
  EXPECT_EQ(ingest::DirName("my-ref"), Digest::Sha256Of("my-ref").hex());
  EXPECT_EQ(*fs::ReadFile(dir + "/ref"), "my-ref");
  EXPECT_EQ(*fs::ReadFile(dir + "/total"), "6");
  EXPECT_EQ(*fs::ReadFile(dir + "/expected"), d.str());
  EXPECT_EQ(*fs::ReadFile(dir + "/data"), "lay");
  EXPECT_TRUE(Exists(dir + "/startedat"));
  EXPECT_TRUE(Exists(dir + "/updatedat"));
  ASSERT_TRUE(w->Append("out").ok());
  ASSERT_TRUE(w->Commit(6, d).ok());
  std::string blob = absl::StrCat(root_, "/blobs/sha256/", d.hex());
  EXPECT_EQ(store->BlobPath(d), blob);
  EXPECT_EQ(*fs::ReadFile(blob), "layout");
  struct stat st;
  ASSERT_EQ(::stat(blob.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0444u);
  EXPECT_FALSE(Exists(dir));
}

TEST_F(LocalStoreTest, ResumeAfterCrashHashesOnlyTheTail) {
  constexpr int64_t kMiB = 1 << 20;
  std::string data = TestData(6 * kMiB, 7);
  Digest d = Digest::Sha256Of(data);
  const int64_t written = 5 * kMiB + 256 * 1024;  // last checkpoint at 5 MiB
  {
    auto store = Open(kMiB);
    auto w = *store->OpenWriter("crash", data.size(), d);
    for (int64_t off = 0; off < written; off += 128 * 1024) {
      ASSERT_TRUE(w->Append(absl::string_view(data).substr(off, 128 * 1024)).ok());
    }
    EXPECT_EQ(store->BytesHashedForTest(), written);
    dynamic_cast<LocalWriter&>(*w).CrashForTest();  // no checkpoint at close
  }
  auto store = Open(kMiB);
  auto w = *store->OpenWriter("crash", data.size(), d);
  EXPECT_EQ(w->Offset(), written);
  EXPECT_EQ(store->BytesHashedForTest(), 256 * 1024) << "resume must hash only past 5 MiB";
  EXPECT_EQ(w->CurrentDigest(), Digest::Sha256Of(absl::string_view(data).substr(0, written)));
  ASSERT_TRUE(w->Append(absl::string_view(data).substr(written)).ok());
  ASSERT_TRUE(w->Commit(data.size(), d).ok());
  EXPECT_EQ(*fs::ReadFile(store->BlobPath(d)), data);
}

TEST_F(LocalStoreTest, BackgroundCheckpointsAlsoShortenResume) {
  constexpr int64_t kMiB = 1 << 20;
  std::string data = TestData(8 * kMiB, 11);
  {
    auto store = Open(kMiB, /*background=*/true);
    auto w = *store->OpenWriter("bg", 0, Digest());
    for (int64_t off = 0; off < 8 * kMiB; off += 256 * 1024) {
      ASSERT_TRUE(w->Append(absl::string_view(data).substr(off, 256 * 1024)).ok());
    }
    dynamic_cast<LocalWriter&>(*w).CrashForTest();
  }
  auto store = Open(kMiB);
  auto w = *store->OpenWriter("bg", 0, Digest());
  // At least the first checkpoint (started at 1 MiB) completed before the crash.
  EXPECT_LE(store->BytesHashedForTest(), 7 * kMiB);
  EXPECT_EQ(w->CurrentDigest(), Digest::Sha256Of(data));
}

TEST_F(LocalStoreTest, DirectIoCrashLosesOnlyStagedBytes) {
  constexpr int64_t kMiB = 1 << 20;
  std::string data = TestData(6 * kMiB, 12);
  Digest d = Digest::Sha256Of(data);
  const int64_t written = 5 * kMiB + 256 * 1024 + 123;
  {
    auto store = Open(kMiB, /*background=*/false, /*direct=*/true);
    auto w = *store->OpenWriter("direct-crash", data.size(), d);
    for (int64_t off = 0; off < written;) {
      int64_t n = std::min<int64_t>(128 * 1024 + 7, written - off);
      ASSERT_TRUE(w->Append(absl::string_view(data).substr(off, n)).ok());
      off += n;
    }
    EXPECT_EQ(store->Status("direct-crash")->offset, written);  // live, staged bytes included
    dynamic_cast<LocalWriter&>(*w).CrashForTest();
  }
  auto store = Open(kMiB, false, true);
  auto w = *store->OpenWriter("direct-crash", data.size(), d);
  // Checkpoints (every ~1 MiB of 128 KiB+7 writes) flush the staging buffer; the bytes staged
  // after the last one (less than 1 MiB + one write, within one 4 MiB buffer) die with the
  // process, so the file ends exactly at that checkpoint and nothing needs re-hashing.
  const int64_t resumed = w->Offset();
  EXPECT_GT(resumed, written - kMiB - 128 * 1024 - 7);
  EXPECT_LE(resumed, written);
  EXPECT_EQ(store->BytesHashedForTest(), 0);
  EXPECT_EQ(w->CurrentDigest(), Digest::Sha256Of(absl::string_view(data).substr(0, resumed)));
  ASSERT_TRUE(w->Append(absl::string_view(data).substr(resumed)).ok());
  ASSERT_TRUE(w->Commit(data.size(), d).ok());
  EXPECT_EQ(*fs::ReadFile(store->BlobPath(d)), data);
}

TEST_F(LocalStoreTest, DirectIoUnalignedResumesAndRestarts) {
  std::string data = TestData((9 << 20) + 4321, 13);
  Digest d = Digest::Sha256Of(data);
  // Stop and resume at unaligned offsets (the partial block is carried), across buffer sizes.
  const size_t stops[] = {1, 10000, 4096 * 3, (4 << 20) + 5, (8 << 20) - 1, data.size()};
  size_t off = 0;
  for (size_t stop : stops) {
    auto store = Open(int64_t{1} << 30, false, true);
    auto w = *store->OpenWriter("direct-resume", 0, Digest());
    ASSERT_EQ(w->Offset(), static_cast<int64_t>(off));
    while (off < stop) {
      size_t n = std::min<size_t>(300001, stop - off);
      ASSERT_TRUE(w->Append(absl::string_view(data).substr(off, n)).ok());
      off += n;
    }
    if (stop == data.size()) {
      ASSERT_TRUE(w->Commit(data.size(), d).ok());
    } else {
      ASSERT_TRUE(w->Close().ok());
      EXPECT_EQ(*fs::ReadFile(IngestDir("direct-resume") + "/data"), data.substr(0, off));
    }
  }
  EXPECT_EQ(*fs::ReadFile(absl::StrCat(root_, "/blobs/sha256/", d.hex())), data);
  // Restart (write at 0) after direct writes, then a short blob.
  auto store = Open(int64_t{1} << 30, false, true);
  auto w = *store->OpenWriter("direct-restart", 0, Digest());
  ASSERT_TRUE(w->Append(absl::string_view(data).substr(0, 5 << 20)).ok());
  ASSERT_TRUE(w->Write(0, "short").ok());
  ASSERT_TRUE(w->Commit(5, Digest::Sha256Of("short")).ok());
  EXPECT_EQ(*fs::ReadFile(store->BlobPath(Digest::Sha256Of("short"))), "short");
}

TEST_F(LocalStoreTest, ResumeAfterCloseHashesNothing) {
  std::string data = TestData(3 << 20, 8);
  {
    auto store = Open();
    auto w = *store->OpenWriter("closed", 0, Digest());
    ASSERT_TRUE(w->Append(data).ok());
    ASSERT_TRUE(w->Close().ok());
  }
  auto store = Open();
  auto w = *store->OpenWriter("closed", 0, Digest());
  EXPECT_EQ(store->BytesHashedForTest(), 0);
  EXPECT_EQ(w->CurrentDigest(), Digest::Sha256Of(data));
}

TEST_F(LocalStoreTest, CorruptOrStaleCheckpointFallsBackToFullHash) {
  std::string data = TestData(2 << 20, 9);
  {
    auto store = Open();
    auto w = *store->OpenWriter("corrupt", 0, Digest());
    ASSERT_TRUE(w->Append(data).ok());
  }
  std::string state = IngestDir("corrupt") + "/hashstate";
  ASSERT_TRUE(Exists(state));
  std::string saved = *fs::ReadFile(state);
  ASSERT_TRUE(fs::WriteFileAtomic(state, "garbage").ok());
  {
    auto store = Open();
    auto w = *store->OpenWriter("corrupt", 0, Digest());
    EXPECT_EQ(store->BytesHashedForTest(), static_cast<int64_t>(data.size()));
    EXPECT_EQ(w->CurrentDigest(), Digest::Sha256Of(data));
    ASSERT_TRUE(w->Close().ok());
  }
  // A checkpoint claiming more bytes than data holds is ignored too.
  ASSERT_TRUE(fs::WriteFileAtomic(state, saved).ok());
  ASSERT_EQ(::truncate((IngestDir("corrupt") + "/data").c_str(), 1000), 0);
  auto store = Open();
  auto w = *store->OpenWriter("corrupt", 0, Digest());
  EXPECT_EQ(store->BytesHashedForTest(), 1000);
  EXPECT_EQ(w->CurrentDigest(), Digest::Sha256Of(absl::string_view(data).substr(0, 1000)));
}

TEST_F(LocalStoreTest, OpenCleansStaleTempFiles) {
  {
    auto store = Open();
    auto w = *store->OpenWriter("keep", 0, Digest());
    ASSERT_TRUE(w->Append("kept").ok());
  }
  ASSERT_TRUE(fs::MkdirAll(root_ + "/ingest/.tmp-deadbeef-1").ok());
  ASSERT_TRUE(fs::WriteFileAtomic(root_ + "/ingest/.tmp-deadbeef-1/ref", "half").ok());
  std::string stray_state = IngestDir("keep") + "/hashstate.tmp-1-2";
  std::string stray_blob = root_ + "/blobs/sha256/abc.tmp-3-4";
  ASSERT_TRUE(fs::WriteFileAtomic(stray_state, "x").ok());
  ASSERT_TRUE(fs::WriteFileAtomic(stray_blob, "y").ok());
  auto store = Open();
  EXPECT_FALSE(Exists(root_ + "/ingest/.tmp-deadbeef-1"));
  EXPECT_FALSE(Exists(stray_state));
  EXPECT_FALSE(Exists(stray_blob));
  EXPECT_EQ(store->Status("keep")->offset, 4);
  EXPECT_EQ(store->ListStatuses()->size(), 1u);
}

TEST_F(LocalStoreTest, BlobIsNamedByItsContentEvenWithoutExpectedDigest) {
  auto store = Open();
  auto w = *store->OpenWriter("no-expectation", 0, Digest());
  ASSERT_TRUE(w->Append("abc").ok());
  ASSERT_TRUE(w->Commit(0, Digest()).ok());
  Digest d = Digest::Sha256Of("abc");
  EXPECT_EQ(*fs::ReadFile(store->BlobPath(d)), "abc");
  int blobs = 0;
  ASSERT_TRUE(store->Walk([&](const BlobInfo& info) {
    EXPECT_EQ(info.digest, d);
    ++blobs;
    return absl::OkStatus();
  }).ok());
  EXPECT_EQ(blobs, 1);
}

TEST_F(LocalStoreTest, WalkIgnoresForeignFiles) {
  auto store = Open();
  ASSERT_TRUE(fs::WriteFileAtomic(root_ + "/blobs/sha256/README", "not a blob").ok());
  int n = 0;
  ASSERT_TRUE(store->Walk([&](const BlobInfo&) {
    ++n;
    return absl::OkStatus();
  }).ok());
  EXPECT_EQ(n, 0);
}

TEST_F(LocalStoreTest, OpenRejectsBadOptions) {
  EXPECT_EQ(LocalStore::Open("").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(LocalStore::Open(root_, {.checkpoint_interval = 0}).status().code(),
            absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace berth::content
