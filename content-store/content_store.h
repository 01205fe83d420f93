// The content store interface: immutable blobs addressed by digest, written through resumable,
// ref-keyed ingests. This is containerd's content.Store (io.containerd.content.v1) without
// labels, namespaces or leases: the metadata layer adds those by wrapping a ContentStore, and
// every implementation passes the conformance suite in tests/content-store/conformance.h.
//
// Thread-safety: ContentStore methods may be called concurrently. A Writer or ReaderAt is
// used by one thread at a time.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "content-store/digest.h"

namespace berth::content {

// What the store knows about one committed blob (containerd content.Info minus labels).
struct BlobInfo {
  Digest digest;
  int64_t size = 0;
  absl::Time created_at;  // commit time
  absl::Time updated_at;
};

// Progress of one ingest (containerd content.Status).
struct IngestStatus {
  std::string ref;
  int64_t offset = 0;  // bytes written so far
  int64_t total = 0;   // expected total, 0 if unknown
  Digest expected;     // expected digest given to OpenWriter, empty if none
  absl::Time started_at;
  absl::Time updated_at;
};

// Random-access reads of one committed blob.
class ReaderAt {
 public:
  virtual ~ReaderAt() = default;

  virtual int64_t Size() const = 0;

  // Reads up to dst.size() bytes starting at `offset` into dst and returns how many were read:
  // fewer than asked only at the end of the blob, 0 at offset == Size().
  // OutOfRange if offset < 0 or offset > Size().
  virtual absl::StatusOr<size_t> ReadAt(int64_t offset, absl::Span<char> dst) = 0;

  // Convenience: up to `size` bytes from `offset` as a string. Same errors as ReadAt.
  absl::StatusOr<std::string> Read(int64_t offset, size_t size);
};

// One ingest in progress. Destroying a Writer closes it (Close()).
class Writer {
 public:
  virtual ~Writer() = default;

  // Writes `data` at `offset`, with containerd's content-service semantics (see README):
  //  - offset == Offset(): append.
  //  - offset == 0 and Offset() > 0: the ingest restarts (truncated to 0, hash reset), then
  //    `data` is written at 0.
  //  - anything else: OutOfRange "write @<offset> must occur at current offset <n>".
  // FailedPrecondition if a known expected total would be exceeded, and after
  // Commit/Close.
  virtual absl::Status Write(int64_t offset, absl::string_view data) = 0;

  // Appends at the current offset.
  absl::Status Append(absl::string_view data) { return Write(Offset(), data); }

  // Only size 0 is supported (restart the ingest); InvalidArgument otherwise.
  virtual absl::Status Truncate(int64_t size) = 0;

  // Bytes written so far.
  virtual int64_t Offset() const = 0;

  // Digest of the bytes written so far.
  virtual Digest CurrentDigest() const = 0;

  virtual absl::StatusOr<IngestStatus> Status() const = 0;

  // Verifies and publishes the blob.
  //  size > 0: must equal the bytes written, else FailedPrecondition naming both sizes.
  //  (size == 0 falls back to the expected total given to OpenWriter, if any.)
  //  expected (if set): must equal the digest of the bytes, else FailedPrecondition naming both.
  // On a size or digest mismatch the ingest is removed. AlreadyExists if a blob with this digest
  // exists already (callers usually treat that as success); the ingest is removed too.
  // The writer is closed afterwards whatever the outcome.
  virtual absl::Status Commit(int64_t size, const Digest& expected) = 0;

  // Releases the ref, keeping the progress on disk so a later OpenWriter resumes it.
  // Idempotent.
  virtual absl::Status Close() = 0;
};

class ContentStore {
 public:
  virtual ~ContentStore() = default;

  // NotFound ("content <digest>: not found") if absent.
  virtual absl::StatusOr<BlobInfo> Info(const Digest& digest) = 0;

  // NotFound if absent.
  virtual absl::StatusOr<std::unique_ptr<ReaderAt>> OpenReader(const Digest& digest) = 0;

  // NotFound if absent.
  virtual absl::Status Delete(const Digest& digest) = 0;

  // Calls fn for every blob, in no particular order; stops at and returns fn's first error.
  virtual absl::Status Walk(const std::function<absl::Status(const BlobInfo&)>& fn) = 0;

  // Opens (or resumes) the ingest named `ref`.
  //  InvalidArgument if ref is empty.
  //  AlreadyExists ("content <digest>: already exists") if `expected` is set and committed.
  //  Unavailable ("ref <ref> locked ...") while another Writer holds the ref.
  //  FailedPrecondition when resuming with a `total` (> 0) different from the recorded one.
  // `total` 0 and an empty `expected` mean unknown.
  virtual absl::StatusOr<std::unique_ptr<Writer>> OpenWriter(absl::string_view ref, int64_t total,
                                                             const Digest& expected) = 0;

  // NotFound if there is no ingest with this ref.
  virtual absl::StatusOr<IngestStatus> Status(absl::string_view ref) = 0;

  // Every ingest, in no particular order (filtering is the caller's).
  virtual absl::StatusOr<std::vector<IngestStatus>> ListStatuses() = 0;

  // Removes an ingest. NotFound if absent, Unavailable while a Writer holds it.
  virtual absl::Status Abort(absl::string_view ref) = 0;
};

}  // namespace berth::content
