#include "plugins/transfer/manifest.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "content-store/digest.h"
#include "core/status_macros.h"
#include "nlohmann/json.hpp"

namespace berth::transfer {
namespace {

using nlohmann::json;

absl::StatusOr<json> Parse(absl::string_view body, const char* what) {
  try {
    json doc = json::parse(body);
    if (!doc.is_object()) return absl::InvalidArgumentError(absl::StrCat(what, ": not an object"));
    return doc;
  } catch (const json::exception& e) {
    return absl::InvalidArgumentError(absl::StrCat(what, ": ", e.what()));
  }
}

std::string Str(const json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}

absl::StatusOr<Descriptor> ParseDescriptor(const json& j, const std::string& where) {
  if (!j.is_object()) return absl::InvalidArgumentError(where + ": not an object");
  Descriptor d;
  d.media_type = Str(j, "mediaType");
  d.digest = Str(j, "digest");
  auto size = j.find("size");
  if (size == j.end() || !size->is_number_integer() || size->get<int64_t>() < 0) {
    return absl::InvalidArgumentError(where + ": missing or negative size");
  }
  d.size = size->get<int64_t>();
  auto parsed = content::Digest::Parse(d.digest);
  if (!parsed.ok()) return absl::InvalidArgumentError(absl::StrCat(where, ": ", parsed.status().message()));
  if (auto p = j.find("platform"); p != j.end() && p->is_object()) {
    d.platform = Platform{Str(*p, "os"), Str(*p, "architecture"), Str(*p, "variant"),
                          Str(*p, "os.version")};
  }
  if (auto a = j.find("annotations"); a != j.end() && a->is_object()) {
    for (const auto& [k, v] : a->items()) {
      if (v.is_string()) d.annotations[k] = v.get<std::string>();
    }
  }
  return d;
}

}  // namespace

std::string ManifestAccept() {
  return absl::StrJoin({kOciIndex, kOciManifest, kDockerManifestList, kDockerManifest}, ", ");
}

bool IsIndexType(absl::string_view t) { return t == kOciIndex || t == kDockerManifestList; }
bool IsManifestType(absl::string_view t) { return t == kOciManifest || t == kDockerManifest; }

absl::StatusOr<std::string> ManifestMediaType(absl::string_view body,
                                              absl::string_view content_type) {
  std::string ct(content_type.substr(0, content_type.find(';')));
  if (IsIndexType(ct) || IsManifestType(ct)) return ct;
  BERTH_ASSIGN_OR_RETURN(json doc, Parse(body, "manifest"));
  std::string mt = Str(doc, "mediaType");
  if (IsIndexType(mt) || IsManifestType(mt)) return mt;
  if (doc.contains("manifests")) return std::string(kOciIndex);
  if (doc.contains("layers") && doc.contains("config")) return std::string(kOciManifest);
  return absl::InvalidArgumentError(
      absl::StrCat("unsupported manifest media type \"", mt.empty() ? ct : mt, "\""));
}

absl::StatusOr<std::vector<Descriptor>> ParseIndex(absl::string_view body) {
  BERTH_ASSIGN_OR_RETURN(json doc, Parse(body, "index"));
  auto m = doc.find("manifests");
  if (m == doc.end() || !m->is_array()) return absl::InvalidArgumentError("index: no manifests");
  std::vector<Descriptor> out;
  for (size_t i = 0; i < m->size(); ++i) {
    BERTH_ASSIGN_OR_RETURN(Descriptor d, ParseDescriptor((*m)[i], absl::StrCat("index.manifests[", i, "]")));
    out.push_back(std::move(d));
  }
  return out;
}

absl::StatusOr<Manifest> ParseManifest(absl::string_view body) {
  BERTH_ASSIGN_OR_RETURN(json doc, Parse(body, "manifest"));
  if (!doc.contains("config")) return absl::InvalidArgumentError("manifest: no config");
  Manifest out;
  BERTH_ASSIGN_OR_RETURN(out.config, ParseDescriptor(doc["config"], "manifest.config"));
  auto layers = doc.find("layers");
  if (layers == doc.end() || !layers->is_array()) {
    return absl::InvalidArgumentError("manifest: no layers");
  }
  for (size_t i = 0; i < layers->size(); ++i) {
    BERTH_ASSIGN_OR_RETURN(Descriptor d, ParseDescriptor((*layers)[i], absl::StrCat("manifest.layers[", i, "]")));
    out.layers.push_back(std::move(d));
  }
  return out;
}

absl::StatusOr<std::vector<Descriptor>> SelectManifests(const std::vector<Descriptor>& all,
                                                        const std::vector<Platform>& wanted,
                                                        const std::string& index_digest) {
  std::vector<Descriptor> out;
  for (const Platform& p : wanted) {
    bool found = false;
    for (const Descriptor& d : all) {
      if (!IsManifestType(d.media_type) && !d.media_type.empty()) continue;
      if (d.platform && !Matches(p, *d.platform)) continue;
      if (std::none_of(out.begin(), out.end(), [&](auto& o) { return o.digest == d.digest; })) {
        out.push_back(d);
      }
      found = true;
      break;
    }
    if (!found) {
      return absl::NotFoundError(absl::StrCat("no manifest for platform ", p.String(),
                                              " in index ", index_digest));
    }
  }
  return out;
}

absl::StatusOr<ImageConfig> ParseImageConfig(absl::string_view body) {
  BERTH_ASSIGN_OR_RETURN(json doc, Parse(body, "image config"));
  ImageConfig out;
  out.platform = Platform{Str(doc, "os"), Str(doc, "architecture"), Str(doc, "variant"), ""};
  auto rootfs = doc.find("rootfs");
  if (rootfs == doc.end() || !rootfs->is_object() || !rootfs->contains("diff_ids") ||
      !(*rootfs)["diff_ids"].is_array()) {
    return absl::InvalidArgumentError("image config: no rootfs.diff_ids");
  }
  for (const auto& d : (*rootfs)["diff_ids"]) {
    if (!d.is_string() || !content::Digest::Parse(d.get<std::string>()).ok()) {
      return absl::InvalidArgumentError("image config: bad diff_id");
    }
    out.diff_ids.push_back(d.get<std::string>());
  }
  return out;
}

std::vector<std::string> ChainIds(const std::vector<std::string>& diff_ids) {
  std::vector<std::string> out;
  for (const auto& d : diff_ids) {
    out.push_back(out.empty() ? d
                              : content::Digest::Sha256Of(absl::StrCat(out.back(), " ", d)).str());
  }
  return out;
}

}  // namespace berth::transfer
