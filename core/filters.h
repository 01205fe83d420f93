// containerd's filter language, one parser for every List call.
//
//   name==foo,labels."a.b"~=^x      selectors joined by ',' must all match (AND)
//   name==a|name==b                 alternatives joined by '|' at the top level (OR)
//   labels.gc                       a field path alone: the field is present
// Operators: == (equal), != (not equal), ~= (regular expression: RE2, i.e. Go's syntax).
// Field path elements: [A-Za-z_][A-Za-z0-9_]* or a quoted string ("a.b" or 'a.b').
// Values: quoted strings or runs of characters other than whitespace, ',' and '|'.
// Several filter strings passed to ParseAny are alternatives too (containerd's ParseAll).
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace berth::filters {

// Looks up a field path ("labels", "a.b") on an object: the value, or nullopt when absent.
using Adaptor = std::function<std::optional<std::string>(const std::vector<std::string>& path)>;

class Filter {
 public:
  virtual ~Filter() = default;
  virtual bool Match(const Adaptor& adaptor) const = 0;
};

// Parses one filter string. InvalidArgument naming the position and what was expected.
absl::StatusOr<std::unique_ptr<Filter>> Parse(absl::string_view text);

// Parses several filters (alternatives). No filter (or only empty strings) matches everything.
absl::StatusOr<std::unique_ptr<Filter>> ParseAny(const std::vector<std::string>& texts);

}  // namespace berth::filters
