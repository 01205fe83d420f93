// Test helpers for berth::diff: in-memory tars (libarchive), compression, temp dirs, tree dumps.
#pragma once

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>
#include <zlib.h>
#include <zstd.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <map>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "core/fs.h"
#include "plugins/diff/diff.h"
#include "tests/support/temp_dir.h"

namespace berth::diff::testing {

struct EntryOpts {
  int mode = 0644;
  int64_t uid = 0, gid = 0;
  int64_t mtime = 1700000000;
  long mtime_nsec = 0;
  std::map<std::string, std::string> xattrs;
};

// Builds a PAX tar in memory.
class TarBuilder {
 public:
  TarBuilder() : a_(archive_write_new()) {
    archive_write_set_format_pax(a_);
    archive_write_set_bytes_in_last_block(a_, 1);
    archive_write_open(a_, this, nullptr, &TarBuilder::WriteCb, nullptr);
  }
  ~TarBuilder() {
    if (a_ != nullptr) archive_write_free(a_);
  }

  using Opts = EntryOpts;

  TarBuilder& File(const std::string& name, const std::string& data, Opts o = {}) {
    archive_entry* e = Entry(name, AE_IFREG, o);
    archive_entry_set_size(e, static_cast<la_int64_t>(data.size()));
    archive_write_header(a_, e);
    if (!data.empty()) archive_write_data(a_, data.data(), data.size());
    archive_entry_free(e);
    return *this;
  }
  TarBuilder& Dir(const std::string& name, Opts o = {}) {
    if (o.mode == 0644) o.mode = 0755;
    return Simple(name, AE_IFDIR, o);
  }
  TarBuilder& Symlink(const std::string& name, const std::string& target, Opts o = {}) {
    o.mode = 0777;
    archive_entry* e = Entry(name, AE_IFLNK, o);
    archive_entry_set_symlink(e, target.c_str());
    archive_write_header(a_, e);
    archive_entry_free(e);
    return *this;
  }
  TarBuilder& Hardlink(const std::string& name, const std::string& target, Opts o = {}) {
    archive_entry* e = Entry(name, AE_IFREG, o);
    archive_entry_set_hardlink(e, target.c_str());
    archive_entry_set_size(e, 0);
    archive_write_header(a_, e);
    archive_entry_free(e);
    return *this;
  }
  TarBuilder& Fifo(const std::string& name, Opts o = {}) { return Simple(name, AE_IFIFO, o); }
  TarBuilder& CharDev(const std::string& name, int major, int minor, Opts o = {}) {
    archive_entry* e = Entry(name, AE_IFCHR, o);
    archive_entry_set_rdev(e, makedev(major, minor));
    archive_write_header(a_, e);
    archive_entry_free(e);
    return *this;
  }
  TarBuilder& Whiteout(const std::string& name) { return File(name, "", {.mode = 0}); }
  // A sparse file: `size` bytes, data only in [offset, offset + data.size()).
  TarBuilder& Sparse(const std::string& name, int64_t size, int64_t offset,
                     const std::string& data) {
    archive_entry* e = Entry(name, AE_IFREG, {});
    archive_entry_set_size(e, size);
    archive_entry_sparse_add_entry(e, offset, static_cast<la_int64_t>(data.size()));
    archive_write_header(a_, e);
    std::string full(static_cast<size_t>(size), '\0');
    full.replace(static_cast<size_t>(offset), data.size(), data);
    archive_write_data(a_, full.data(), full.size());
    archive_entry_free(e);
    return *this;
  }

  std::string Finish() {
    archive_write_close(a_);
    archive_write_free(a_);
    a_ = nullptr;
    return out_;
  }

 private:
  static la_ssize_t WriteCb(archive*, void* self, const void* buf, size_t len) {
    static_cast<TarBuilder*>(self)->out_.append(static_cast<const char*>(buf), len);
    return static_cast<la_ssize_t>(len);
  }
  archive_entry* Entry(const std::string& name, unsigned type, const Opts& o) {
    archive_entry* e = archive_entry_new();
    archive_entry_set_pathname(e, name.c_str());
    archive_entry_set_filetype(e, type);
    archive_entry_set_perm(e, o.mode);
    archive_entry_set_uid(e, o.uid);
    archive_entry_set_gid(e, o.gid);
    archive_entry_set_mtime(e, o.mtime, o.mtime_nsec);
    for (const auto& [k, v] : o.xattrs)
      archive_entry_xattr_add_entry(e, k.c_str(), v.data(), v.size());
    return e;
  }
  TarBuilder& Simple(const std::string& name, unsigned type, const Opts& o) {
    archive_entry* e = Entry(name, type, o);
    archive_write_header(a_, e);
    archive_entry_free(e);
    return *this;
  }

