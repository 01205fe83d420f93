// Image references as docker and containerd normalise them:
//   "busybox"                    -> docker.io/library/busybox:latest
//   "user/app:1"                 -> docker.io/user/app:1
//   "localhost:5000/x@sha256:.." -> localhost:5000/x@sha256:..
// The first path component is a registry host when it contains '.' or ':' or is "localhost".
#pragma once

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace berth::transfer {

struct Reference {
  std::string host;        // "docker.io", "127.0.0.1:5000"
  std::string repository;  // "library/busybox"
  std::string tag;         // "" when only a digest was given
  std::string digest;      // "sha256:..." or ""

  // "docker.io/library/busybox:latest", "host/repo@sha256:..", "host/repo:tag@sha256:..".
  std::string String() const;
  // What to ask the registry for: the digest when set, else the tag.
  const std::string& Object() const { return digest.empty() ? tag : digest; }
};

// Parses and normalises. InvalidArgument naming the reference when it is empty, has upper-case
// letters in the repository, an invalid tag, or a malformed digest.
absl::StatusOr<Reference> ParseReference(absl::string_view ref);

// The host to talk to for a reference host: docker.io -> registry-1.docker.io.
std::string RegistryHostFor(const std::string& host);

}  // namespace berth::transfer
