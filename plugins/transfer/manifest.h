// OCI image index / manifest and Docker schema 2 manifest list / manifest documents, the parts
// a pull needs. Parsing never throws; every size is bounded by the caller (kMaxManifestSize).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "plugins/transfer/platform.h"

namespace berth::transfer {

inline constexpr char kOciIndex[] = "application/vnd.oci.image.index.v1+json";
inline constexpr char kOciManifest[] = "application/vnd.oci.image.manifest.v1+json";
inline constexpr char kOciConfig[] = "application/vnd.oci.image.config.v1+json";
inline constexpr char kDockerManifestList[] =
    "application/vnd.docker.distribution.manifest.list.v2+json";
inline constexpr char kDockerManifest[] = "application/vnd.docker.distribution.manifest.v2+json";
inline constexpr char kDockerConfig[] = "application/vnd.docker.container.image.v1+json";
// Manifests and indexes larger than this are refused (containerd's limit too).
inline constexpr int64_t kMaxManifestSize = int64_t{4} << 20;
inline constexpr int64_t kMaxConfigSize = int64_t{16} << 20;

// The Accept header of a manifest request.
std::string ManifestAccept();

struct Descriptor {
  std::string media_type;
  std::string digest;
  int64_t size = 0;
  std::optional<Platform> platform;
  std::map<std::string, std::string> annotations;
};

bool IsIndexType(absl::string_view media_type);
bool IsManifestType(absl::string_view media_type);

// The media type of a manifest-ish document: its "mediaType" field, else guessed from its shape
// ("manifests" -> OCI index, "layers" -> OCI manifest). `content_type` (from HTTP) wins when it
// is a known manifest or index type. InvalidArgument for JSON that is neither.
absl::StatusOr<std::string> ManifestMediaType(absl::string_view body,
                                              absl::string_view content_type);

struct Manifest {
  Descriptor config;
  std::vector<Descriptor> layers;
};

// InvalidArgument naming what is missing or malformed.
absl::StatusOr<std::vector<Descriptor>> ParseIndex(absl::string_view body);
absl::StatusOr<Manifest> ParseManifest(absl::string_view body);

// The manifests of an index to pull: for each wanted platform in order, the first manifest (or
// untyped) descriptor whose platform matches or that names none; a digest chosen twice appears
// once. NotFound naming the platform and `index_digest` when a wanted platform has no match.
absl::StatusOr<std::vector<Descriptor>> SelectManifests(const std::vector<Descriptor>& all,
                                                        const std::vector<Platform>& wanted,
                                                        const std::string& index_digest);

struct ImageConfig {
  std::vector<std::string> diff_ids;
  Platform platform;
};
absl::StatusOr<ImageConfig> ParseImageConfig(absl::string_view body);

// The chain IDs of a layer stack (OCI image spec config.md#layer-chainid):
// chain[0] = diff[0], chain[i] = sha256(chain[i-1] + " " + diff[i]).
std::vector<std::string> ChainIds(const std::vector<std::string>& diff_ids);

}  // namespace berth::transfer
