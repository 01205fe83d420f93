#include "content-store/ingest.h"

#include <sys/stat.h>

#include <mutex>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "core/fs.h"
#include "core/status.h"
#include "core/status_macros.h"

namespace berth::content::ingest {
namespace {

// std::mutex: Debian's libabsl is not TSan-instrumented, and the tests run under TSan.
struct LockTable {
  std::mutex mu;
  struct Entry {
    absl::Time since;
    Progress progress;
  };
  absl::flat_hash_map<std::string, Entry> held ABSL_GUARDED_BY(mu);
};

LockTable& Locks() {
  static LockTable* table = new LockTable();  // never destroyed: writers may outlive main's
  return *table;
}

absl::Time FromTimespec(const struct timespec& ts) {
  return absl::TimeFromTimespec(ts);
}

}  // namespace

std::string DirName(absl::string_view ref) {
  return std::string(Digest::Sha256Of(ref).hex());
}

std::string FormatTimestamp(absl::Time t) {
  return absl::FormatTime(absl::RFC3339_full, t, absl::UTCTimeZone());
}

absl::Status WriteTimeFile(const std::string& path, absl::Time t) {
  return fs::WriteFileAtomic(path, FormatTimestamp(t));
}

absl::StatusOr<absl::Time> ReadTimeFile(const std::string& path) {
  BERTH_ASSIGN_OR_RETURN(std::string text, fs::ReadFile(path));
  absl::Time t;
  std::string err;
  if (!absl::ParseTime(absl::RFC3339_full, absl::StripAsciiWhitespace(text), &t, &err)) {
    return absl::DataLossError(absl::StrCat("parse time in ", path, ": ", err));
  }
  return t;
}

absl::StatusOr<IngestStatus> ReadStatus(const std::string& dir) {
  IngestStatus st;
  BERTH_ASSIGN_OR_RETURN(st.ref, fs::ReadFile(absl::StrCat(dir, "/", kRefFile)));
  struct stat data;
  std::string data_path = absl::StrCat(dir, "/", kDataFile);
  if (::stat(data_path.c_str(), &data) != 0) return ErrnoStatus(absl::StrCat("stat ", data_path));
  st.offset = data.st_size;
  auto started = ReadTimeFile(absl::StrCat(dir, "/", kStartedAtFile));
  st.started_at = started.ok() ? *started : FromTimespec(data.st_ctim);
  // updatedat is only rewritten at Close, while data's mtime moves with every write.
  st.updated_at = FromTimespec(data.st_mtim);
  auto updated = ReadTimeFile(absl::StrCat(dir, "/", kUpdatedAtFile));
  if (updated.ok() && *updated > st.updated_at) st.updated_at = *updated;
  auto total = fs::ReadFile(absl::StrCat(dir, "/", kTotalFile));
  if (total.ok() && !absl::SimpleAtoi(absl::StripAsciiWhitespace(*total), &st.total)) {
    return absl::DataLossError(absl::StrCat("bad total in ", dir));
  }
  auto expected = fs::ReadFile(absl::StrCat(dir, "/", kExpectedFile));
  if (expected.ok()) {
    auto d = Digest::Parse(absl::StripAsciiWhitespace(*expected));
    if (d.ok()) st.expected = *d;
  }
  return st;
}

absl::StatusOr<Progress> TryLock(const std::string& key, absl::string_view ref) {
  LockTable& t = Locks();
  std::lock_guard l(t.mu);
  auto [it, inserted] = t.held.try_emplace(key);
  if (!inserted) {
    absl::Time since = it->second.since;
    return absl::UnavailableError(absl::StrCat("ref ", ref, " locked for ",
                                               absl::FormatDuration(absl::Now() - since),
                                               " (since ", FormatTimestamp(since), ")"));
  }
  it->second.since = absl::Now();
  it->second.progress = std::make_shared<std::atomic<int64_t>>(-1);
  return it->second.progress;
}

std::optional<int64_t> LiveOffset(const std::string& key) {
  LockTable& t = Locks();
  std::lock_guard l(t.mu);
  auto it = t.held.find(key);
  if (it == t.held.end()) return std::nullopt;
  int64_t v = it->second.progress->load(std::memory_order_relaxed);
  if (v < 0) return std::nullopt;  // locked but not published yet
  return v;
}

void Unlock(const std::string& key) {
  LockTable& t = Locks();
  std::lock_guard l(t.mu);
  t.held.erase(key);
}

bool IsLocked(const std::string& key) {
  LockTable& t = Locks();
  std::lock_guard l(t.mu);
  return t.held.contains(key);
}

}  // namespace berth::content::ingest
