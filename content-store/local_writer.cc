#include "content-store/local_writer.h"

#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <utility>

#include "absl/strings/str_cat.h"
#include "content-store/ingest.h"
#include "core/fs.h"
#include "core/log.h"
#include "core/status.h"
#include "core/status_macros.h"

namespace berth::content {
namespace {

// Below this a write is hashed inline: handing it to the worker costs more than it saves.
constexpr size_t kParallelWriteMin = 64 * 1024;

// rename(2) that fails with EEXIST instead of replacing, so two writers committing the same
// digest cannot both "win": exactly one rename publishes the blob, the other gets AlreadyExists.
int RenameNoReplace(const std::string& from, const std::string& to) {
  if (::renameat2(AT_FDCWD, from.c_str(), AT_FDCWD, to.c_str(), RENAME_NOREPLACE) == 0) return 0;
  if (errno != EINVAL && errno != ENOSYS) return -1;
  // Filesystems without RENAME_NOREPLACE: link() also refuses to replace.
  if (::link(from.c_str(), to.c_str()) != 0) return -1;
  ::unlink(from.c_str());
  return 0;
}

}  // namespace

LocalWriter::LocalWriter(std::shared_ptr<LocalStore::Shared> shared, State state)
    : shared_(std::move(shared)), s_(std::move(state)), last_checkpoint_(s_.offset) {
  s_.progress->store(s_.offset, std::memory_order_relaxed);
}

LocalWriter::~LocalWriter() {
  if (closed_) return;
  absl::Status st = Close();
  // A destructor cannot return the error; the progress up to the last checkpoint is safe anyway.
  if (!st.ok()) log::Get("content")->warn("close ingest ref={}: {}", s_.ref, st.ToString());
}

absl::Status LocalWriter::CheckOpen() const {
  if (closed_) {
    return absl::FailedPreconditionError(absl::StrCat("writer for ref ", s_.ref, " is closed"));
  }
  return absl::OkStatus();
}

absl::Status LocalWriter::Write(int64_t offset, absl::string_view data) {
  BERTH_RETURN_IF_ERROR(CheckOpen());
  if (offset != s_.offset) {
    // containerd's content service: a write at 0 on a non-empty ingest restarts it; any other
    // offset must be the current one.
    if (offset != 0) {
      return absl::OutOfRangeError(
          absl::StrCat("write @", offset, " must occur at current offset ", s_.offset));
    }
    BERTH_RETURN_IF_ERROR(Truncate(0));
  }
  if (s_.total > 0 && s_.offset + static_cast<int64_t>(data.size()) > s_.total) {
    // FailedPrecondition, as containerd reports a size that does not match the expected one.
    return absl::FailedPreconditionError(
        absl::StrCat("ref ", s_.ref, ": write of ", data.size(), " bytes at offset ", s_.offset,
                     " exceeds expected total ", s_.total));
  }
  size_t written = 0;
  absl::Status st = WriteAndHash(data, &written);
  shared_->bytes_hashed.fetch_add(static_cast<int64_t>(written), std::memory_order_relaxed);
  s_.offset += static_cast<int64_t>(written);
  s_.progress->store(s_.offset, std::memory_order_relaxed);
  if (!st.ok() && s_.direct != nullptr) {
    // Staged bytes may be lost and the hash no longer matches the file: give the ref up; a
    // new OpenWriter resumes from what the file holds.
    s_.direct->Discard();
    if (absl::IsInvalidArgument(st)) shared_->direct_io_refused = true;
    Release();
    return Annotate(st, absl::StrCat("ref ", s_.ref, " (writer closed; reopen to resume)"));
  }
  BERTH_RETURN_IF_ERROR(Annotate(st, absl::StrCat("ref ", s_.ref)));
  if (s_.offset - last_checkpoint_ >= shared_->options.checkpoint_interval) {
    BERTH_RETURN_IF_ERROR(MaybeStartCheckpoint());
  }
  return absl::OkStatus();
}

absl::Status LocalWriter::Flush() {
  if (s_.direct == nullptr) return absl::OkStatus();
  return Annotate(s_.direct->Flush(), absl::StrCat("flush ingest ", s_.ref));
}

absl::Status LocalWriter::WriteAndHash(absl::string_view data, size_t* written) {
  if (s_.direct != nullptr) {
    // Staging copies the bytes and hands full buffers to the helper thread, which writes them
    // while this thread hashes.
    *written = 0;
    BERTH_RETURN_IF_ERROR(s_.direct->Append(data));
    s_.hasher.Update(data);
    *written = data.size();
    return absl::OkStatus();
  }
  if (data.size() < kParallelWriteMin) {
    absl::Status st = PwriteAll(s_.fd, data, s_.offset, written);
    s_.hasher.Update(data.substr(0, *written));
    return st;
  }
  // Copy into the page cache on the worker while hashing here. If the write falls short, roll
  // the hash back and re-hash what did reach the file: hash state and data never disagree.
  if (pwriter_ == nullptr) pwriter_ = std::make_unique<PwriteWorker>();
  ResumableSha256 before = s_.hasher;
  pwriter_->Start(s_.fd, data, s_.offset);
  s_.hasher.Update(data);
  absl::Status st = pwriter_->Wait(written);
  if (*written != data.size()) {
    s_.hasher = std::move(before);
    s_.hasher.Update(data.substr(0, *written));
  }
  return st;
}

absl::Status LocalWriter::Truncate(int64_t size) {
  BERTH_RETURN_IF_ERROR(CheckOpen());
  if (size != 0) {
    return absl::InvalidArgumentError(absl::StrCat("truncate to ", size, ": only 0 is supported"));
  }
  // A checkpoint still being written would resurrect the old hash state after the unlink.
  BERTH_RETURN_IF_ERROR(JoinCheckpoint());
  if (s_.direct != nullptr) BERTH_RETURN_IF_ERROR(s_.direct->Reset());
  // Drop the checkpoint first: a crash in between leaves no state, and resume re-hashes.
  std::string state_path = absl::StrCat(s_.dir, "/", ingest::kHashStateFile);
  if (::unlink(state_path.c_str()) != 0) {
    if (errno != ENOENT) return ErrnoStatus(absl::StrCat("remove ", state_path));
  } else {
    // Durably: a checkpoint of the old bytes reappearing after a power loss would describe the
    // new bytes wrongly (and a blob could be committed under a digest that is not its own).
    BERTH_RETURN_IF_ERROR(fs::SyncDir(s_.dir));
  }
  if (::ftruncate(s_.fd, 0) != 0) return ErrnoStatus(absl::StrCat("truncate ingest ", s_.ref));
  s_.hasher.Reset();
  s_.offset = 0;
  s_.progress->store(0, std::memory_order_relaxed);
  last_checkpoint_ = 0;
  return absl::OkStatus();
}

absl::Status LocalWriter::WriteCheckpoint(const std::string& state) {
  // The state must never claim bytes that a power loss could take back: sync data first.
  if (::fdatasync(s_.fd) != 0) return ErrnoStatus(absl::StrCat("sync ingest ", s_.ref));
  return fs::WriteFileAtomic(absl::StrCat(s_.dir, "/", ingest::kHashStateFile), state);
}

absl::Status LocalWriter::MaybeStartCheckpoint() {
  if (checkpoint_running_.load(std::memory_order_acquire)) return absl::OkStatus();
  BERTH_RETURN_IF_ERROR(Annotate(JoinCheckpoint(), "checkpoint"));
  BERTH_RETURN_IF_ERROR(Flush());  // the saved state may only cover bytes in the file
  last_checkpoint_ = s_.offset;
  if (!shared_->options.background_checkpoints) return WriteCheckpoint(s_.hasher.Serialize());
  checkpoint_running_.store(true, std::memory_order_release);
  // The thread only touches the fd (fdatasync, safe beside our pwrites) and the hashstate file;
  // everything that closes the fd or rewrites hashstate joins it first.
  checkpointer_ = std::thread([this, state = s_.hasher.Serialize()] {
    checkpoint_status_ = WriteCheckpoint(state);
    checkpoint_running_.store(false, std::memory_order_release);
  });
  return absl::OkStatus();
}

absl::Status LocalWriter::JoinCheckpoint() {
  if (checkpointer_.joinable()) checkpointer_.join();
  return std::exchange(checkpoint_status_, absl::OkStatus());
}

absl::StatusOr<IngestStatus> LocalWriter::Status() const {
  BERTH_RETURN_IF_ERROR(CheckOpen());
  BERTH_ASSIGN_OR_RETURN(IngestStatus st, ingest::ReadStatus(s_.dir));
  st.offset = s_.offset;
  st.total = s_.total;
  st.expected = s_.expected;
  return st;
}

absl::Status LocalWriter::DiscardIngest(absl::Status why) {
  absl::Status rm = fs::RemoveAll(s_.dir);
  if (!rm.ok()) log::Get("content")->warn("remove ingest ref={}: {}", s_.ref, rm.ToString());
  return why;
}

absl::Status LocalWriter::CommitLocked(int64_t size, const Digest& expected_arg) {
  BERTH_RETURN_IF_ERROR(Flush());
  if (::fsync(s_.fd) != 0) return ErrnoStatus(absl::StrCat("sync ingest ", s_.ref));
  int64_t want_size = size > 0 ? size : s_.total;
  if (want_size > 0 && want_size != s_.offset) {
    return DiscardIngest(absl::FailedPreconditionError(absl::StrCat(
        "ref ", s_.ref, ": unexpected commit size ", s_.offset, ", expected ", want_size)));
  }
  Digest actual = s_.hasher.Current();
  const Digest& expected = expected_arg.empty() ? s_.expected : expected_arg;
  if (!expected.empty() && expected != actual) {
    return DiscardIngest(absl::FailedPreconditionError(absl::StrCat(
        "ref ", s_.ref, ": unexpected commit digest ", actual.str(), ", expected ",
        expected.str())));
  }
  // Blobs are immutable: take write permission away before publishing.
  if (::fchmod(s_.fd, 0444) != 0) return ErrnoStatus(absl::StrCat("chmod ingest ", s_.ref));
  std::string data = absl::StrCat(s_.dir, "/", ingest::kDataFile);
  std::string target = absl::StrCat(shared_->blobs_dir, "/", actual.hex());
  if (RenameNoReplace(data, target) != 0) {
    if (errno == EEXIST) {
      return DiscardIngest(
          absl::AlreadyExistsError(absl::StrCat("content ", actual.str(), ": already exists")));
    }
    return ErrnoStatus(absl::StrCat("rename ", data, " to ", target));
  }
  // From here the blob is published; what follows only makes it durable and tidies up.
  BERTH_RETURN_IF_ERROR(fs::SyncDir(shared_->blobs_dir));
  ::utimensat(AT_FDCWD, target.c_str(), nullptr, 0);  // created_at = commit time
  return DiscardIngest(absl::OkStatus());
}

absl::Status LocalWriter::Commit(int64_t size, const Digest& expected) {
  BERTH_RETURN_IF_ERROR(CheckOpen());
  (void)JoinCheckpoint();  // only an optimisation for resuming, irrelevant once committed
  absl::Status st = CommitLocked(size, expected);
  Release();
  return st;
}

absl::Status LocalWriter::Close() {
  if (closed_) return absl::OkStatus();
  absl::Status st = JoinCheckpoint();
  if (st.ok()) st = Flush();
  if (st.ok()) st = WriteCheckpoint(s_.hasher.Serialize());
  if (st.ok()) {
    st = ingest::WriteTimeFile(absl::StrCat(s_.dir, "/", ingest::kUpdatedAtFile), absl::Now());
  }
  Release();
  return Annotate(st, absl::StrCat("close ingest ", s_.ref));
}

void LocalWriter::CrashForTest() {
  (void)JoinCheckpoint();  // a real crash would also lose a half-written checkpoint: harmless
  if (s_.direct != nullptr) s_.direct->Discard();  // staged bytes die with the process
  Release();
}

void LocalWriter::Release() {
  if (closed_) return;
  (void)JoinCheckpoint();
  pwriter_.reset();  // idle here: every write waits for its worker before returning
  s_.direct.reset();  // waits for a direct write in flight, closes the O_DIRECT fd
  closed_ = true;
  if (s_.fd >= 0) ::close(s_.fd);
  s_.fd = -1;
  ingest::Unlock(s_.dir);
}

}  // namespace berth::content
