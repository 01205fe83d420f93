#include "tests/content-store/conformance.h"

#include <stdlib.h>

#include <algorithm>
#include <atomic>
#include <random>
#include <set>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "core/fs.h"
#include "gmock/gmock.h"

namespace berth::content::testing {
namespace {

using ::testing::HasSubstr;

#define ASSERT_OK(expr)                                  \
  do {                                                   \
    absl::Status s_ = (expr);                            \
    ASSERT_TRUE(s_.ok()) << #expr << ": " << s_;         \
  } while (false)
#define ASSERT_CODE(expr, code_)                                                  \
  do {                                                                           \
    absl::Status s_ = (expr);                                                    \
    ASSERT_EQ(s_.code(), absl::StatusCode::code_) << #expr << ": " << s_;        \
  } while (false)

template <typename T>
T ValueOrDie(absl::StatusOr<T> v) {
  EXPECT_TRUE(v.ok()) << v.status();
  if (!v.ok()) std::abort();
  return *std::move(v);
}

std::string ReadAll(ContentStore& store, const Digest& d) {
  auto reader = ValueOrDie(store.OpenReader(d));
  return ValueOrDie(reader->Read(0, static_cast<size_t>(reader->Size())));
}

std::vector<Digest> WalkAll(ContentStore& store) {
  std::vector<Digest> out;
  absl::Status st = store.Walk([&](const BlobInfo& info) {
    out.push_back(info.digest);
    return absl::OkStatus();
  });
  EXPECT_TRUE(st.ok()) << st;
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace

std::string FactoryName(const ::testing::TestParamInfo<ContentStoreFactory>& info) {
  return info.param.name;
}

std::string TestData(size_t size, uint32_t seed) {
  std::mt19937 rng(seed);
  std::string out(size, '\0');
  for (auto& c : out) c = static_cast<char>(rng());
  return out;
}

void ContentStoreConformance::SetUp() {
  char tmpl[] = "/tmp/berth-content-XXXXXX";
  ASSERT_NE(::mkdtemp(tmpl), nullptr);
  root_ = tmpl;
  auto store = GetParam().open(root_);
  ASSERT_TRUE(store.ok()) << store.status();
  store_ = *std::move(store);
}

void ContentStoreConformance::TearDown() {
  store_.reset();
  if (!root_.empty()) (void)fs::RemoveAll(root_);
}

void ContentStoreConformance::Reopen() {
  store_.reset();
  auto store = GetParam().open(root_);
  ASSERT_TRUE(store.ok()) << store.status();
  store_ = *std::move(store);
}

absl::Status ContentStoreConformance::WriteBlob(absl::string_view ref, absl::string_view data,
                                                size_t chunk) {
  Digest d = Digest::Sha256Of(data);
  auto w = store_->OpenWriter(ref, static_cast<int64_t>(data.size()), d);
  if (!w.ok()) return w.status();
  for (size_t off = 0; off < data.size(); off += chunk) {
    absl::Status st = (*w)->Append(data.substr(off, chunk));
    if (!st.ok()) return st;
  }
  return (*w)->Commit(static_cast<int64_t>(data.size()), d);
}

TEST_P(ContentStoreConformance, WriteCommitReadBack) {
  std::string data = TestData(300000, 1);
  Digest d = Digest::Sha256Of(data);
  auto w = ValueOrDie(store_->OpenWriter("ref-a", data.size(), d));
  ASSERT_OK(w->Write(0, data.substr(0, 100000)));
  ASSERT_OK(w->Write(100000, data.substr(100000)));
  EXPECT_EQ(w->Offset(), 300000);
  EXPECT_EQ(w->CurrentDigest(), d);
  ASSERT_OK(w->Commit(data.size(), d));

  BlobInfo info = ValueOrDie(store_->Info(d));
  EXPECT_EQ(info.digest, d);
  EXPECT_EQ(info.size, 300000);
  EXPECT_LE(info.created_at, absl::Now());
  EXPECT_GT(info.created_at, absl::Now() - absl::Minutes(5));
  EXPECT_EQ(ReadAll(*store_, d), data);

  auto reader = ValueOrDie(store_->OpenReader(d));
  EXPECT_EQ(reader->Size(), 300000);
  EXPECT_EQ(ValueOrDie(reader->Read(12345, 100)), data.substr(12345, 100));
  EXPECT_EQ(ValueOrDie(reader->Read(299990, 100)), data.substr(299990));  // short at the end
  EXPECT_EQ(ValueOrDie(reader->Read(300000, 10)), "");
  ASSERT_CODE(reader->Read(300001, 1).status(), kOutOfRange);

  // The ingest is gone once committed.
  ASSERT_CODE(store_->Status("ref-a").status(), kNotFound);
  EXPECT_TRUE(ValueOrDie(store_->ListStatuses()).empty());
}

TEST_P(ContentStoreConformance, EmptyBlob) {
  Digest d = Digest::Sha256Of("");
  auto w = ValueOrDie(store_->OpenWriter("empty", 0, Digest()));
  ASSERT_OK(w->Commit(0, d));
  EXPECT_EQ(ValueOrDie(store_->Info(d)).size, 0);
  EXPECT_EQ(ReadAll(*store_, d), "");
}

TEST_P(ContentStoreConformance, DigestMismatchLeavesNothing) {
  std::string data = TestData(5000, 2);
  Digest actual = Digest::Sha256Of(data);
  Digest wrong = Digest::Sha256Of("something else");
  auto w = ValueOrDie(store_->OpenWriter("ref-bad", 0, Digest()));
  ASSERT_OK(w->Append(data));
  absl::Status st = w->Commit(data.size(), wrong);
  ASSERT_EQ(st.code(), absl::StatusCode::kFailedPrecondition) << st;
  EXPECT_THAT(std::string(st.message()), HasSubstr(actual.str()));
  EXPECT_THAT(std::string(st.message()), HasSubstr(wrong.str()));
  ASSERT_CODE(store_->Info(actual).status(), kNotFound);
  ASSERT_CODE(store_->Info(wrong).status(), kNotFound);
  ASSERT_CODE(store_->Status("ref-bad").status(), kNotFound);
  EXPECT_TRUE(WalkAll(*store_).empty());
  EXPECT_TRUE(ValueOrDie(store_->ListStatuses()).empty());
  // The writer is closed and the ref free again, starting from scratch.
  ASSERT_CODE(w->Append("x"), kFailedPrecondition);
  auto again = ValueOrDie(store_->OpenWriter("ref-bad", 0, Digest()));
  EXPECT_EQ(again->Offset(), 0);
}

TEST_P(ContentStoreConformance, ExpectedDigestFromOpenWriterIsChecked) {
  Digest wrong = Digest::Sha256Of("other");
  auto w = ValueOrDie(store_->OpenWriter("ref-exp", 0, wrong));
  ASSERT_OK(w->Append("payload"));
  ASSERT_CODE(w->Commit(0, Digest()), kFailedPrecondition);
  ASSERT_CODE(store_->Info(Digest::Sha256Of("payload")).status(), kNotFound);
}

TEST_P(ContentStoreConformance, SizeMismatchLeavesNothing) {
  std::string data = TestData(1234, 3);
  Digest d = Digest::Sha256Of(data);
  auto w = ValueOrDie(store_->OpenWriter("ref-size", 0, Digest()));
  ASSERT_OK(w->Append(data));
  absl::Status st = w->Commit(1235, d);
  ASSERT_EQ(st.code(), absl::StatusCode::kFailedPrecondition) << st;
  EXPECT_THAT(std::string(st.message()), HasSubstr("1234"));
  EXPECT_THAT(std::string(st.message()), HasSubstr("1235"));
  ASSERT_CODE(store_->Info(d).status(), kNotFound);
  ASSERT_CODE(store_->Status("ref-size").status(), kNotFound);
  EXPECT_TRUE(WalkAll(*store_).empty());
}

TEST_P(ContentStoreConformance, ExpectedTotalIsEnforced) {
  auto w = ValueOrDie(store_->OpenWriter("ref-total", 4, Digest()));
  ASSERT_OK(w->Append("abc"));
  ASSERT_CODE(w->Append("de"), kFailedPrecondition);  // would end at 5 > 4
  // Commit with size 0 falls back to the expected total: 3 != 4.
  ASSERT_CODE(w->Commit(0, Digest()), kFailedPrecondition);
  ASSERT_CODE(store_->Status("ref-total").status(), kNotFound);
}

TEST_P(ContentStoreConformance, WriteOffsetSemantics) {
  auto w = ValueOrDie(store_->OpenWriter("ref-off", 0, Digest()));
  ASSERT_OK(w->Write(0, "hello "));
  absl::Status st = w->Write(3, "xx");
  ASSERT_EQ(st.code(), absl::StatusCode::kOutOfRange) << st;
  EXPECT_THAT(std::string(st.message()), HasSubstr("current offset 6"));
  ASSERT_CODE(w->Write(7, "xx"), kOutOfRange);
  // Offset 0 on a non-empty ingest restarts it (containerd's content service).
  ASSERT_OK(w->Write(0, "world"));
  EXPECT_EQ(w->Offset(), 5);
  EXPECT_EQ(w->CurrentDigest(), Digest::Sha256Of("world"));
  ASSERT_CODE(w->Truncate(2), kInvalidArgument);
  ASSERT_OK(w->Truncate(0));
  EXPECT_EQ(w->Offset(), 0);
  ASSERT_OK(w->Append("final"));
  ASSERT_OK(w->Commit(5, Digest::Sha256Of("final")));
  EXPECT_EQ(ReadAll(*store_, Digest::Sha256Of("final")), "final");
  ASSERT_CODE(w->Write(5, "more"), kFailedPrecondition);
  ASSERT_CODE(w->Commit(5, Digest()), kFailedPrecondition);
}

TEST_P(ContentStoreConformance, ResumeAfterReopen) {
  std::string data = TestData(1 << 20, 4);
  Digest d = Digest::Sha256Of(data);
  const size_t half = 400000;
  {
    auto w = ValueOrDie(store_->OpenWriter("ref-resume", data.size(), d));
    ASSERT_OK(w->Append(data.substr(0, half)));
    // The store object goes away first (daemon shutdown), then the client's writer.
    store_.reset();
  }
  Reopen();
  IngestStatus st = ValueOrDie(store_->Status("ref-resume"));
  EXPECT_EQ(st.offset, static_cast<int64_t>(half));
  EXPECT_EQ(st.total, static_cast<int64_t>(data.size()));
  auto w = ValueOrDie(store_->OpenWriter("ref-resume", data.size(), d));
  EXPECT_EQ(w->Offset(), static_cast<int64_t>(half));
  EXPECT_EQ(w->CurrentDigest(), Digest::Sha256Of(data.substr(0, half)));
  ASSERT_OK(w->Write(half, data.substr(half)));
  ASSERT_OK(w->Commit(data.size(), d));
  EXPECT_EQ(ReadAll(*store_, d), data);
  w.reset();
  Reopen();  // committed blobs survive too
  EXPECT_EQ(ValueOrDie(store_->Info(d)).size, static_cast<int64_t>(data.size()));
  EXPECT_EQ(ReadAll(*store_, d), data);
  EXPECT_TRUE(ValueOrDie(store_->ListStatuses()).empty());
}

TEST_P(ContentStoreConformance, ResumeAfterWriterClose) {
  auto w = ValueOrDie(store_->OpenWriter("ref-close", 0, Digest()));
  ASSERT_OK(w->Append("first-"));
  ASSERT_OK(w->Close());
  ASSERT_OK(w->Close());  // idempotent
  ASSERT_CODE(w->Append("x"), kFailedPrecondition);
  auto w2 = ValueOrDie(store_->OpenWriter("ref-close", 0, Digest()));
  EXPECT_EQ(w2->Offset(), 6);
  ASSERT_OK(w2->Append("second"));
  ASSERT_OK(w2->Commit(12, Digest::Sha256Of("first-second")));
}

TEST_P(ContentStoreConformance, ResumeWithDifferentTotalFails) {
  {
    auto w = ValueOrDie(store_->OpenWriter("ref-t", 100, Digest()));
    ASSERT_OK(w->Append("abc"));
  }
  ASSERT_CODE(store_->OpenWriter("ref-t", 99, Digest()).status(), kFailedPrecondition);
  auto w = ValueOrDie(store_->OpenWriter("ref-t", 0, Digest()));  // unknown total: fine
  EXPECT_EQ(ValueOrDie(w->Status()).total, 100);
}

TEST_P(ContentStoreConformance, LockedRefIsUnavailable) {
  auto w = ValueOrDie(store_->OpenWriter("ref-lock", 0, Digest()));
  auto second = store_->OpenWriter("ref-lock", 0, Digest());
  ASSERT_EQ(second.status().code(), absl::StatusCode::kUnavailable) << second.status();
  EXPECT_THAT(std::string(second.status().message()), HasSubstr("ref ref-lock locked"));
  ASSERT_CODE(store_->Abort("ref-lock"), kUnavailable);
  ASSERT_OK(w->Close());
  auto third = store_->OpenWriter("ref-lock", 0, Digest());
  ASSERT_TRUE(third.ok()) << third.status();
}

TEST_P(ContentStoreConformance, ConcurrentWritersOfDistinctRefs) {
  constexpr int kWriters = 4;
  std::vector<std::string> blobs;
  for (int i = 0; i < kWriters; ++i) blobs.push_back(TestData(200000 + i, 10 + i));
  std::vector<absl::Status> results(kWriters);
  std::vector<std::thread> threads;
  for (int i = 0; i < kWriters; ++i) {
    threads.emplace_back([&, i] { results[i] = WriteBlob(absl::StrCat("ref-", i), blobs[i], 7000); });
  }
  for (auto& t : threads) t.join();
  for (int i = 0; i < kWriters; ++i) {
    ASSERT_OK(results[i]);
    EXPECT_EQ(ReadAll(*store_, Digest::Sha256Of(blobs[i])), blobs[i]);
  }
  EXPECT_EQ(WalkAll(*store_).size(), static_cast<size_t>(kWriters));
}

TEST_P(ContentStoreConformance, SameDigestDifferentRefs) {
  std::string data = TestData(100000, 5);
  Digest d = Digest::Sha256Of(data);
  auto a = ValueOrDie(store_->OpenWriter("ref-a", 0, Digest()));
  auto b = ValueOrDie(store_->OpenWriter("ref-b", 0, Digest()));
  ASSERT_OK(a->Append(data.substr(0, 50000)));
  ASSERT_OK(b->Append(data.substr(0, 70000)));
  ASSERT_OK(a->Append(data.substr(50000)));
  ASSERT_OK(b->Append(data.substr(70000)));
  ASSERT_OK(a->Commit(data.size(), d));
  ASSERT_CODE(b->Commit(data.size(), d), kAlreadyExists);
  ASSERT_CODE(store_->Status("ref-b").status(), kNotFound);  // cleaned
  EXPECT_EQ(ReadAll(*store_, d), data);
  // Opening a writer for a digest that exists is AlreadyExists straight away.
  ASSERT_CODE(store_->OpenWriter("ref-c", 0, d).status(), kAlreadyExists);
}

TEST_P(ContentStoreConformance, SameDigestConcurrentCommits) {
  std::string data = TestData(500000, 6);
  std::vector<absl::Status> results(2);
  std::thread t0([&] { results[0] = WriteBlob("ref-x", data, 10000); });
  std::thread t1([&] { results[1] = WriteBlob("ref-y", data, 13000); });
  t0.join();
  t1.join();
  int ok = 0, exists = 0;
  for (const auto& st : results) {
    if (st.ok()) ++ok;
    if (absl::IsAlreadyExists(st)) ++exists;
  }
  // Either both wrote and one lost the commit race, or the second saw the blob at OpenWriter.
  EXPECT_EQ(ok, 1) << results[0] << " / " << results[1];
  EXPECT_EQ(exists, 1) << results[0] << " / " << results[1];
  EXPECT_EQ(ReadAll(*store_, Digest::Sha256Of(data)), data);
  EXPECT_TRUE(ValueOrDie(store_->ListStatuses()).empty());
}

TEST_P(ContentStoreConformance, Delete) {
  ASSERT_OK(WriteBlob("ref-del", "to be deleted"));
  Digest d = Digest::Sha256Of("to be deleted");
  ASSERT_OK(store_->Delete(d));
  ASSERT_CODE(store_->Info(d).status(), kNotFound);
  ASSERT_CODE(store_->OpenReader(d).status(), kNotFound);
  ASSERT_CODE(store_->Delete(d), kNotFound);
  // And it can be written again.
  ASSERT_OK(WriteBlob("ref-del", "to be deleted"));
}

TEST_P(ContentStoreConformance, Walk) {
  std::set<Digest> want;
  for (int i = 0; i < 3; ++i) {
    std::string data = TestData(1000 * (i + 1), 20 + i);
    ASSERT_OK(WriteBlob(absl::StrCat("w", i), data));
    want.insert(Digest::Sha256Of(data));
  }
  // An unfinished ingest is not a blob.
  auto w = ValueOrDie(store_->OpenWriter("pending", 0, Digest()));
  ASSERT_OK(w->Append("pending"));
  std::set<Digest> got;
  ASSERT_OK(store_->Walk([&](const BlobInfo& info) {
    got.insert(info.digest);
    EXPECT_EQ(info.size, ValueOrDie(store_->Info(info.digest)).size);
    return absl::OkStatus();
  }));
  EXPECT_EQ(got, want);
  int calls = 0;
  absl::Status st = store_->Walk([&](const BlobInfo&) {
    ++calls;
    return absl::CancelledError("stop");
  });
  EXPECT_EQ(st.code(), absl::StatusCode::kCancelled);
  EXPECT_EQ(calls, 1);
}

TEST_P(ContentStoreConformance, StatusAndListStatuses) {
  absl::Time before = absl::Now() - absl::Seconds(1);
  Digest expected = Digest::Sha256Of("0123456789");
  auto a = ValueOrDie(store_->OpenWriter("status-a", 10, expected));
  auto b = ValueOrDie(store_->OpenWriter("status-b", 0, Digest()));
  ASSERT_OK(a->Append("01234"));
  ASSERT_OK(b->Append("xyz"));
  IngestStatus sa = ValueOrDie(store_->Status("status-a"));
  EXPECT_EQ(sa.ref, "status-a");
  EXPECT_EQ(sa.offset, 5);
  EXPECT_EQ(sa.total, 10);
  EXPECT_EQ(sa.expected, expected);
  EXPECT_GE(sa.started_at, before);
  EXPECT_GE(sa.updated_at, sa.started_at - absl::Seconds(1));
  IngestStatus wa = ValueOrDie(a->Status());
  EXPECT_EQ(wa.offset, 5);
  EXPECT_EQ(wa.ref, "status-a");

  auto all = ValueOrDie(store_->ListStatuses());
  std::set<std::string> refs;
  for (const auto& s : all) {
    refs.insert(s.ref);
    if (s.ref == "status-b") {
      EXPECT_EQ(s.offset, 3);
    }
  }
  EXPECT_EQ(refs, (std::set<std::string>{"status-a", "status-b"}));
  ASSERT_CODE(store_->Status("nope").status(), kNotFound);
}

TEST_P(ContentStoreConformance, Abort) {
  {
    auto w = ValueOrDie(store_->OpenWriter("ref-abort", 0, Digest()));
    ASSERT_OK(w->Append("partial"));
  }
  ASSERT_OK(store_->Abort("ref-abort"));
  ASSERT_CODE(store_->Status("ref-abort").status(), kNotFound);
  ASSERT_CODE(store_->Abort("ref-abort"), kNotFound);
  EXPECT_TRUE(ValueOrDie(store_->ListStatuses()).empty());
  auto w = ValueOrDie(store_->OpenWriter("ref-abort", 0, Digest()));
  EXPECT_EQ(w->Offset(), 0);
}

TEST_P(ContentStoreConformance, RefsAreOpaqueStrings) {
  // containerd refs look like "layer-sha256:..." or contain slashes and colons.
  const std::string ref = "default/1/index-sha256:abc/../weird ref";
  ASSERT_OK(WriteBlob(ref, "opaque"));
  ASSERT_CODE(store_->OpenWriter("", 0, Digest()).status(), kInvalidArgument);
}

}  // namespace berth::content::testing
