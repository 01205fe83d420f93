#include "plugins/transfer/reference.h"

#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
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

// distribution/reference: a path component is [a-z0-9]+ runs joined by one separator each:
// ".", "_", "__" or any number of "-". So no component is "." or "..", or starts or ends with a
// separator (the importer takes names from archives; a pull's host directory comes from them).
bool ValidPathComponent(absl::string_view c) {
  size_t i = 0;
  while (true) {
    size_t run = i;
    while (i < c.size() && (absl::ascii_islower(c[i]) || absl::ascii_isdigit(c[i]))) ++i;
    if (i == run) return false;  // empty, or a separator at the start or after another
    if (i == c.size()) return true;
    absl::string_view sep = c.substr(i, c.find_first_not_of("._-", i) - i);
    bool dashes = sep.find_first_not_of('-') == absl::string_view::npos;
    if (!(sep == "." || sep == "_" || sep == "__" || dashes)) return false;
    i += sep.size();
  }
}

bool ValidRepository(absl::string_view repo) {
  if (repo.empty() || repo.size() > 255) return false;
  for (absl::string_view c : absl::StrSplit(repo, '/')) {
    if (!ValidPathComponent(c)) return false;
  }
  return true;
}

// distribution/reference: dot-separated components of [a-zA-Z0-9-] that neither start nor end
// with '-', or a bracketed IPv6 address; then an optional ":<port>".
bool ValidHost(absl::string_view host) {
  absl::string_view name = host;
  if (size_t colon = host.rfind(':');
      colon != absl::string_view::npos && host.find(']', colon) == absl::string_view::npos) {
    absl::string_view port = host.substr(colon + 1);
    if (port.empty() || port.size() > 5 ||
        !std::all_of(port.begin(), port.end(), absl::ascii_isdigit)) {
      return false;
    }
    name = host.substr(0, colon);
  }
  if (absl::ConsumePrefix(&name, "[")) {
    return absl::ConsumeSuffix(&name, "]") && !name.empty() &&
           name.find_first_not_of("0123456789abcdefABCDEF:.") == absl::string_view::npos;
  }
  for (absl::string_view c : absl::StrSplit(name, '.')) {
    if (c.empty() || c.front() == '-' || c.back() == '-') return false;
    for (char ch : c) {
      if (!absl::ascii_isalnum(ch) && ch != '-') return false;
    }
  }
  return true;
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
  if (!ValidHost(ref.host)) return bad("invalid registry host");
  if (!ValidRepository(ref.repository)) {
    return bad("invalid repository name (lower case, components like a.b_c-d separated by '/')");
  }
  if (ref.tag.empty() && ref.digest.empty()) ref.tag = "latest";
  return ref;
}

std::string RegistryHostFor(const std::string& host) {
  return host == "docker.io" ? "registry-1.docker.io" : host;
}

}  // namespace berth::transfer
