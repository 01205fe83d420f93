#include "client/image_resolve.h"

#include <openssl/evp.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "absl/strings/str_cat.h"
#include "core/status.h"

namespace berth::client {
namespace {

using json = nlohmann::json;

constexpr char kOciIndex[] = "application/vnd.oci.image.index.v1+json";
constexpr char kDockerList[] = "application/vnd.docker.distribution.manifest.list.v2+json";
constexpr char kOciManifest[] = "application/vnd.oci.image.manifest.v1+json";
constexpr char kDockerManifest[] = "application/vnd.docker.distribution.manifest.v2+json";

absl::StatusOr<json> ParseJson(const std::string& text, const std::string& what) {
  json j = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) {
    return absl::InvalidArgumentError(absl::StrCat(what, ": not a JSON object"));
  }
  return j;
}

std::string Str(const json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : "";
}

absl::StatusOr<tpb_types::Descriptor> ToDescriptor(const json& j, const std::string& what) {
  if (!j.is_object()) return absl::InvalidArgumentError(what + ": descriptor is no object");
  tpb_types::Descriptor d;
  d.set_media_type(Str(j, "mediaType"));
  d.set_digest(Str(j, "digest"));
  auto size = j.find("size");
  if (d.digest().empty() || size == j.end() || !size->is_number_integer()) {
    return absl::InvalidArgumentError(what + ": descriptor without digest or size");
  }
  d.set_size(size->get<int64_t>());
  return d;
}

}  // namespace

std::string Sha256Digest(const std::string& data) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(data.data(), data.size(), md, &len, EVP_sha256(), nullptr);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out = "sha256:";
  for (unsigned int i = 0; i < len; ++i) {
    out += kHex[md[i] >> 4];
    out += kHex[md[i] & 15];
  }
  return out;
}

std::vector<std::string> ChainIds(const std::vector<std::string>& diff_ids) {
  std::vector<std::string> out;
  for (const auto& d : diff_ids) {
    out.push_back(out.empty() ? d : Sha256Digest(absl::StrCat(out.back(), " ", d)));
  }
  return out;
}

std::string ChainId(const std::vector<std::string>& diff_ids) {
  auto all = ChainIds(diff_ids);
  return all.empty() ? "" : all.back();
}

std::string HostArchitecture() {
  utsname u{};
  uname(&u);
  std::string m = u.machine;
  if (m == "x86_64") return "amd64";
  if (m == "aarch64") return "arm64";
  if (m == "armv7l") return "arm";
  return m;
}

absl::StatusOr<size_t> SelectManifest(const json& index, const std::string& os,
                                      const std::string& arch) {
  auto manifests = index.find("manifests");
  if (manifests == index.end() || !manifests->is_array()) {
    return absl::InvalidArgumentError("image index without manifests");
  }
  std::string seen;
  for (size_t i = 0; i < manifests->size(); ++i) {
    const json& m = (*manifests)[i];
    if (!m.is_object()) continue;
    auto p = m.find("platform");
    // An entry without a platform matches anything (single-platform OCI layouts).
    if (p == m.end() || !p->is_object()) return i;
    std::string pos = Str(*p, "os"), parch = Str(*p, "architecture");
    if (pos == os && parch == arch) return i;
    absl::StrAppend(&seen, seen.empty() ? "" : ", ", pos, "/", parch);
  }
  return absl::NotFoundError(
      absl::StrCat("no manifest for ", os, "/", arch, " (the image has: ", seen, ")"));
}

absl::StatusOr<ResolvedImage> ResolveImage(Images& images, Content& content,
                                           const std::string& name, const CallOptions& call) {
  ResolvedImage out;
  absl::StatusOr<impb::Image> rec = images.Get(name, call);
  if (!rec.ok()) return rec.status();
  out.record = *rec;
  tpb_types::Descriptor desc = rec->target();
  json manifest;
  // An index may point at another index: follow at most a few levels.
  for (int depth = 0; depth < 4; ++depth) {
    absl::StatusOr<std::string> blob = content.ReadAll(desc.digest(), 8 << 20, call);
    if (!blob.ok()) return Annotate(blob.status(), "image " + name);
    absl::StatusOr<json> j = ParseJson(*blob, "blob " + desc.digest());
    if (!j.ok()) return j.status();
    std::string mt = desc.media_type().empty() ? Str(*j, "mediaType") : desc.media_type();
    if (mt == kOciIndex || mt == kDockerList || (mt.empty() && j->contains("manifests"))) {
      absl::StatusOr<size_t> i = SelectManifest(*j, "linux", HostArchitecture());
      if (!i.ok()) return Annotate(i.status(), "image " + name);
      absl::StatusOr<tpb_types::Descriptor> d = ToDescriptor((*j)["manifests"][*i], desc.digest());
      if (!d.ok()) return d.status();
      desc = *d;
      continue;
    }
    if (mt != kOciManifest && mt != kDockerManifest && !(mt.empty() && j->contains("layers"))) {
      return absl::InvalidArgumentError(
          absl::StrCat("image ", name, ": unsupported media type \"", mt, "\""));
    }
    manifest = std::move(*j);
    break;
  }
  if (manifest.is_null()) return absl::InvalidArgumentError("image " + name + ": index too deep");
  out.manifest = desc;
  absl::StatusOr<tpb_types::Descriptor> cfg = ToDescriptor(manifest.value("config", json()),
                                                           "manifest " + desc.digest());
  if (!cfg.ok()) return cfg.status();
  out.config = *cfg;
  if (auto layers = manifest.find("layers"); layers != manifest.end() && layers->is_array()) {
    for (const auto& l : *layers) {
      absl::StatusOr<tpb_types::Descriptor> d = ToDescriptor(l, "manifest " + desc.digest());
      if (!d.ok()) return d.status();
      out.layers.push_back(*d);
    }
  }
  absl::StatusOr<std::string> cfg_blob = content.ReadAll(out.config.digest(), 8 << 20, call);
  if (!cfg_blob.ok()) return Annotate(cfg_blob.status(), "image config of " + name);
  absl::StatusOr<json> cj = ParseJson(*cfg_blob, "image config " + out.config.digest());
  if (!cj.ok()) return cj.status();
  out.config_json = std::move(*cj);
  const json& rootfs = out.config_json.value("rootfs", json::object());
  if (auto ids = rootfs.find("diff_ids"); ids != rootfs.end() && ids->is_array()) {
    for (const auto& d : *ids) {
      if (d.is_string()) out.diff_ids.push_back(d.get<std::string>());
    }
  }
  if (out.diff_ids.size() != out.layers.size()) {
    return absl::FailedPreconditionError(absl::StrCat("image ", name, ": ", out.layers.size(),
                                                      " layers but ", out.diff_ids.size(),
                                                      " diff_ids in its config"));
  }
  out.chain_id = ChainId(out.diff_ids);
  return out;
}

