#include "core/status_macros.h"
#include "cri/reference.h"

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace berth::cri {
namespace {

bool IsHex64(const std::string& s) {
  if (s.size() != 64) return false;
  for (char c : s) {
    if (!absl::ascii_isdigit(c) && !(c >= 'a' && c <= 'f')) return false;
  }
  return true;
}

}  // namespace

std::string Reference::String() const {
  if (!tag.empty()) return absl::StrCat(name, ":", tag, digest.empty() ? "" : "@", digest);
  return absl::StrCat(name, "@", digest);
}

bool IsImageId(const std::string& s) {
  if (absl::StartsWith(s, "sha256:")) return IsHex64(s.substr(7));
  return IsHex64(s);
}

absl::StatusOr<Reference> ParseReference(const std::string& input) {
  if (input.empty()) return absl::InvalidArgumentError("image reference is empty");
  Reference ref;
  std::string rest = input;
  if (auto at = rest.find('@'); at != std::string::npos) {
    ref.digest = rest.substr(at + 1);
    rest = rest.substr(0, at);
    if (!absl::StartsWith(ref.digest, "sha256:") || !IsHex64(ref.digest.substr(7))) {
      return absl::InvalidArgumentError(absl::StrCat("image reference \"", input,
                                                     "\" has an invalid digest"));
    }
  }
  // A tag is after the last ':' that comes after the last '/' (a ':' before is a host port).
  size_t slash = rest.rfind('/');
  size_t colon = rest.rfind(':');
  if (colon != std::string::npos && (slash == std::string::npos || colon > slash)) {
    ref.tag = rest.substr(colon + 1);
    rest = rest.substr(0, colon);
    if (ref.tag.empty()) return absl::InvalidArgumentError(absl::StrCat("image reference \"", input, "\" has an empty tag"));
  }
  if (rest.empty()) return absl::InvalidArgumentError(absl::StrCat("image reference \"", input, "\" has no name"));
  // The first component is a registry host when it has a '.' or ':' or is "localhost".
  size_t first = rest.find('/');
  std::string domain, path = rest;
  if (first != std::string::npos) {
    std::string head = rest.substr(0, first);
    if (absl::StrContains(head, ".") || absl::StrContains(head, ":") || head == "localhost") {
      domain = head;
      path = rest.substr(first + 1);
    }
  }
  if (domain.empty()) domain = "docker.io";
  if (domain == "index.docker.io") domain = "docker.io";
  if (domain == "docker.io" && !absl::StrContains(path, "/")) path = "library/" + path;
  for (char c : path) {
    if (absl::ascii_isupper(c)) {
      return absl::InvalidArgumentError(
          absl::StrCat("image reference \"", input, "\": repository name must be lowercase"));
    }
  }
  ref.name = absl::StrCat(domain, "/", path);
  if (ref.tag.empty() && ref.digest.empty()) ref.tag = "latest";
  return ref;
}

absl::StatusOr<std::string> NormalizeReference(const std::string& input) {
  auto ref = ParseReference(input);
  if (!ref.ok()) return ref.status();
  return ref->String();
}

}  // namespace berth::cri
