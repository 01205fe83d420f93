// Internal to the local store: the on-disk layout of one ingest, and the process-wide ref locks.
//
//   <root>/ingest/<sha256 hex of ref>/
//     ref        the ref, verbatim
//     startedat  RFC 3339 time the ingest was created
//     updatedat  RFC 3339 time of the last Close/checkpoint (Status also looks at data's mtime)
//     total      expected total size, decimal (absent if unknown)
//     expected   expected digest (absent if unknown)
//     data       the bytes written so far
//     hashstate  SHA-256 state covering the first N bytes of data (ResumableSha256::Serialize)
//
// The layout follows containerd's content/local store (plus `expected` and `hashstate`).
#pragma once

#include <atomic>
#include <memory>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "content-store/content_store.h"

namespace berth::content::ingest {

inline constexpr char kRefFile[] = "ref";
inline constexpr char kStartedAtFile[] = "startedat";
inline constexpr char kUpdatedAtFile[] = "updatedat";
inline constexpr char kTotalFile[] = "total";
inline constexpr char kExpectedFile[] = "expected";
inline constexpr char kDataFile[] = "data";
inline constexpr char kHashStateFile[] = "hashstate";
// Prefix of directories being created (renamed into place when complete) and marker inside
// the names of temp files left by fs::WriteFileAtomic.
inline constexpr char kTempDirPrefix[] = ".tmp-";
inline constexpr char kTempFileMarker[] = ".tmp-";

// Directory name of a ref's ingest: lowercase hex SHA-256 of the ref (as containerd does).
std::string DirName(absl::string_view ref);

std::string FormatTimestamp(absl::Time t);
absl::Status WriteTimeFile(const std::string& path, absl::Time t);
// NotFound if missing, DataLoss if unparsable.
absl::StatusOr<absl::Time> ReadTimeFile(const std::string& path);

// Reads an ingest directory's status. NotFound if the directory or its ref file is missing.
absl::StatusOr<IngestStatus> ReadStatus(const std::string& dir);

// Process-wide locks, keyed by ingest directory, so two Writers (even of two store objects on
// the same root) never share an ingest. Like containerd's in-process lock table; not a
// cross-process lock.
// The lock holder publishes its offset through the returned counter, so Status sees bytes a
// direct-I/O writer still stages in memory.
using Progress = std::shared_ptr<std::atomic<int64_t>>;
absl::StatusOr<Progress> TryLock(const std::string& key, absl::string_view ref);
void Unlock(const std::string& key);
bool IsLocked(const std::string& key);
// The offset the holder of `key` published, if it is locked.
std::optional<int64_t> LiveOffset(const std::string& key);

}  // namespace berth::content::ingest
