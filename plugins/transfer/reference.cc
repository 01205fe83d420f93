#include "plugins/transfer/reference.h"

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "content-store/digest.h"

namespace berth::transfer {
namespace {

bool ValidTag(absl::string_view tag) {
  // distribution/reference: [\w][\w.-]{0,127}
  if (tag.empty() || tag.size() > 128) return false;
  for (size_t i = 0; i < tag.size(); ++i) {
    char c = tag[i];
    bool word = absl::ascii_isalnum(c) || c == '_';
    if (!(word || (i > 0 && (c == '.' || c == '-')))) return false;
  }
  return true;
}

bool ValidRepository(absl::string_view repo) {
  if (repo.empty() || repo.size() > 255) return false;
  for (char c : repo) {
    if (!(absl::ascii_islower(c) || absl::ascii_isdigit(c) || c == '.' || c == '_' || c == '-' ||
          c == '/')) {
      return false;
    }
  }
  return repo.front() != '/' && repo.back() != '/' && !absl::StrContains(repo, "//");
}

}  // namespace

std::string Reference::String() const {
  std::string out = absl::StrCat(host, "/", repository);
  if (!tag.empty()) absl::StrAppend(&out, ":", tag);
  if (!digest.empty()) absl::StrAppend(&out, "@", digest);
  return out;
}

absl::StatusOr<Reference> ParseReference(absl::string_view input) {
  auto bad = [&](absl::string_view why) {
    return absl::InvalidArgumentError(absl::StrCat("invalid reference \"", input, "\": ", why));
  };
  if (input.empty()) return bad("empty");
  std::string s(input);
  Reference ref;
  if (size_t at = s.find('@'); at != std::string::npos) {
    auto d = content::Digest::Parse(s.substr(at + 1));
    if (!d.ok()) return bad(d.status().message());
    ref.digest = d->str();
    s.resize(at);
  }
  // A tag is after the last ':' that follows the last '/' (a ':' before it is a port).
  size_t slash = s.rfind('/');
  size_t colon = s.rfind(':');
  if (colon != std::string::npos && (slash == std::string::npos || colon > slash)) {
    ref.tag = s.substr(colon + 1);
    s.resize(colon);
    if (!ValidTag(ref.tag)) return bad("invalid tag");
  }
  size_t first = s.find('/');
  std::string head = first == std::string::npos ? "" : s.substr(0, first);
  if (!head.empty() &&
      (absl::StrContains(head, '.') || absl::StrContains(head, ':') || head == "localhost")) {
    ref.host = head;
    ref.repository = s.substr(first + 1);
  } else {
    ref.host = "docker.io";
    ref.repository = s;
  }
  if (ref.host == "index.docker.io") ref.host = "docker.io";
  if (ref.host == "docker.io" && !absl::StrContains(ref.repository, '/')) {
    ref.repository = absl::StrCat("library/", ref.repository);
  }
  if (!ValidRepository(ref.repository)) return bad("invalid repository name (lower case only)");
  if (ref.tag.empty() && ref.digest.empty()) ref.tag = "latest";
  return ref;
}

std::string RegistryHostFor(const std::string& host) {
  return host == "docker.io" ? "registry-1.docker.io" : host;
}

}  // namespace berth::transfer
