// The walking differ (io.containerd.differ.v1.walking) as a domain core: applies a layer blob
// from the namespaced content store onto a snapshot's mounts, and turns the difference of two
// mount sets into a new layer blob. The tar work is plugins/diff's.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "core/mount/mount.h"
#include "plugins/images/images.h"
#include "plugins/metadata/plugin.h"

namespace berth::differ {

inline constexpr char kUncompressedLabel[] = "containerd.io/uncompressed";

class WalkingDiffer {
 public:
  // A layer already extracted elsewhere (unpack ahead) moved onto `mounts`: nullopt when there
  // is none for this layer and target (nothing was changed), else the applied descriptor.
  using StagedApply = std::function<std::optional<absl::StatusOr<images::Descriptor>>(
      const std::string& ns, const images::Descriptor& desc,
      const std::vector<mount::Mount>& mounts)>;

  explicit WalkingDiffer(std::shared_ptr<metadata::Metadata> md, StagedApply staged = {})
      : md_(std::move(md)), staged_(std::move(staged)) {}

  // Applies layer `desc` (read from `ns`; its digest is verified) onto `mounts` - from a staged
  // tree when `staged` has one, else: straight into
  // the directory of a single bind mount, into the upper directory of an overlay (whiteouts as
  // overlay whiteouts), or through a temporary mount otherwise. Returns the applied
  // descriptor: uncompressed tar media type, the diff ID, the uncompressed size.
  // NotFound for a missing blob; InvalidArgument for a hostile layer (nothing escapes the root);
  // FailedPrecondition for a digest mismatch.
  absl::StatusOr<images::Descriptor> Apply(const std::string& ns, const images::Descriptor& desc,
                                           const std::vector<mount::Mount>& mounts);

  // Writes the changes from `lower` to `upper` as a gzip OCI layer into the content store of
  // `ns` (ingest `ref`, or a generated one), labelled `labels` plus containerd.io/uncompressed.
  absl::StatusOr<images::Descriptor> Diff(const std::string& ns, const std::string& lease,
                                          const std::vector<mount::Mount>& lower,
                                          const std::vector<mount::Mount>& upper,
                                          const std::string& media_type, const std::string& ref,
                                          std::map<std::string, std::string> labels);

 private:
  std::shared_ptr<metadata::Metadata> md_;
  StagedApply staged_;  // empty: no unpack ahead
};

}  // namespace berth::differ
