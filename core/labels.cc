#include "core/labels.h"

namespace berth {

bool ApplyMapPath(const std::string& path, const std::string& field, const Labels& from,
                  Labels* to) {
  if (path == field) {
    *to = from;
    return true;
  }
  if (path.size() <= field.size() + 1 || path.compare(0, field.size(), field) != 0 ||
      path[field.size()] != '.') {
    return false;
  }
  std::string key = path.substr(field.size() + 1);
  auto it = from.find(key);
  if (it == from.end() || it->second.empty()) {
    to->erase(key);
  } else {
    (*to)[key] = it->second;
  }
  return true;
}

std::optional<std::string> LabelForFilterPath(const Labels& labels,
                                              const std::vector<std::string>& path) {
  if (path.size() < 2 || path[0] != "labels") return std::nullopt;
  std::string key = path[1];
  for (size_t i = 2; i < path.size(); ++i) key += "." + path[i];
  auto it = labels.find(key);
  if (it == labels.end()) return std::nullopt;
  return it->second;
}

}  // namespace berth
