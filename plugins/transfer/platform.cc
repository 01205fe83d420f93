#include "plugins/transfer/platform.h"

#include <sys/utsname.h>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace berth::transfer {

std::string Platform::String() const {
  std::string out = absl::StrCat(os, "/", architecture);
  if (!variant.empty()) absl::StrAppend(&out, "/", variant);
  return out;
}

Platform Normalize(Platform p) {
  p.os = absl::AsciiStrToLower(p.os);
  std::string& a = p.architecture;
  a = absl::AsciiStrToLower(a);
  if (a == "x86_64" || a == "x86-64") {
    a = "amd64";
    if (p.variant == "v1") p.variant.clear();
  } else if (a == "aarch64" || a == "arm64") {
    a = "arm64";
    if (p.variant == "8" || p.variant == "v8") p.variant.clear();
  } else if (a == "armhf") {
    a = "arm";
    p.variant = "v7";
  } else if (a == "armel") {
    a = "arm";
    p.variant = "v6";
  } else if (a == "arm" && p.variant.empty()) {
    p.variant = "v7";
  } else if (a == "i386" || a == "i686") {
    a = "386";
  }
  if (!p.variant.empty() && absl::ascii_isdigit(p.variant[0])) p.variant = "v" + p.variant;
  return p;
}

Platform DefaultPlatform() {
  struct utsname u {};
  uname(&u);
  Platform p{"linux", u.machine, "", ""};
  if (p.architecture.rfind("armv", 0) == 0) {  // armv7l -> arm v7
    p.variant = std::string("v") + p.architecture[4];
    p.architecture = "arm";
  }
  return Normalize(p);
}

absl::StatusOr<Platform> ParsePlatform(absl::string_view s) {
  std::vector<std::string> parts = absl::StrSplit(s, '/');
  if (s.empty() || parts.size() > 3) {
    return absl::InvalidArgumentError(absl::StrCat("invalid platform \"", s, "\""));
  }
  Platform p;
  if (parts.size() == 1) {
    p.os = "linux";
    p.architecture = parts[0];
  } else {
    p.os = parts[0];
    p.architecture = parts[1];
    if (parts.size() == 3) p.variant = parts[2];
  }
  return Normalize(p);
}

bool Matches(const Platform& want_in, const Platform& have_in) {
  Platform want = Normalize(want_in), have = Normalize(have_in);
  if (want.os != have.os || want.architecture != have.architecture) return false;
  return want.variant.empty() || have.variant.empty() || want.variant == have.variant;
}

}  // namespace berth::transfer
