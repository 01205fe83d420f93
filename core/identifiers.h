// Validation of names and labels with containerd's rules.
//
// Identifiers (namespaces, containers, leases, snapshots keys are free-form):
//   ^[A-Za-z0-9]+(?:[._-][A-Za-z0-9]+)*$, at most 76 characters.
// Labels: key non-empty, key + value at most 4096 bytes.
#pragma once

#include <map>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace berth {

inline constexpr size_t kMaxIdentifierLength = 76;
inline constexpr size_t kMaxLabelSize = 4096;

// OK, or InvalidArgument naming `what` (e.g. "namespace") and the offending value.
absl::Status ValidateIdentifier(absl::string_view what, absl::string_view id);

// OK, or InvalidArgument naming the label key.
absl::Status ValidateLabel(absl::string_view key, absl::string_view value);

// Validates every label of a map.
absl::Status ValidateLabels(const std::map<std::string, std::string>& labels);

}  // namespace berth
