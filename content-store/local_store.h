// The local content store (containerd's io.containerd.content.v1.content) on a directory:
//
//   <root>/blobs/sha256/<hex>   committed blobs, read-only (0444), named by their verified digest
//   <root>/ingest/<sha256(ref)>/ ingests in progress (layout in content-store/ingest.h)
//
// Crash safety: bytes only ever land in an ingest; a blob appears under blobs/ only by an atomic
// no-replace rename after its size and digest were checked and its data fsynced, followed by an
// fsync of blobs/sha256. A name therefore always matches its content.
//
// Resumable ingests: every `checkpoint_interval` bytes (and at Close) the writer fdatasyncs the
// data and atomically saves its SHA-256 state with the offset it covers, so reopening a ref
// after a crash or disconnect hashes only the bytes after the last checkpoint. With direct I/O
// a writer stages up to 4 MiB in memory; a crash loses what was staged since the last
// checkpoint, and Status after the restart tells the client where to resume.
#pragma once

#include <atomic>
#include <memory>
#include <string>

#include "content-store/content_store.h"

namespace berth::content {

struct LocalStoreOptions {
  // Bytes written between two hash-state checkpoints. Smaller = less re-hashing after a crash,
  // more fdatasyncs while ingesting.
  int64_t checkpoint_interval = int64_t{64} << 20;
  // Sync + save checkpoints on a helper thread so ingest never waits for the disk; a boundary
  // reached while the previous checkpoint is still being written is taken at a later write.
  // false: checkpoint synchronously at every boundary (deterministic, for tests).
  bool background_checkpoints = true;
  // Write ingest data with O_DIRECT through aligned staging buffers (content-store/
  // direct_appender.h): far less CPU than the page cache on the build VMs. Falls back to
  // buffered writes where the filesystem refuses O_DIRECT (tmpfs).
  bool direct_io = true;
};

class LocalStore final : public ContentStore {
 public:
  // Creates <root>/blobs/sha256 and <root>/ingest as needed and removes stale temp files and
  // half-created ingest directories. InvalidArgument for an empty root or a non-positive
  // checkpoint interval; filesystem errors otherwise.
  static absl::StatusOr<std::unique_ptr<LocalStore>> Open(const std::string& root,
                                                          LocalStoreOptions options = {});

  absl::StatusOr<BlobInfo> Info(const Digest& digest) override;
  absl::StatusOr<std::unique_ptr<ReaderAt>> OpenReader(const Digest& digest) override;
  absl::Status Delete(const Digest& digest) override;
  absl::Status Walk(const std::function<absl::Status(const BlobInfo&)>& fn) override;
  absl::StatusOr<std::unique_ptr<Writer>> OpenWriter(absl::string_view ref, int64_t total,
                                                     const Digest& expected) override;
  absl::StatusOr<IngestStatus> Status(absl::string_view ref) override;
  absl::StatusOr<std::vector<IngestStatus>> ListStatuses() override;
  absl::Status Abort(absl::string_view ref) override;

  const std::string& root() const;
  // Path a committed blob with this digest has (whether or not it exists).
  std::string BlobPath(const Digest& digest) const;

  // Bytes fed to SHA-256 by this store's writers: by Write and by resuming an ingest.
  int64_t BytesHashedForTest() const;

  // State shared with the writers, which may outlive the store object.
  struct Shared {
    std::string root;
    std::string blobs_dir;   // <root>/blobs/sha256
    std::string ingest_dir;  // <root>/ingest
    LocalStoreOptions options;
    std::atomic<int64_t> bytes_hashed{0};
    // Set when a direct write failed with EINVAL (alignment the filesystem refuses): later
    // writers use buffered I/O instead of failing the same way.
    std::atomic<bool> direct_io_refused{false};
  };

 private:
  explicit LocalStore(std::shared_ptr<Shared> shared) : shared_(std::move(shared)) {}
  absl::StatusOr<BlobInfo> InfoAt(const Digest& digest, const std::string& path);

  std::shared_ptr<Shared> shared_;
};

}  // namespace berth::content
