#include "client/archive_import.h"

#include <fcntl.h>
#include <unistd.h>

#include <cstdint>
#include <cstring>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "client/image_resolve.h"
#include "core/status.h"
#include "core/status_macros.h"
#include "nlohmann/json.hpp"

namespace berth::client {
namespace {

using json = nlohmann::json;

constexpr int64_t kMaxMetadataFile = 4 << 20;

bool ReadFull(int fd, char* buf, size_t n) {
  while (n > 0) {
    ssize_t r = read(fd, buf, n);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return false;
    buf += r;
    n -= static_cast<size_t>(r);
  }
  return true;
}

int64_t Octal(const char* p, size_t n) {
  int64_t v = 0;
  for (size_t i = 0; i < n && p[i] != '\0' && p[i] != ' '; ++i) {
    if (p[i] < '0' || p[i] > '7') return -1;
    v = v * 8 + (p[i] - '0');
  }
  return v;
}

std::string Field(const char* p, size_t n) { return std::string(p, strnlen(p, n)); }

// "path" out of a pax extended header ("<len> path=<value>\n" records).
std::string PaxPath(const std::string& data) {
  size_t pos = 0;
  while (pos < data.size()) {
    size_t sp = data.find(' ', pos);
    int64_t len;
    if (sp == std::string::npos || !absl::SimpleAtoi(data.substr(pos, sp - pos), &len) ||
        len <= 0 || pos + static_cast<size_t>(len) > data.size()) {
      break;
    }
    std::string rec = data.substr(sp + 1, pos + static_cast<size_t>(len) - sp - 2);
    if (absl::StartsWith(rec, "path=")) return rec.substr(5);
    pos += static_cast<size_t>(len);
  }
  return "";
}

xferpb::Progress OneItem(const std::string& ref, const std::string& state, int64_t offset,
                         int64_t total) {
  xferpb::Progress p;
  auto* item = p.add_items();
  item->set_ref(ref);
  item->set_digest(ref.substr(ref.find('-') + 1));
  item->set_state(state);
  item->set_offset(offset);
  item->set_total(total);
  return p;
}

// Member `key` of object `j`: "" when absent or null; InvalidArgument naming it when it is not a
// string.
absl::StatusOr<std::string> StringMember(const json& j, const char* key, const std::string& where) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return std::string();
  if (!it->is_string()) {
    return absl::InvalidArgumentError(absl::StrCat(where, " ", key, ": not a string"));
  }
  return it->get<std::string>();
}

}  // namespace

absl::Status TarReader::Skip(int64_t n) {
  char buf[8192];
  while (n > 0) {
    size_t chunk = static_cast<size_t>(std::min<int64_t>(n, sizeof(buf)));
    if (!ReadFull(fd_, buf, chunk)) return absl::DataLossError("truncated tar archive");
    n -= static_cast<int64_t>(chunk);
  }
  return absl::OkStatus();
}

int64_t TarReader::Read(char* buf, size_t cap) {
  size_t n = static_cast<size_t>(std::min<int64_t>(remaining_, static_cast<int64_t>(cap)));
  if (n == 0) return 0;
  if (!ReadFull(fd_, buf, n)) return -1;
  remaining_ -= static_cast<int64_t>(n);
  return static_cast<int64_t>(n);
}

