// Internal to the local store: the Writer of one ingest. See local_store.h for the guarantees.
#pragma once

#include <atomic>
#include <memory>
#include <string>
#include <thread>

#include "content-store/content_store.h"
#include "content-store/direct_appender.h"
#include "content-store/ingest.h"
#include "content-store/local_store.h"
#include "content-store/pwrite_worker.h"
#include "content-store/resumable_sha256.h"

namespace berth::content {

class LocalWriter final : public Writer {
 public:
  struct State {
    std::string ref;
    std::string dir;  // the ingest directory, also the lock key
    int fd = -1;      // data, O_RDWR, owned
    int64_t offset = 0;
    int64_t total = 0;
    Digest expected;
    absl::Time started_at;
    ResumableSha256 hasher;  // covers exactly [0, offset)
    std::unique_ptr<DirectAppender> direct;  // null: buffered writes through fd
    ingest::Progress progress;                // from the ref lock: s_.offset for Status
  };
  // Takes ownership of state.fd and of the ref lock (already held).
  LocalWriter(std::shared_ptr<LocalStore::Shared> shared, State state);
  ~LocalWriter() override;

  absl::Status Write(int64_t offset, absl::string_view data) override;
  absl::Status Truncate(int64_t size) override;
  int64_t Offset() const override { return s_.offset; }
  Digest CurrentDigest() const override { return s_.hasher.Current(); }
  absl::StatusOr<IngestStatus> Status() const override;
  absl::Status Commit(int64_t size, const Digest& expected) override;
  absl::Status Close() override;

  // Simulates the process dying: drops the fd and the lock without checkpointing or syncing.
  void CrashForTest();

 private:
  absl::Status CheckOpen() const;
  // Writes data at the current offset and hashes it; `*written` bytes reached the file and the
  // hash covers exactly those. With direct I/O, bytes may still be staged (see Flush).
  absl::Status WriteAndHash(absl::string_view data, size_t* written);
  // With direct I/O: puts every staged byte into the file. No-op otherwise.
  absl::Status Flush();
  // Saves `state` (covering `offset` bytes) after making data durable. Blocking.
  absl::Status WriteCheckpoint(const std::string& state);
  // Starts WriteCheckpoint of the current state on a background thread, unless one is still
  // running (then the next Write tries again): ingest never waits for the disk mid-stream.
  absl::Status MaybeStartCheckpoint();
  // Waits for a background checkpoint and returns its result.
  absl::Status JoinCheckpoint();
  absl::Status CommitLocked(int64_t size, const Digest& expected);
  // Removes the ingest directory after a failed commit; keeps `why` as the returned error.
  absl::Status DiscardIngest(absl::Status why);
  void Release();  // closes the fd and unlocks the ref

  std::shared_ptr<LocalStore::Shared> shared_;
  State s_;
  int64_t last_checkpoint_ = 0;
  bool closed_ = false;
  std::unique_ptr<PwriteWorker> pwriter_;  // started at the first large write
  std::thread checkpointer_;
  std::atomic<bool> checkpoint_running_{false};
  absl::Status checkpoint_status_;  // written by checkpointer_, read after joining it
};

}  // namespace berth::content
