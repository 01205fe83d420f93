// A small SHA-256 (FIPS 180-4) for the shim's socket address hash: the shim avoids linking
// OpenSSL for one hash of a short string.
#pragma once

#include <string>

#include "absl/strings/string_view.h"

namespace berth::shim {

// Lower-case hex digest of `data`.
std::string Sha256Hex(absl::string_view data);

}  // namespace berth::shim
