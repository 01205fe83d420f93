// From an image record to what running it needs: the platform's manifest, the config, the
// layers, the diff ids and the chain id of the top snapshot (OCI image spec, "ChainID"), and
// unpacking the layers into snapshots the way containerd's unpacker does.
#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "client/images.h"
#include "client/meta.h"
#include "nlohmann/json.hpp"

namespace berth::client {

inline constexpr char kDefaultSnapshotter[] = "overlayfs";

// ChainID(L0) = DiffID(L0); ChainID(L0..Ln) = sha256(ChainID(L0..Ln-1) + " " + DiffID(Ln)).
// Returns "" for an empty list.
std::string ChainId(const std::vector<std::string>& diff_ids);
// Every prefix's chain id: result[i] = ChainId(diff_ids[0..i]).
std::vector<std::string> ChainIds(const std::vector<std::string>& diff_ids);
// "sha256:<hex>" of `data`.
std::string Sha256Digest(const std::string& data);

// This machine's platform in OCI terms ("linux", "amd64" / "arm64" / uname's machine).
std::string HostArchitecture();

// Picks the manifest for os/arch from an OCI index / Docker manifest list.
// NotFound when none matches; InvalidArgument when `index` is not an index.
absl::StatusOr<size_t> SelectManifest(const nlohmann::json& index, const std::string& os,
                                      const std::string& arch);

struct ResolvedImage {
  impb::Image record;
  tpb_types::Descriptor manifest;
  tpb_types::Descriptor config;
  std::vector<tpb_types::Descriptor> layers;
  nlohmann::json config_json;        // the whole image config blob
  std::vector<std::string> diff_ids;  // rootfs.diff_ids
  std::string chain_id;               // of all layers: the snapshot to run from
};

// Reads the image record and the blobs it points at. NotFound: no such image or a missing
// blob; InvalidArgument: malformed JSON or an unknown media type; FailedPrecondition: layer
// and diff_id counts differ.
absl::StatusOr<ResolvedImage> ResolveImage(Images& images, Content& content,
                                           const std::string& name, const CallOptions& call = {});

// Sets containerd's GC reference labels on `root` and the blobs below it, as containerd's
// import/pull handlers do: an index gets containerd.io/gc.ref.content.m.<i> for its manifests,
// a manifest containerd.io/gc.ref.content.config and .l.<i> for its layers. Without them the
// garbage collector would free a manifest's config and layers once no lease holds them.
// Missing child blobs are skipped (an index may list other platforms' manifests).
absl::Status LabelChildren(Content& content, const tpb_types::Descriptor& root,
                           const CallOptions& call = {});

// Makes sure snapshots <chain ids> exist in `snapshotter`, applying missing layers through the
// diff service (prepare "extract-..." on the parent, apply, commit as the chain id), and labels
// the config blob with containerd.io/gc.ref.snapshot.<snapshotter> so GC keeps them.
// Errors: those of the snapshot and diff services, annotated with the layer.
absl::Status Unpack(Snapshots& snapshots, Content& content, const ResolvedImage& image,
                    const std::string& snapshotter, const CallOptions& call = {});

}  // namespace berth::client
