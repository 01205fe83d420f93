// JSON from outside the daemon (image documents, CNI plugin output and configs) parsed into
// values the rest of CRI copies, compares and dumps freely. Those nlohmann operations recurse
// once per nesting level, so a document nested deeper than kMaxJsonDepth is refused like invalid
// JSON: a 400 kB image config of nested arrays otherwise overflowed berthd's stack.
#pragma once

#include <string>

#include "absl/strings/string_view.h"
#include "nlohmann/json.hpp"

namespace berth::cri {

inline constexpr int kMaxJsonDepth = 128;

// The document, or a discarded value (is_discarded()) for invalid or too deeply nested JSON.
// Never throws.
nlohmann::json ParseJsonDocument(absl::string_view text);

// The string member `key` of such a document, `fallback` when `j` is not an object or the member
// is absent or not a string (nlohmann's value() throws on a type mismatch, which ends berthd).
std::string JsonString(const nlohmann::json& j, const char* key, const std::string& fallback = "");

}  // namespace berth::cri
