// containerd's filter language: every List call of every service parses client text.
#include <cstdint>
#include <string>

#include "core/filters.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string text(reinterpret_cast<const char*>(data), size);
  auto filter = berth::filters::Parse(text);
  if (!filter.ok()) return 0;
  // Matching runs the regular expressions the text carries against attacker-chosen values.
  berth::filters::Adaptor adaptor = [&text](const std::vector<std::string>& path)
      -> std::optional<std::string> {
    if (path.empty()) return std::nullopt;
    if (path[0] == "name") return text;
    if (path[0] == "labels" && path.size() > 1) return std::string(path[1].size(), 'a');
    return std::nullopt;
  };
  (void)(*filter)->Match(adaptor);
  return 0;
}
