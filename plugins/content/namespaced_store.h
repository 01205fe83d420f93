// The content store as clients see it (containerd metadata/content.go): blobs live once on disk
// in the backend ContentStore; each namespace has its own records (size, times, labels) and
// sees only the blobs it holds a record for. Ingests are per namespace too.
//
// Records: ns/<ns>/content/<digest> (JSON size/created/updated/labels) and
// ns/<ns>/ingests/<ref> (JSON backend ref, expected digest). A blob's bytes are removed by the
// garbage collector once no namespace holds a record (see plugins/gc).
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "content-store/content_store.h"
#include "plugins/metadata/db.h"

namespace berth::content {

using Labels = std::map<std::string, std::string>;

struct Info {
  Digest digest;
  int64_t size = 0;
  absl::Time created_at;
  absl::Time updated_at;
  Labels labels;
};

// A namespaced ingest: the backend writer plus the record to publish at Commit.
class NamespacedWriter {
 public:
  NamespacedWriter(metadata::Db* db, std::string ns, std::string ref, std::string lease,
                   std::unique_ptr<Writer> backend)
      : db_(db), ns_(std::move(ns)), ref_(std::move(ref)), lease_(std::move(lease)),
        backend_(std::move(backend)) {}

  absl::Status Write(int64_t offset, absl::string_view data) { return backend_->Write(offset, data); }
  absl::Status Truncate(int64_t size) { return backend_->Truncate(size); }
  // The status with the client's ref.
  absl::StatusOr<IngestStatus> Status() const;
  // Verifies (size, expected digest: FailedPrecondition naming both), publishes the blob and
  // this namespace's record with `labels` (attached to the writer's lease, if any).
  // AlreadyExists when this namespace already had the blob. Returns the digest.
  absl::StatusOr<Digest> Commit(int64_t size, const Digest& expected, const Labels& labels);

 private:
  metadata::Db* db_;
  std::string ns_, ref_, lease_;
  std::unique_ptr<Writer> backend_;
};

class NamespacedStore {
 public:
  NamespacedStore(metadata::Db* db, ContentStore* backend) : db_(db), backend_(backend) {}

  // NotFound unless `ns` holds the blob.
  absl::StatusOr<Info> GetInfo(const std::string& ns, const Digest& digest);
  // Only labels are mutable: paths empty/"labels" replace all, "labels.<k>" set one key (an
  // empty or absent value removes it). InvalidArgument for other paths; NotFound.
  absl::StatusOr<Info> Update(const std::string& ns, const Info& info,
                              const std::vector<std::string>& paths);
  // Calls fn for each blob of `ns` matching `filters` (digest, size, labels.<k>).
  absl::Status Walk(const std::string& ns, const std::vector<std::string>& filters,
                    const std::function<absl::Status(const Info&)>& fn);
  // Removes this namespace's record (NotFound if none); the bytes go at the next GC.
  absl::Status Delete(const std::string& ns, const Digest& digest);
  absl::StatusOr<std::unique_ptr<ReaderAt>> OpenReader(const std::string& ns, const Digest& digest);

  // Opens or resumes ingest `ref` in `ns`. AlreadyExists when `expected` is already in `ns`;
  // when it is on disk for another namespace, this namespace gets its record at once and the
  // answer is AlreadyExists too (containerd's "shared" content policy). Unavailable while the
  // ref is locked. `lease` (may be "") must exist: NotFound otherwise.
  absl::StatusOr<std::unique_ptr<NamespacedWriter>> OpenWriter(const std::string& ns,
                                                               const std::string& ref,
                                                               int64_t total,
                                                               const Digest& expected,
                                                               const std::string& lease);
  absl::StatusOr<IngestStatus> Status(const std::string& ns, const std::string& ref);
  // Active ingests of `ns` whose ref matches `filters` (ref==, ref~=).
  absl::StatusOr<std::vector<IngestStatus>> ListStatuses(const std::string& ns,
                                                         const std::vector<std::string>& filters);
  absl::Status Abort(const std::string& ns, const std::string& ref);

  ContentStore* backend() { return backend_; }

 private:
  metadata::Db* db_;
  ContentStore* backend_;
};

// Record codec, shared with the garbage collector.
std::string EncodeInfo(const Info& info);
absl::StatusOr<Info> DecodeInfo(absl::string_view digest, absl::string_view value);
inline constexpr char kContentBucket[] = "content";
inline constexpr char kIngestBucket[] = "ingests";

}  // namespace berth::content
