// The CRI image core over the namespaced image store and content store (k8s.io namespace):
// resolving what kubelet names an image (a reference, a repo digest or an image id = the
// config digest) to the image's config and the chain id of its top snapshot.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "nlohmann/json.hpp"
#include "plugins/metadata/plugin.h"

namespace berth::cri {

struct ImageInfo {
  std::string id;                         // config digest ("sha256:..")
  std::vector<std::string> names;         // image records pointing at it
  std::vector<std::string> repo_tags;     // name:tag
  std::vector<std::string> repo_digests;  // name@<manifest digest>
  std::string manifest_digest;
  int64_t size = 0;                       // config + compressed layers
  nlohmann::json config;                  // the image config blob
  std::string chain_id;                   // snapshot to run from ("" for no layers)
};

// A blob's bytes by digest ("sha256:..").
using BlobReader = std::function<absl::StatusOr<std::string>(const std::string& digest)>;

// What an image record says, from its documents as any client or registry wrote them: the
// manifest at `target_digest` (an index's manifest for this machine's architecture, else its
// first), the config it names, the total size and the top chain id. `name` is only for
// messages and names[0]. Errors: the reader's, InvalidArgument for documents that are not JSON
// objects or a manifest without config, NotFound for an empty index.
absl::StatusOr<ImageInfo> LoadImageInfo(const std::string& name, const std::string& target_digest,
                                        const BlobReader& read);

class ImageCore {
 public:
  ImageCore(std::shared_ptr<metadata::Metadata> md, std::string ns)
      : md_(std::move(md)), ns_(std::move(ns)) {}

  // By id (full or "sha256:" prefixed), normalised reference, or repo digest. NotFound
  // ("image \"x\" not found"); InvalidArgument for a malformed reference; Internal/NotFound for
  // missing or malformed blobs.
  absl::StatusOr<ImageInfo> Resolve(const std::string& ref);
  // Every image, one entry per config digest.
  absl::StatusOr<std::vector<ImageInfo>> List();
  // Removes every record of the image `ref` resolves to; NotFound is success (CRI: idempotent).
  absl::Status Remove(const std::string& ref);
  // Bytes used by the snapshotter's committed snapshots, and their count.
  absl::StatusOr<std::pair<int64_t, int64_t>> FsUsage(const std::string& snapshotter);

 private:
  absl::StatusOr<std::string> ReadBlob(const std::string& digest);
  absl::StatusOr<ImageInfo> Load(const images::Image& record);
  absl::StatusOr<std::vector<ImageInfo>> Grouped();

  std::shared_ptr<metadata::Metadata> md_;
  std::string ns_;
};

// The image's runtime user as CRI ImageStatus reports it: a numeric "uid[:gid]" becomes uid,
// anything else the username ("" = none).
void ImageUser(const nlohmann::json& config, std::optional<int64_t>* uid, std::string* username);

}  // namespace berth::cri
