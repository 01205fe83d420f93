#include "content-store/local_store.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <random>

#include "absl/cleanup/cleanup.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "content-store/ingest.h"
#include "content-store/local_writer.h"
#include "core/fs.h"
#include "core/status.h"
#include "core/status_macros.h"

namespace berth::content {
namespace {

constexpr size_t kResumeReadBuffer = 4 << 20;

class LocalReaderAt final : public ReaderAt {
 public:
  LocalReaderAt(int fd, int64_t size) : fd_(fd), size_(size) {}
  ~LocalReaderAt() override { ::close(fd_); }
  int64_t Size() const override { return size_; }

  absl::StatusOr<size_t> ReadAt(int64_t offset, absl::Span<char> dst) override {
    if (offset < 0 || offset > size_) {
      return absl::OutOfRangeError(absl::StrCat("read at ", offset, " of blob of size ", size_));
    }
    size_t done = 0;
    while (done < dst.size()) {
      ssize_t n = ::pread(fd_, dst.data() + done, dst.size() - done,
                          static_cast<off_t>(offset + done));
      if (n < 0) {
        if (errno == EINTR) continue;
        return ErrnoStatus("read blob");
      }
      if (n == 0) break;
      done += static_cast<size_t>(n);
    }
    return done;
  }

 private:
  int fd_;
  int64_t size_;
};

absl::Status NotFoundDigest(const Digest& d) {
  return absl::NotFoundError(absl::StrCat("content ", d.str(), ": not found"));
}

// Calls fn(name) for each entry of dir except "." and "..".
absl::Status ListDir(const std::string& dir, const std::function<absl::Status(const char*)>& fn) {
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) return ErrnoStatus(absl::StrCat("open directory ", dir));
  absl::Cleanup closer = [d] { ::closedir(d); };
  while (struct dirent* e = ::readdir(d)) {
    if (std::string_view(e->d_name) == "." || std::string_view(e->d_name) == "..") continue;
    BERTH_RETURN_IF_ERROR(fn(e->d_name));
  }
  return absl::OkStatus();
}

bool IsSha256Hex(absl::string_view name) {
  if (name.size() != Digest::kSha256HexLength) return false;
  for (char c : name) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

// Leftovers of a crash: half-created ingest directories and temp files of atomic writes.
absl::Status CleanStale(const LocalStore::Shared& s) {
  BERTH_RETURN_IF_ERROR(ListDir(s.ingest_dir, [&](const char* name) -> absl::Status {
    std::string path = absl::StrCat(s.ingest_dir, "/", name);
    if (absl::StartsWith(name, ingest::kTempDirPrefix)) return fs::RemoveAll(path);
    struct stat st;
    if (::lstat(path.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) return absl::OkStatus();
    return ListDir(path, [&](const char* inner) -> absl::Status {
      if (!absl::StrContains(inner, ingest::kTempFileMarker)) return absl::OkStatus();
      return fs::RemoveAll(absl::StrCat(path, "/", inner));
    });
  }));
  return ListDir(s.blobs_dir, [&](const char* name) -> absl::Status {
    if (!absl::StrContains(name, ingest::kTempFileMarker)) return absl::OkStatus();
    return fs::RemoveAll(absl::StrCat(s.blobs_dir, "/", name));
  });
}

// A new file in a directory nobody else sees yet: write + fsync suffices (no temp + rename +
// directory sync per file; the directory itself is renamed into place and synced once).
absl::Status WriteNewFile(const std::string& path, absl::string_view data) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd < 0) return ErrnoStatus(absl::StrCat("create ", path));
  absl::Cleanup closer = [fd] { ::close(fd); };
  while (!data.empty()) {
    ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return ErrnoStatus(absl::StrCat("write ", path));
    data.remove_prefix(static_cast<size_t>(n));
  }
  if (::fsync(fd) != 0) return ErrnoStatus(absl::StrCat("fsync ", path));
  return absl::OkStatus();
}

// Creates the ingest directory complete (ref, times, total, expected, empty data) under a temp
// name and renames it into place, so a crash never leaves a half-written ingest.
absl::Status CreateIngest(const LocalStore::Shared& s, const std::string& dir,
                          absl::string_view ref, int64_t total, const Digest& expected,
                          absl::Time now) {
  std::string tmp = absl::StrCat(s.ingest_dir, "/", ingest::kTempDirPrefix, ingest::DirName(ref),
                                 "-", std::random_device{}());
  BERTH_RETURN_IF_ERROR(fs::MkdirAll(tmp));
  absl::Cleanup remove_tmp = [&tmp] { (void)fs::RemoveAll(tmp); };
  std::string started = ingest::FormatTimestamp(now);
  BERTH_RETURN_IF_ERROR(WriteNewFile(absl::StrCat(tmp, "/", ingest::kRefFile), ref));
  BERTH_RETURN_IF_ERROR(WriteNewFile(absl::StrCat(tmp, "/", ingest::kStartedAtFile), started));
  BERTH_RETURN_IF_ERROR(WriteNewFile(absl::StrCat(tmp, "/", ingest::kUpdatedAtFile), started));
  if (total > 0) {
    BERTH_RETURN_IF_ERROR(
        WriteNewFile(absl::StrCat(tmp, "/", ingest::kTotalFile), absl::StrCat(total)));
  }
  if (!expected.empty()) {
    BERTH_RETURN_IF_ERROR(
        WriteNewFile(absl::StrCat(tmp, "/", ingest::kExpectedFile), expected.str()));
  }
  BERTH_RETURN_IF_ERROR(WriteNewFile(absl::StrCat(tmp, "/", ingest::kDataFile), ""));
  BERTH_RETURN_IF_ERROR(fs::SyncDir(tmp));
  if (::rename(tmp.c_str(), dir.c_str()) != 0) return ErrnoStatus(absl::StrCat("rename ", tmp));
  std::move(remove_tmp).Cancel();
  return fs::SyncDir(s.ingest_dir);
}

// Restores the hash of data[0, size): from the checkpoint when it is valid, then only the tail.
absl::StatusOr<ResumableSha256> ResumeHash(LocalStore::Shared& s, const std::string& dir, int fd,
                                           int64_t size) {
  ResumableSha256 hasher;
  auto saved = fs::ReadFile(absl::StrCat(dir, "/", ingest::kHashStateFile));
  if (saved.ok()) {
    auto restored = ResumableSha256::Deserialize(*saved);
    // A checkpoint past the end of data means the data lost bytes (it is synced before the
    // checkpoint is written, so only tampering does this): start over from byte 0.
    if (restored.ok() && static_cast<int64_t>(restored->bytes()) <= size) {
      hasher = std::move(*restored);
    }
  }
  int64_t pos = static_cast<int64_t>(hasher.bytes());
  // Sized to what is left to hash: most writers open fresh (nothing to read), and touching a
  // zeroed 4 MiB buffer costs a millisecond of page faults per blob.
  std::string buf(static_cast<size_t>(std::min<int64_t>(kResumeReadBuffer, size - pos)), '\0');
  while (pos < size) {
    size_t want = static_cast<size_t>(std::min<int64_t>(buf.size(), size - pos));
    ssize_t n = ::pread(fd, buf.data(), want, pos);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return ErrnoStatus(absl::StrCat("read ", dir, "/data"));
    if (n == 0) return absl::DataLossError(absl::StrCat("ingest ", dir, ": data shrank"));
    hasher.Update(absl::string_view(buf.data(), static_cast<size_t>(n)));
    s.bytes_hashed.fetch_add(n, std::memory_order_relaxed);
    pos += n;
  }
  return hasher;
}

}  // namespace

