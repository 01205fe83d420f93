// Platforms (OCI image index "platform" objects) and the matching rules of containerd's
// platforms.Only for one wanted platform: same os and architecture (after normalising names
// such as x86_64 -> amd64, aarch64 -> arm64), and the same variant when both name one
// (arm64's default variant v8 equals an absent one).
#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace berth::transfer {

struct Platform {
  std::string os;
  std::string architecture;
  std::string variant;
  std::string os_version;

  // "linux/amd64", "linux/arm/v7".
  std::string String() const;
};

// This machine's platform (linux/<GOARCH of uname -m>[/variant]).
Platform DefaultPlatform();

// "linux/amd64", "linux/arm64/v8", "amd64" (os = linux). InvalidArgument for an empty string.
absl::StatusOr<Platform> ParsePlatform(absl::string_view s);

// Normalised names (x86_64 -> amd64, aarch64 -> arm64 v8, armhf -> arm v7, ...).
Platform Normalize(Platform p);

// True when `have` (from an index) satisfies `want`.
bool Matches(const Platform& want, const Platform& have);

}  // namespace berth::transfer
