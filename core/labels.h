// Label maps as every containerd object carries them, and the two ways clients address one
// label: update field paths ("labels", "labels.<key>") and filter paths (["labels", "a", "b"]).
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

namespace berth {

using Labels = std::map<std::string, std::string>;

// Applies one update field path of a string map named `field` ("labels", "annotations"):
// "<field>" replaces the whole map with `from`; "<field>.<key>" sets that key from `from`, or
// removes it when `from` lacks it or holds "". Returns false when `path` is not about `field`.
bool ApplyMapPath(const std::string& path, const std::string& field, const Labels& from,
                  Labels* to);

// The value a filter path ["labels", "a", "b"] names (key "a.b"), or nullopt when absent or
// when the path does not start with "labels".
std::optional<std::string> LabelForFilterPath(const Labels& labels,
                                              const std::vector<std::string>& path);

}  // namespace berth
