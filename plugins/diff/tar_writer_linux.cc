#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cerrno>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "core/status.h"
#include "core/status_macros.h"
#include "plugins/diff/tar_writer.h"

namespace berth::diff::internal {

struct TarWriterCallbacks {
  static la_ssize_t Write(struct archive* a, void* opaque, const void* buf, size_t len) {
    auto* w = static_cast<TarWriter*>(opaque);
    w->tar_hash_.Update(buf, len);
    absl::Status s = w->sink_->Write(static_cast<const char*>(buf), len);
    if (!s.ok()) {
      if (w->error_.ok()) w->error_ = s;
      archive_set_error(a, EIO, "%s", std::string(s.message()).c_str());
      return -1;
    }
    return static_cast<la_ssize_t>(len);
  }
};

namespace {

struct EntryFree {
  void operator()(struct archive_entry* e) const { archive_entry_free(e); }
};

}  // namespace

absl::StatusOr<std::map<std::string, std::string>> LayerXattrs(const std::string& path) {
  std::map<std::string, std::string> out;
  ssize_t len = ::llistxattr(path.c_str(), nullptr, 0);
  if (len < 0) {
    if (errno == ENOTSUP) return out;
    return ErrnoStatus(absl::StrCat("list xattrs of ", path));
  }
  std::string names(static_cast<size_t>(len), '\0');
  len = ::llistxattr(path.c_str(), names.data(), names.size());
  if (len < 0) return ErrnoStatus(absl::StrCat("list xattrs of ", path));
  names.resize(static_cast<size_t>(len));
  for (absl::string_view name : absl::StrSplit(names, '\0', absl::SkipEmpty())) {
    bool keep = absl::StartsWith(name, "user.") ||
                (absl::StartsWith(name, "security.") && name != "security.selinux") ||
                absl::StartsWith(name, "system.posix_acl_");
    if (!keep) continue;
    std::string n(name);
    ssize_t vlen = ::lgetxattr(path.c_str(), n.c_str(), nullptr, 0);
    if (vlen < 0) continue;  // removed meanwhile
    std::string value(static_cast<size_t>(vlen), '\0');
    vlen = ::lgetxattr(path.c_str(), n.c_str(), value.data(), value.size());
    if (vlen < 0) continue;
    value.resize(static_cast<size_t>(vlen));
    out.emplace(std::move(n), std::move(value));
  }
  return out;
}

TarWriter::TarWriter(const Writer& writer, Compression compression)
    : writer_(writer), compression_(compression) {}

TarWriter::~TarWriter() {
  if (archive_ != nullptr) archive_write_free(archive_);
}

absl::Status TarWriter::Open() {
  sink_ = NewCompressingSink(
      [this](const char* buf, size_t len) {
        blob_hash_.Update(buf, len);
        blob_size_ += static_cast<int64_t>(len);
        return writer_(buf, len);
      },
      compression_);
  archive_ = archive_write_new();
  // PAX (as containerd and BuildKit write layers); no padding of the last block to 10 KiB.
  if (archive_write_set_format_pax(archive_) != ARCHIVE_OK ||
      archive_write_set_bytes_per_block(archive_, static_cast<int>(kBufferSize)) != ARCHIVE_OK ||
      archive_write_set_bytes_in_last_block(archive_, 1) != ARCHIVE_OK ||
      archive_write_open(archive_, this, nullptr, &TarWriterCallbacks::Write, nullptr) !=
          ARCHIVE_OK) {
    return absl::InternalError(absl::StrCat("libarchive: ", archive_error_string(archive_)));
  }
  return absl::OkStatus();
}

absl::Status TarWriter::WriteHeader(struct archive_entry* entry, const std::string& rel) {
  if (archive_write_header(archive_, entry) < ARCHIVE_WARN) {
    if (!error_.ok()) return error_;
    return absl::InternalError(
        absl::StrCat("tar header for \"", rel, "\": ", archive_error_string(archive_)));
  }
  return absl::OkStatus();
}

absl::Status TarWriter::AddWhiteout(const std::string& rel) {
  std::unique_ptr<struct archive_entry, EntryFree> e(archive_entry_new());
  archive_entry_set_pathname(e.get(), rel.c_str());
  archive_entry_set_filetype(e.get(), AE_IFREG);
  archive_entry_set_perm(e.get(), 0);
  archive_entry_set_size(e.get(), 0);
  archive_entry_set_mtime(e.get(), 0, 0);
  return WriteHeader(e.get(), rel);
}

absl::Status TarWriter::AddPath(const std::string& abs_path, const std::string& rel,
                                const struct stat& st) {
  std::unique_ptr<struct archive_entry, EntryFree> e(archive_entry_new());
  archive_entry_set_pathname(e.get(), rel.c_str());
  archive_entry_set_perm(e.get(), st.st_mode & 07777);
  archive_entry_set_uid(e.get(), st.st_uid);
  archive_entry_set_gid(e.get(), st.st_gid);
  archive_entry_set_mtime(e.get(), st.st_mtim.tv_sec, st.st_mtim.tv_nsec);
  bool copy = false;
  switch (st.st_mode & S_IFMT) {
    case S_IFREG: {
      archive_entry_set_filetype(e.get(), AE_IFREG);
      if (st.st_nlink > 1) {
        auto [it, inserted] = links_.emplace(std::make_pair(st.st_dev, st.st_ino), rel);
        if (!inserted) {
          archive_entry_set_hardlink(e.get(), it->second.c_str());
          archive_entry_set_size(e.get(), 0);
          return WriteHeader(e.get(), rel);
        }
      }
      archive_entry_set_size(e.get(), st.st_size);
      copy = true;
      break;
    }
    case S_IFDIR:
      archive_entry_set_filetype(e.get(), AE_IFDIR);
      break;
    case S_IFLNK: {
      std::string target(static_cast<size_t>(st.st_size > 0 ? st.st_size : 4096) + 1, '\0');
      ssize_t n = ::readlink(abs_path.c_str(), target.data(), target.size());
      if (n < 0) return ErrnoStatus(absl::StrCat("readlink ", abs_path));
      target.resize(static_cast<size_t>(n));
      archive_entry_set_filetype(e.get(), AE_IFLNK);
      archive_entry_set_symlink(e.get(), target.c_str());
      break;
    }
    case S_IFCHR:
    case S_IFBLK:
      archive_entry_set_filetype(e.get(), S_ISCHR(st.st_mode) ? AE_IFCHR : AE_IFBLK);
      archive_entry_set_rdev(e.get(), st.st_rdev);
      break;
    case S_IFIFO:
      archive_entry_set_filetype(e.get(), AE_IFIFO);
      break;
    default:
      return absl::OkStatus();  // sockets are not layer content
  }
  BERTH_ASSIGN_OR_RETURN(auto xattrs, LayerXattrs(abs_path));
  for (const auto& [name, value] : xattrs) {
    archive_entry_xattr_add_entry(e.get(), name.c_str(), value.data(), value.size());
  }
  BERTH_RETURN_IF_ERROR(WriteHeader(e.get(), rel));
  if (copy) return CopyData(abs_path, st.st_size, rel);
  return absl::OkStatus();
}

absl::Status TarWriter::CopyData(const std::string& abs_path, int64_t size,
                                 const std::string& rel) {
  int fd = ::open(abs_path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) return ErrnoStatus(absl::StrCat("open ", abs_path));
  std::vector<char> buf(std::min<int64_t>(size, kBufferSize));
  int64_t left = size;
  absl::Status status;
  while (left > 0 && status.ok()) {
    ssize_t n = ::read(fd, buf.data(), static_cast<size_t>(std::min<int64_t>(left, buf.size())));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      status = ErrnoStatus(absl::StrCat("read ", abs_path));
      break;
    }
    if (n == 0) {  // the file shrank since lstat: pad, the header promised `size` bytes
      n = static_cast<ssize_t>(std::min<int64_t>(left, buf.size()));
      std::fill(buf.begin(), buf.begin() + n, 0);
    }
    if (archive_write_data(archive_, buf.data(), static_cast<size_t>(n)) < 0) {
      status = error_.ok() ? absl::InternalError(absl::StrCat(
                                 "tar data for \"", rel, "\": ", archive_error_string(archive_)))
                           : error_;
    }
    left -= n;
  }
  ::close(fd);
  return status;
}

absl::StatusOr<DiffResult> TarWriter::Close() {
  if (archive_write_close(archive_) != ARCHIVE_OK) {
    if (!error_.ok()) return error_;
    return absl::InternalError(absl::StrCat("close tar: ", archive_error_string(archive_)));
  }
  archive_write_free(archive_);
  archive_ = nullptr;
  BERTH_RETURN_IF_ERROR(sink_->Close());
  DiffResult result;
  result.diff_id = tar_hash_.Digest();
  result.digest = blob_hash_.Digest();
  result.size = blob_size_;
  result.media_type = OciMediaType(compression_);
  return result;
}

}  // namespace berth::diff::internal