  archive* a_;
  std::string out_;
};

inline std::string Gzip(const std::string& data) {
  z_stream z{};
  deflateInit2(&z, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY);
  std::string out(deflateBound(&z, data.size()) + 64, '\0');
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  z.avail_in = static_cast<uInt>(data.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  deflate(&z, Z_FINISH);
  out.resize(z.total_out);
  deflateEnd(&z);
  return out;
}

inline std::string Zstd(const std::string& data) {
  std::string out(ZSTD_compressBound(data.size()), '\0');
  out.resize(ZSTD_compress(out.data(), out.size(), data.data(), data.size(), 3));
  return out;
}

// A Reader over a string, handing out at most `chunk` bytes per call.
inline Reader StringReader(std::string data, size_t chunk = 1 << 20) {
  auto state = std::make_shared<std::pair<std::string, size_t>>(std::move(data), 0);
  return [state, chunk](char* buf, size_t len) -> absl::StatusOr<size_t> {
    size_t n = std::min({len, chunk, state->first.size() - state->second});
    std::memcpy(buf, state->first.data() + state->second, n);
    state->second += n;
    return n;
  };
}

inline Writer StringWriter(std::string* out) {
  return [out](const char* buf, size_t len) {
    out->append(buf, len);
    return absl::OkStatus();
  };
}

inline std::string Sha256Of(const std::string& data) {
  Sha256 h;
  h.Update(data.data(), data.size());
  return h.Digest();
}

using ::berth::test_support::TempDir;

inline std::string ReadAll(const std::string& path) {
  auto r = fs::ReadFile(path);
  return r.ok() ? *r : std::string("<unreadable>");
}

inline bool Exists(const std::string& path) {
  struct stat st;
  return ::lstat(path.c_str(), &st) == 0;
}

inline struct stat Lstat(const std::string& path) {
  struct stat st {};
  ::lstat(path.c_str(), &st);
  return st;
}

inline std::string Xattr(const std::string& path, const std::string& name) {
  char buf[256];
  ssize_t n = ::lgetxattr(path.c_str(), name.c_str(), buf, sizeof(buf));
  return n < 0 ? std::string("<none>") : std::string(buf, static_cast<size_t>(n));
}

// One line per entry below `root` (not the root itself): type, mode, owner, size, mtime (not
// for directories unless `dir_mtimes`), content, link target, user xattrs, hardlink group.
inline void DumpTree(const std::string& root, const std::string& rel, bool dir_mtimes,
                     std::map<std::string, std::string>* out,
                     std::map<ino_t, std::string>* inodes) {
  std::string dir = rel.empty() ? root : root + "/" + rel;
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) return;
  std::vector<std::string> names;
  while (dirent* de = ::readdir(d)) {
    if (std::strcmp(de->d_name, ".") && std::strcmp(de->d_name, "..")) names.push_back(de->d_name);
  }
  ::closedir(d);
  for (const std::string& n : names) {
    std::string r = rel.empty() ? n : rel + "/" + n;
    std::string p = root + "/" + r;
    struct stat st = Lstat(p);
    std::string line =
        absl::StrCat("mode=", absl::Hex(st.st_mode), " uid=", st.st_uid, " gid=", st.st_gid);
    if (!S_ISDIR(st.st_mode) || dir_mtimes) {
      absl::StrAppend(&line, " mtime=", st.st_mtim.tv_sec, ".", st.st_mtim.tv_nsec);
    }
    if (S_ISREG(st.st_mode)) {
      absl::StrAppend(&line, " size=", st.st_size, " sha=", Sha256Of(ReadAll(p)));
      if (st.st_nlink > 1) {
        auto [it, fresh] = inodes->emplace(st.st_ino, r);
        absl::StrAppend(&line, " linkgroup=", it->second);
      }
    }
    if (S_ISLNK(st.st_mode)) {
      char buf[4096];
      ssize_t len = ::readlink(p.c_str(), buf, sizeof(buf));
      absl::StrAppend(&line, " -> ", std::string(buf, len > 0 ? len : 0));
    }
    if (S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode)) absl::StrAppend(&line, " rdev=", st.st_rdev);
    std::string ux = Xattr(p, "user.test");
    if (ux != "<none>") absl::StrAppend(&line, " user.test=", ux);
    (*out)[r] = line;
    if (S_ISDIR(st.st_mode)) DumpTree(root, r, dir_mtimes, out, inodes);
  }
}

inline std::map<std::string, std::string> Tree(const std::string& root, bool dir_mtimes = true) {
  std::map<std::string, std::string> out;
  std::map<ino_t, std::string> inodes;
  DumpTree(root, "", dir_mtimes, &out, &inodes);
  return out;
}

}  // namespace berth::diff::testing