absl::StatusOr<std::unique_ptr<LocalStore>> LocalStore::Open(const std::string& root,
                                                             LocalStoreOptions options) {
  if (root.empty()) return absl::InvalidArgumentError("content store root is empty");
  if (options.checkpoint_interval <= 0) {
    return absl::InvalidArgumentError("checkpoint_interval must be positive");
  }
  auto shared = std::make_shared<Shared>();
  shared->root = root;
  shared->blobs_dir = absl::StrCat(root, "/blobs/sha256");
  shared->ingest_dir = absl::StrCat(root, "/ingest");
  shared->options = options;
  BERTH_RETURN_IF_ERROR(fs::MkdirAll(shared->blobs_dir));
  BERTH_RETURN_IF_ERROR(fs::MkdirAll(shared->ingest_dir));
  BERTH_RETURN_IF_ERROR(Annotate(CleanStale(*shared), "clean content store"));
  return std::unique_ptr<LocalStore>(new LocalStore(std::move(shared)));
}

const std::string& LocalStore::root() const { return shared_->root; }

std::string LocalStore::BlobPath(const Digest& digest) const {
  return absl::StrCat(shared_->blobs_dir, "/", digest.hex());
}

int64_t LocalStore::BytesHashedForTest() const { return shared_->bytes_hashed.load(); }

