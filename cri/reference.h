// Image references as kubelet expects them normalised (docker's reference grammar, the subset
// kubelet sends): "busybox" -> "docker.io/library/busybox:latest",
// "foo/bar@sha256:.." -> "docker.io/foo/bar@sha256:..".
#pragma once

#include <string>

#include "absl/status/statusor.h"

namespace berth::cri {

struct Reference {
  std::string name;    // "docker.io/library/busybox"
  std::string tag;     // "latest" (empty when only a digest was given)
  std::string digest;  // "sha256:<hex>" or empty

  // name:tag, or name@digest when there is no tag.
  std::string String() const;
};

// InvalidArgument for an empty reference, upper case in the repository, a bad digest.
absl::StatusOr<Reference> ParseReference(const std::string& ref);

// The full normalised string ("busybox" -> "docker.io/library/busybox:latest").
absl::StatusOr<std::string> NormalizeReference(const std::string& ref);

// True when `s` is a bare image id: "sha256:<64 hex>" or 64 hex characters.
bool IsImageId(const std::string& s);

}  // namespace berth::cri
