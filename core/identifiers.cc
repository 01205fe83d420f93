#include "core/identifiers.h"

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"

namespace berth {

absl::Status ValidateIdentifier(absl::string_view what, absl::string_view id) {
  if (id.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(what, " name must not be empty"));
  }
  if (id.size() > kMaxIdentifierLength) {
    return absl::InvalidArgumentError(absl::StrCat(what, " name \"", id, "\" is longer than ",
                                                   kMaxIdentifierLength, " characters"));
  }
  // Alphanumeric runs separated by single '.', '_' or '-'; no separator at either end.
  bool prev_separator = true;  // the first character must be alphanumeric
  for (char c : id) {
    bool separator = c == '.' || c == '_' || c == '-';
    if (separator) {
      if (prev_separator) break;
    } else if (!absl::ascii_isalnum(static_cast<unsigned char>(c))) {
      prev_separator = true;  // forces the error below
      break;
    }
    prev_separator = separator;
  }
  if (prev_separator) {
    return absl::InvalidArgumentError(absl::StrCat(
        what, " name \"", id, "\" must match ^[A-Za-z0-9]+(?:[._-][A-Za-z0-9]+)*$"));
  }
  return absl::OkStatus();
}

absl::Status ValidateLabel(absl::string_view key, absl::string_view value) {
  if (key.empty()) return absl::InvalidArgumentError("label key must not be empty");
  if (key.size() + value.size() > kMaxLabelSize) {
    return absl::InvalidArgumentError(absl::StrCat("label key and value of \"", key.substr(0, 64),
                                                   "\" are longer than ", kMaxLabelSize,
                                                   " bytes"));
  }
  return absl::OkStatus();
}

absl::Status ValidateLabels(const std::map<std::string, std::string>& labels) {
  for (const auto& [key, value] : labels) {
    if (auto s = ValidateLabel(key, value); !s.ok()) return s;
  }
  return absl::OkStatus();
}

}  // namespace berth