absl::StatusOr<BlobInfo> LocalStore::InfoAt(const Digest& digest, const std::string& path) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) {
    if (errno == ENOENT) return NotFoundDigest(digest);
    return ErrnoStatus(absl::StrCat("stat ", path));
  }
  // As containerd's local store: created = mtime (set at commit), updated = atime.
  return BlobInfo{digest, st.st_size, absl::TimeFromTimespec(st.st_mtim),
                  absl::TimeFromTimespec(st.st_atim)};
}

absl::StatusOr<BlobInfo> LocalStore::Info(const Digest& digest) {
  return InfoAt(digest, BlobPath(digest));
}

absl::StatusOr<std::unique_ptr<ReaderAt>> LocalStore::OpenReader(const Digest& digest) {
  std::string path = BlobPath(digest);
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return NotFoundDigest(digest);
    return ErrnoStatus(absl::StrCat("open ", path));
  }
  struct stat st;
  if (::fstat(fd, &st) != 0) {
    int err = errno;
    ::close(fd);
    return ErrnoStatus(err, absl::StrCat("stat ", path));
  }
  return std::unique_ptr<ReaderAt>(new LocalReaderAt(fd, st.st_size));
}

absl::Status LocalStore::Delete(const Digest& digest) {
  std::string path = BlobPath(digest);
  if (::unlink(path.c_str()) != 0) {
    if (errno == ENOENT) return NotFoundDigest(digest);
    return ErrnoStatus(absl::StrCat("delete ", path));
  }
  return absl::OkStatus();
}

absl::Status LocalStore::Walk(const std::function<absl::Status(const BlobInfo&)>& fn) {
  return ListDir(shared_->blobs_dir, [&](const char* name) -> absl::Status {
    if (!IsSha256Hex(name)) return absl::OkStatus();  // not a blob (e.g. a stray temp file)
    auto digest = Digest::Parse(absl::StrCat("sha256:", name));
    if (!digest.ok()) return absl::OkStatus();
    auto info = InfoAt(*digest, absl::StrCat(shared_->blobs_dir, "/", name));
    if (absl::IsNotFound(info.status())) return absl::OkStatus();  // deleted meanwhile
    if (!info.ok()) return info.status();
    return fn(*info);
  });
}