absl::StatusOr<TarEntry> TarReader::Next() {
  if (absl::Status s = Skip(remaining_ + padding_); !s.ok()) return s;
  remaining_ = padding_ = 0;
  std::string long_name;
  while (true) {
    char h[512];
    if (!ReadFull(fd_, h, sizeof(h))) return absl::DataLossError("truncated tar header");
    if (h[0] == '\0') return absl::NotFoundError("end of archive");
    TarEntry e;
    e.size = Octal(h + 124, 12);
    if (e.size < 0) return absl::DataLossError("corrupt tar header (size)");
    e.type = h[156] == '\0' ? '0' : h[156];
    std::string name = Field(h, 100);
    if (memcmp(h + 257, "ustar", 5) == 0 && h[345] != '\0') {
      name = absl::StrCat(Field(h + 345, 155), "/", name);
    }
    int64_t pad = (512 - e.size % 512) % 512;
    if (e.type == 'L' || e.type == 'x') {
      if (e.size > kMaxMetadataFile) return absl::DataLossError("oversized tar extension");
      std::string data(static_cast<size_t>(e.size), '\0');
      if (!ReadFull(fd_, data.data(), data.size())) return absl::DataLossError("truncated tar");
      if (absl::Status s = Skip(pad); !s.ok()) return s;
      long_name = e.type == 'L' ? Field(data.data(), data.size()) : PaxPath(data);
      continue;
    }
    if (e.type == 'g') {
      if (absl::Status s = Skip(e.size + pad); !s.ok()) return s;
      continue;
    }
    e.name = long_name.empty() ? name : long_name;
    while (absl::StartsWith(e.name, "./")) e.name.erase(0, 2);
    remaining_ = e.type == '0' || e.type == '7' ? e.size : 0;
    padding_ = e.type == '0' || e.type == '7' ? pad : 0;
    if (remaining_ == 0 && e.size > 0 && e.type != '5') padding_ = e.size + pad;  // skip data
    return e;
  }
}

absl::StatusOr<std::vector<impb::Image>> ImagesOfIndex(const std::string& index_text,
                                                       const ArchiveImportOptions& options) {
  // The archive is the input to distrust: nlohmann's value() / get() throw on another type, and
  // copying a member (value() returns a copy) recurses once per nesting level. So members are
  // found, not copied, and their types checked.
  json index = json::parse(index_text, nullptr, /*allow_exceptions=*/false);
  auto manifests = index.is_object() ? index.find("manifests") : index.end();
  if (index.is_discarded() || !index.is_object() || manifests == index.end() ||
      !manifests->is_array()) {
    return absl::InvalidArgumentError("malformed index.json");
  }
  std::vector<impb::Image> out;
  for (size_t i = 0; i < manifests->size(); ++i) {
    const json& m = (*manifests)[i];
    std::string where = absl::StrCat("index.json manifests[", i, "]");
    auto digest = m.is_object() ? m.find("digest") : m.end();
    if (!m.is_object() || digest == m.end() || !digest->is_string()) continue;
    std::string name, tag;
    if (auto ann = m.find("annotations"); ann != m.end() && ann->is_object()) {
      BERTH_ASSIGN_OR_RETURN(name, StringMember(*ann, "io.containerd.image.name", where));
      BERTH_ASSIGN_OR_RETURN(tag, StringMember(*ann, "org.opencontainers.image.ref.name", where));
    }
    if (name.empty() && !options.base_name.empty() && !tag.empty()) {
      name = absl::StrCat(options.base_name, ":", tag);
    }
    if (name.empty()) continue;  // like ctr: nameless entries are only content
    BERTH_ASSIGN_OR_RETURN(std::string media_type, StringMember(m, "mediaType", where));
    int64_t size = 0;
    if (auto it = m.find("size"); it != m.end()) {
      // An integer in int64's range (a double such as 1e300 would not convert).
      if (!it->is_number_integer() ||
          (it->is_number_unsigned() ? it->get<uint64_t>() > INT64_MAX : it->get<int64_t>() < 0)) {
        return absl::InvalidArgumentError(absl::StrCat(where, ".size: not a size: ", it->dump()));
      }
      size = it->get<int64_t>();
    }
    impb::Image img;
    img.set_name(name);
    img.mutable_target()->set_media_type(media_type);
    img.mutable_target()->set_digest(digest->get<std::string>());
    img.mutable_target()->set_size(size);
    for (const auto& [k, v] : options.labels) (*img.mutable_labels())[k] = v;
    out.push_back(std::move(img));
  }
  return out;
}

