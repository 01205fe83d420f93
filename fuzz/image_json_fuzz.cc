// Image documents from a registry, an archive or any client that writes content: OCI index /
// manifest, Docker manifest list / manifest and image config JSON, as the puller, pusher,
// importer and unpack ahead parse them (with the puller's platform selection), and as the CRI
// image core reads them back (LoadImageInfo) and builds a container spec from the config.
//
// Input: one to four documents separated by "\n---\n" (never inside JSON: raw newlines cannot
// be in a JSON string, "---" is not JSON). Each goes through every transfer parser; for the CRI
// core they are the blobs it reads in order (target, then the index's manifest, then config).
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "content-store/digest.h"
#include "cri/images.h"
#include "cri/json_doc.h"
#include "cri/spec.h"
#include "plugins/transfer/manifest.h"
#include "plugins/transfer/platform.h"

namespace {

namespace tr = berth::transfer;
namespace cri = berth::cri;
using nlohmann::json;

void Transfer(const std::string& doc) {
  (void)tr::ManifestMediaType(doc, "");
  (void)tr::ManifestMediaType(doc, "application/json; charset=utf-8");
  if (auto index = tr::ParseIndex(doc); index.ok()) {
    static const std::vector<tr::Platform> kWanted = {{"linux", "amd64", "", ""},
                                                      {"linux", "arm64", "v8", ""},
                                                      {"linux", "arm", "", ""},
                                                      {"windows", "amd64", "", "10.0.17763"}};
    for (const tr::Platform& p : kWanted) (void)tr::SelectManifests(*index, {p}, "sha256:fuzz");
    (void)tr::SelectManifests(*index, kWanted, "sha256:fuzz");
    for (const tr::Descriptor& d : *index) {
      if (d.platform) (void)tr::Normalize(*d.platform).String();
    }
  }
  if (auto manifest = tr::ParseManifest(doc); manifest.ok()) {
    for (const tr::Descriptor& l : manifest->layers) (void)tr::IsManifestType(l.media_type);
  }
  if (auto config = tr::ParseImageConfig(doc); config.ok()) {
    (void)tr::ChainIds(config->diff_ids);
    (void)tr::Normalize(config->platform);
  }
}

// What CreateContainer and ImageStatus make of an image config.
void CriConfig(const json& config) {
  std::optional<int64_t> uid;
  std::string username;
  cri::ImageUser(config, &uid, &username);
  runtime::v1::ContainerConfig c;
  c.mutable_metadata()->set_name("c");
  runtime::v1::PodSandboxConfig pod;
  cri::SpecInputs in;
  in.id = "cid";
  in.config = &c;
  in.sandbox = &pod;
  in.image_config = config;
  in.pod_ns = {"/run/x/net", "/run/x/ipc", "/run/x/uts"};
  in.sandbox_id = "sid";
  if (auto spec = cri::BuildSpec(in); spec.ok()) (void)spec->dump();
}

void Cri(const std::vector<std::string>& docs) {
  size_t next = 0;
  cri::BlobReader read = [&](const std::string&) -> absl::StatusOr<std::string> {
    if (next >= docs.size()) return absl::NotFoundError("no such blob");
    return docs[next++];
  };
  std::string target = berth::content::Digest::Sha256Of(docs[0]).str();
  auto info = cri::LoadImageInfo("docker.io/library/fuzz:latest", target, read);
  if (info.ok()) CriConfig(info->config);
  // A config is whatever blob a manifest names: try each document as one, read as the core
  // reads blobs.
  for (const std::string& doc : docs) {
    json j = cri::ParseJsonDocument(doc);
    if (j.is_object()) CriConfig(j);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  absl::string_view text(reinterpret_cast<const char*>(data), size);
  std::vector<std::string> docs = absl::StrSplit(text, absl::MaxSplits("\n---\n", 3));
  for (const std::string& doc : docs) Transfer(doc);
  Cri(docs);
  return 0;
}
