#include "core/status_macros.h"
#include "cri/images.h"

#include <algorithm>
#include <map>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "content-store/digest.h"
#include "cri/json_doc.h"
#include "cri/reference.h"
#include "cri/spec.h"

namespace berth::cri {
namespace {

using json = nlohmann::json;

std::string ChainId(const std::vector<std::string>& diff_ids) {
  std::string chain;
  for (const auto& d : diff_ids) {
    chain = chain.empty() ? d : content::Digest::Sha256Of(chain + " " + d).str();
  }
  return chain;
}

// A descriptor's size: 0 unless a non-negative integer.
int64_t SizeOf(const json& j) {
  if (!j.is_object()) return 0;
  auto it = j.find("size");
  if (it == j.end() || !it->is_number_integer()) return 0;
  return std::max<int64_t>(it->get<int64_t>(), 0);
}

std::string HostArch() {
#if defined(__x86_64__)
  return "amd64";
#elif defined(__aarch64__)
  return "arm64";
#else
  return "unknown";
#endif
}

}  // namespace

absl::StatusOr<std::string> ImageCore::ReadBlob(const std::string& digest) {
  BERTH_ASSIGN_OR_RETURN(auto d, content::Digest::Parse(digest));
  BERTH_ASSIGN_OR_RETURN(auto reader, md_->content->OpenReader(ns_, d));
  if (reader->Size() > (16 << 20)) {
    return absl::InvalidArgumentError(absl::StrCat("blob ", digest, " is too large for metadata"));
  }
  return reader->Read(0, static_cast<size_t>(reader->Size()));
}

absl::StatusOr<ImageInfo> LoadImageInfo(const std::string& name, const std::string& target_digest,
                                        const BlobReader& read) {
  ImageInfo info;
  BERTH_ASSIGN_OR_RETURN(std::string text, read(target_digest));
  json m = ParseJsonDocument(text);
  if (!m.is_object()) return absl::InvalidArgumentError(absl::StrCat("manifest of ", name, " is not JSON"));
  info.manifest_digest = target_digest;
  if (m.contains("manifests")) {  // an index: this platform's manifest, else the first
    const json& manifests = m["manifests"];
    if (!manifests.is_array()) {
      return absl::InvalidArgumentError(absl::StrCat("index of ", name, " has no manifests list"));
    }
    const json* pick = nullptr;
    for (const auto& e : manifests) {
      if (!pick) pick = &e;
      if (!e.is_object() || !e.contains("platform")) continue;
      if (JsonString(e["platform"], "architecture") == HostArch() &&
          JsonString(e["platform"], "os") == "linux") {
        pick = &e;
        break;
      }
    }
    if (!pick) return absl::NotFoundError(absl::StrCat("index of ", name, " is empty"));
    info.manifest_digest = JsonString(*pick, "digest");
    BERTH_ASSIGN_OR_RETURN(text, read(info.manifest_digest));
    m = ParseJsonDocument(text);
    if (!m.is_object()) return absl::InvalidArgumentError(absl::StrCat("manifest of ", name, " is not JSON"));
  }
  if (!m.contains("config")) return absl::InvalidArgumentError(absl::StrCat("manifest of ", name, " has no config"));
  info.id = JsonString(m["config"], "digest");
  info.size = SizeOf(m["config"]);
  if (auto layers = m.find("layers"); layers != m.end() && layers->is_array()) {
    for (const auto& l : *layers) {
      if (__builtin_add_overflow(info.size, SizeOf(l), &info.size)) {
        return absl::InvalidArgumentError(absl::StrCat("manifest of ", name, ": sizes overflow"));
      }
    }
  }
  BERTH_ASSIGN_OR_RETURN(text, read(info.id));
  info.config = ParseJsonDocument(text);
  if (!info.config.is_object()) return absl::InvalidArgumentError(absl::StrCat("config of ", name, " is not JSON"));
  std::vector<std::string> diff_ids;
  auto rootfs = info.config.find("rootfs");
  if (rootfs != info.config.end() && rootfs->is_object() && rootfs->contains("diff_ids") &&
      (*rootfs)["diff_ids"].is_array()) {
    for (const auto& d : (*rootfs)["diff_ids"]) {
      if (!d.is_string()) {
        return absl::InvalidArgumentError(
            absl::StrCat("config of ", name, ": a diff_id is not a string"));
      }
      diff_ids.push_back(d.get<std::string>());
    }
  }
  info.chain_id = ChainId(diff_ids);
  info.names.push_back(name);
  return info;
}

absl::StatusOr<ImageInfo> ImageCore::Load(const images::Image& record) {
  return LoadImageInfo(record.name, record.target.digest,
                       [this](const std::string& digest) { return ReadBlob(digest); });
}

absl::StatusOr<std::vector<ImageInfo>> ImageCore::Grouped() {
  BERTH_ASSIGN_OR_RETURN(auto records, md_->images->List(ns_, {}));
  std::map<std::string, ImageInfo> by_id;
  for (const auto& r : records) {
    auto info = Load(r);
    if (!info.ok()) continue;  // an image whose blobs are incomplete is not runnable: skip it
    auto [it, inserted] = by_id.emplace(info->id, *info);
    if (!inserted) it->second.names.push_back(r.name);
  }
  std::vector<ImageInfo> out;
  for (auto& [id, info] : by_id) {
    for (const auto& n : info.names) {
      if (absl::StartsWith(n, "sha256:")) continue;  // containerd's id-named record
      auto ref = ParseReference(n);
      if (!ref.ok()) continue;
      if (!ref->tag.empty() && ref->digest.empty()) info.repo_tags.push_back(ref->String());
      std::string rd = absl::StrCat(ref->name, "@", info.manifest_digest);
      if (std::find(info.repo_digests.begin(), info.repo_digests.end(), rd) == info.repo_digests.end()) {
        info.repo_digests.push_back(rd);
      }
    }
    out.push_back(std::move(info));
  }
  return out;
}

absl::StatusOr<std::vector<ImageInfo>> ImageCore::List() { return Grouped(); }

absl::StatusOr<ImageInfo> ImageCore::Resolve(const std::string& ref) {
  if (ref.empty()) return absl::InvalidArgumentError("image reference is empty");
  if (!IsImageId(ref)) {
    BERTH_ASSIGN_OR_RETURN(std::string name, NormalizeReference(ref));
    auto rec = md_->images->Get(ns_, name);
    if (rec.ok()) {
      BERTH_ASSIGN_OR_RETURN(auto info, Load(*rec));
      // The full view (all tags of that id).
      BERTH_ASSIGN_OR_RETURN(auto all, Grouped());
      for (auto& i : all) {
        if (i.id == info.id) return i;
      }
      return info;
    }
    if (!absl::IsNotFound(rec.status())) return rec.status();
  }
  std::string id = absl::StartsWith(ref, "sha256:") || !IsImageId(ref) ? ref : "sha256:" + ref;
  BERTH_ASSIGN_OR_RETURN(auto all, Grouped());
  for (auto& i : all) {
    if (i.id == id) return i;
    for (const auto& rd : i.repo_digests) {
      if (rd == ref || absl::EndsWith(rd, "@" + ref)) return i;
    }
  }
  return absl::NotFoundError(absl::StrCat("image \"", ref, "\" not found"));
}

absl::Status ImageCore::Remove(const std::string& ref) {
  auto info = Resolve(ref);
  if (absl::IsNotFound(info.status())) return absl::OkStatus();
  BERTH_RETURN_IF_ERROR(info.status());
  for (const auto& n : info->names) {
    absl::Status st = md_->images->Delete(ns_, n);
    if (!st.ok() && !absl::IsNotFound(st)) return st;
  }
  return absl::OkStatus();
}

absl::StatusOr<std::pair<int64_t, int64_t>> ImageCore::FsUsage(const std::string& snapshotter) {
  auto it = md_->snapshotters.find(snapshotter.empty() ? "overlayfs" : snapshotter);
  if (it == md_->snapshotters.end()) {
    return absl::NotFoundError(absl::StrCat("snapshotter ", snapshotter, " is not ready"));
  }
  int64_t bytes = 0, inodes = 0;
  auto* sn = it->second.get();
  BERTH_RETURN_IF_ERROR(sn->Walk(ns_, [&](const snapshotter::Info& info) -> absl::Status {
    auto u = sn->Usage(ns_, info.name);
    if (u.ok()) {
      bytes += u->size;
      inodes += u->inodes;
    }
    return absl::OkStatus();
  }, {}));
  return std::make_pair(bytes, inodes);
}

void ImageUser(const json& config, std::optional<int64_t>* uid, std::string* username) {
  std::string user = ImageConfigString(config, "User");
  std::string first = user.substr(0, user.find(':'));
  int64_t n = 0;
  if (first.empty()) return;
  if (absl::SimpleAtoi(first, &n)) {
    *uid = n;
  } else {
    *username = first;
  }
}

}  // namespace berth::cri