absl::StatusOr<std::vector<impb::Image>> ImportArchive(Meta& meta, Images& images, Content& content,
                                                       Snapshots& snapshots,
                                                       const std::string& path,
                                                       const ArchiveImportOptions& options,
                                                       const ProgressCallback& progress,
                                                       const CallOptions& call_in) {
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return ErrnoStatus(absl::StrCat("open ", path));
  // A lease keeps blobs written before their image record exists away from GC.
  CallOptions call = call_in;
  absl::StatusOr<lpb::Lease> lease =
      meta.CreateTemporaryLease("berthctl-import", absl::Hours(1), call);
  if (!lease.ok()) {
    close(fd);
    return lease.status();
  }
  call.lease = lease->id();
  auto finish = [&](absl::Status s) {
    close(fd);
    CallOptions plain = call_in;
    meta.DeleteLease(lease->id(), false, plain).IgnoreError();
    return s;
  };

  TarReader tar(fd);
  std::string index_text;
  bool docker_manifest = false;
  while (true) {
    absl::StatusOr<TarEntry> e = tar.Next();
    if (absl::IsNotFound(e.status())) break;
    if (!e.ok()) return finish(Annotate(e.status(), path));
    if (e->name == "index.json") {
      if (e->size > kMaxMetadataFile)
        return finish(absl::InvalidArgumentError("index.json too big"));
      index_text.resize(static_cast<size_t>(e->size));
      if (tar.Read(index_text.data(), index_text.size()) != e->size) {
        return finish(absl::DataLossError(path + ": truncated index.json"));
      }
      continue;
    }
    if (e->name == "manifest.json") docker_manifest = true;
    absl::string_view hex = e->name;
    if (e->type != '0' || !absl::ConsumePrefix(&hex, "blobs/sha256/") || hex.size() != 64) {
      continue;
    }
    std::string digest = absl::StrCat("sha256:", hex);
    std::string ref = "blob-" + digest;
    if (content.Info(digest, call).ok()) {
      if (progress) progress(OneItem(ref, "exists", e->size, e->size));
      continue;
    }
    int64_t done = 0;
    absl::Status w = content.Write(
        "import-" + digest, digest, e->size,
        [&](char* buf, size_t cap) {
          int64_t n = tar.Read(buf, cap);
          if (n > 0) done += n;
          return n;
        },
        {}, call);
    if (!w.ok()) return finish(w);
    if (progress) progress(OneItem(ref, "done", done, e->size));
  }
  if (index_text.empty()) {
    return finish(docker_manifest
                      ? absl::UnimplementedError(path + ": a docker save archive needs the "
                                                        "daemon's transfer service")
                      : absl::InvalidArgumentError(path + ": no index.json (not an OCI layout)"));
  }
  absl::StatusOr<std::vector<impb::Image>> named = ImagesOfIndex(index_text, options);
  if (!named.ok()) return finish(Annotate(named.status(), path));
  std::vector<impb::Image> created;
  for (const impb::Image& img : *named) {
    const std::string& name = img.name();
    if (absl::Status s = LabelChildren(content, img.target(), call); !s.ok()) {
      return finish(Annotate(s, "label blobs of " + name));
    }
    absl::StatusOr<impb::Image> r = images.Create(img, call);
    if (absl::IsAlreadyExists(r.status())) r = images.Update(img, call);
    if (!r.ok()) return finish(r.status());
    created.push_back(*r);
    if (options.unpack) {
      absl::StatusOr<ResolvedImage> resolved = ResolveImage(images, content, name, call);
      absl::Status s = resolved.ok()
                           ? Unpack(snapshots, content, *resolved, options.snapshotter, call)
                           : resolved.status();
      if (!s.ok()) return finish(Annotate(s, "unpack " + name));
    }
  }
  if (created.empty()) {
    return finish(
        absl::InvalidArgumentError(path + ": no named image in index.json (give a base name)"));
  }
  finish(absl::OkStatus()).IgnoreError();
  return created;
}

}  // namespace berth::client