absl::StatusOr<std::unique_ptr<Writer>> LocalStore::OpenWriter(absl::string_view ref,
                                                               int64_t total,
                                                               const Digest& expected) {
  if (ref.empty()) return absl::InvalidArgumentError("ref must not be empty");
  if (total < 0) return absl::InvalidArgumentError(absl::StrCat("negative total ", total));
  if (!expected.empty() && ::access(BlobPath(expected).c_str(), F_OK) == 0) {
    return absl::AlreadyExistsError(absl::StrCat("content ", expected.str(), ": already exists"));
  }
  LocalWriter::State state;
  state.ref = std::string(ref);
  state.dir = absl::StrCat(shared_->ingest_dir, "/", ingest::DirName(ref));
  BERTH_ASSIGN_OR_RETURN(state.progress, ingest::TryLock(state.dir, ref));
  absl::Cleanup unlock = [&state] { ingest::Unlock(state.dir); };

  auto existing = ingest::ReadStatus(state.dir);
  if (absl::IsNotFound(existing.status())) {
    // Nothing (or an ingest without its ref file, which cannot be resumed): start afresh.
    BERTH_RETURN_IF_ERROR(fs::RemoveAll(state.dir));
    BERTH_RETURN_IF_ERROR(CreateIngest(*shared_, state.dir, ref, total, expected, absl::Now()));
    BERTH_ASSIGN_OR_RETURN(existing, ingest::ReadStatus(state.dir));
  } else if (!existing.ok()) {
    return existing.status();
  }
  if (existing->ref != ref) {
    return absl::InternalError(absl::StrCat("ingest ", state.dir, " holds ref ", existing->ref,
                                            ", not ", ref));
  }
  if (total > 0 && existing->total > 0 && total != existing->total) {
    return absl::FailedPreconditionError(absl::StrCat(
        "ref ", ref, ": provided total ", total, " differs from recorded ", existing->total));
  }
  if (total > 0 && existing->total == 0) {
    BERTH_RETURN_IF_ERROR(fs::WriteFileAtomic(absl::StrCat(state.dir, "/", ingest::kTotalFile),
                                              absl::StrCat(total)));
    existing->total = total;
  }
  if (!expected.empty() && expected != existing->expected) {
    BERTH_RETURN_IF_ERROR(fs::WriteFileAtomic(
        absl::StrCat(state.dir, "/", ingest::kExpectedFile), expected.str()));
    existing->expected = expected;
  }
  std::string data = absl::StrCat(state.dir, "/", ingest::kDataFile);
  state.fd = ::open(data.c_str(), O_RDWR | O_CLOEXEC);
  if (state.fd < 0) return ErrnoStatus(absl::StrCat("open ", data));
  absl::Cleanup close_fd = [&state] { ::close(state.fd); };
  struct stat st;
  if (::fstat(state.fd, &st) != 0) return ErrnoStatus(absl::StrCat("stat ", data));
  BERTH_ASSIGN_OR_RETURN(state.hasher, ResumeHash(*shared_, state.dir, state.fd, st.st_size));
  if (shared_->options.direct_io && !shared_->direct_io_refused) {
    int direct_fd = ::open(data.c_str(), O_WRONLY | O_DIRECT | O_CLOEXEC);
    if (direct_fd >= 0) {
      BERTH_ASSIGN_OR_RETURN(state.direct,
                             DirectAppender::Create(state.fd, direct_fd, st.st_size));
    } else if (errno != EINVAL) {
      return ErrnoStatus(absl::StrCat("open ", data, " for direct I/O"));
    }
  }
  state.offset = st.st_size;
  state.total = existing->total;
  state.expected = existing->expected;
  state.started_at = existing->started_at;
  std::move(unlock).Cancel();
  std::move(close_fd).Cancel();
  return std::unique_ptr<Writer>(new LocalWriter(shared_, std::move(state)));
}

absl::StatusOr<IngestStatus> LocalStore::Status(absl::string_view ref) {
  std::string dir = absl::StrCat(shared_->ingest_dir, "/", ingest::DirName(ref));
  auto st = ingest::ReadStatus(dir);
  if (absl::IsNotFound(st.status()) || (st.ok() && st->ref != ref)) {
    return absl::NotFoundError(absl::StrCat("ingest ref \"", ref, "\": not found"));
  }
  if (st.ok()) st->offset = ingest::LiveOffset(dir).value_or(st->offset);
  return st;
}

absl::StatusOr<std::vector<IngestStatus>> LocalStore::ListStatuses() {
  std::vector<IngestStatus> out;
  BERTH_RETURN_IF_ERROR(ListDir(shared_->ingest_dir, [&](const char* name) -> absl::Status {
    if (absl::StartsWith(name, ingest::kTempDirPrefix)) return absl::OkStatus();
    std::string dir = absl::StrCat(shared_->ingest_dir, "/", name);
    auto st = ingest::ReadStatus(dir);
    if (absl::IsNotFound(st.status())) return absl::OkStatus();  // committed/aborted meanwhile
    if (!st.ok()) return st.status();
    st->offset = ingest::LiveOffset(dir).value_or(st->offset);
    out.push_back(*std::move(st));
    return absl::OkStatus();
  }));
  return out;
}

absl::Status LocalStore::Abort(absl::string_view ref) {
  std::string dir = absl::StrCat(shared_->ingest_dir, "/", ingest::DirName(ref));
  BERTH_RETURN_IF_ERROR(ingest::TryLock(dir, ref).status());
  absl::Cleanup unlock = [&dir] { ingest::Unlock(dir); };
  struct stat st;
  if (::lstat(dir.c_str(), &st) != 0) {
    if (errno == ENOENT) return absl::NotFoundError(absl::StrCat("ingest ref \"", ref, "\": not found"));
    return ErrnoStatus(absl::StrCat("stat ", dir));
  }
  return fs::RemoveAll(dir);
}

}  // namespace berth::content
