// JSON from outside the daemon (image documents, CNI plugin output and configs) parsed into
// values the rest of CRI copies, compares and dumps freely. Those nlohmann operations recurse
// once per nesting level, so a document nested deeper than kMaxJsonDepth is refused like invalid
// JSON: a 400 kB image config of nested arrays otherwise overflowed berthd's stack.
#pragma once

#include "absl/strings/string_view.h"
#include "nlohmann/json.hpp"

namespace berth::cri {

inline constexpr int kMaxJsonDepth = 128;

// The document, or a discarded value (is_discarded()) for invalid or too deeply nested JSON.
// Never throws.
nlohmann::json ParseJsonDocument(absl::string_view text);

}  // namespace berth::cri