absl::Status LabelChildren(Content& content, const tpb_types::Descriptor& root,
                           const CallOptions& call) {
  absl::StatusOr<std::string> blob = content.ReadAll(root.digest(), 8 << 20, call);
  if (!blob.ok()) return blob.status();
  absl::StatusOr<json> j = ParseJson(*blob, "blob " + root.digest());
  if (!j.ok()) return absl::OkStatus();  // not JSON: a leaf
  Labels labels;
  std::vector<tpb_types::Descriptor> sub_manifests;
  if (auto ms = j->find("manifests"); ms != j->end() && ms->is_array()) {
    for (size_t i = 0; i < ms->size(); ++i) {
      absl::StatusOr<tpb_types::Descriptor> d = ToDescriptor((*ms)[i], root.digest());
      if (!d.ok()) return d.status();
      if (!content.Info(d->digest(), call).ok()) continue;
      labels[absl::StrCat("containerd.io/gc.ref.content.m.", i)] = d->digest();
      sub_manifests.push_back(*d);
    }
  }
  if (auto cfg = j->find("config"); cfg != j->end() && cfg->is_object()) {
    labels["containerd.io/gc.ref.content.config"] = Str(*cfg, "digest");
  }
  if (auto ls = j->find("layers"); ls != j->end() && ls->is_array()) {
    for (size_t i = 0; i < ls->size(); ++i) {
      if ((*ls)[i].is_object()) {
        labels[absl::StrCat("containerd.io/gc.ref.content.l.", i)] = Str((*ls)[i], "digest");
      }
    }
  }
  if (!labels.empty()) {
    if (absl::Status s = content.SetLabels(root.digest(), labels, call); !s.ok()) return s;
  }
  for (const auto& m : sub_manifests) {
    if (absl::Status s = LabelChildren(content, m, call); !s.ok()) return s;
  }
  return absl::OkStatus();
}

absl::Status Unpack(Snapshots& snapshots, Content& content, const ResolvedImage& image,
                    const std::string& snapshotter, const CallOptions& call) {
  std::vector<std::string> chain = ChainIds(image.diff_ids);
  std::string parent;
  for (size_t i = 0; i < chain.size(); ++i) {
    if (snapshots.Stat(snapshotter, chain[i], call).ok()) {
      parent = chain[i];
      continue;
    }
    timespec ts{};
    clock_gettime(CLOCK_REALTIME, &ts);
    std::string key = absl::StrCat("extract-", ts.tv_nsec, "-", getpid(), " ", chain[i]);
    std::string what = absl::StrCat("unpack layer ", image.layers[i].digest());
    absl::StatusOr<std::vector<tpb_types::Mount>> mounts =
        snapshots.Prepare(snapshotter, key, parent, {}, call);
    if (!mounts.ok()) return Annotate(mounts.status(), what);
    absl::StatusOr<tpb_types::Descriptor> applied = snapshots.Apply(image.layers[i], *mounts, call);
    if (applied.ok() && applied->digest() != image.diff_ids[i]) {
      applied = absl::FailedPreconditionError(absl::StrCat(
          "applied diff ", applied->digest(), " does not match diff_id ", image.diff_ids[i]));
    }
    absl::Status committed =
        applied.ok() ? snapshots.Commit(snapshotter, chain[i], key, {}, call) : applied.status();
    if (!committed.ok()) {
      snapshots.Remove(snapshotter, key, call).IgnoreError();
      // Another unpack of the same image may have won the race: that is fine.
      if (absl::IsAlreadyExists(committed)) {
        parent = chain[i];
        continue;
      }
      return Annotate(committed, what);
    }
    parent = chain[i];
  }
  if (chain.empty()) return absl::OkStatus();
  return content.SetLabels(image.config.digest(),
                           {{"containerd.io/gc.ref.snapshot." + snapshotter, chain.back()}}, call);
}

}  // namespace berth::client
