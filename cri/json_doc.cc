#include "cri/json_doc.h"

#include <algorithm>

namespace berth::cri {

nlohmann::json ParseJsonDocument(absl::string_view text) {
  using json = nlohmann::json;
  // The parser itself is iterative; the callback only records how deep the document goes. At
  // the start of an object or array, `d` counts the containers around it.
  int depth = 0;
  json::parser_callback_t track = [&depth](int d, json::parse_event_t event, json&) {
    if (event == json::parse_event_t::object_start || event == json::parse_event_t::array_start) {
      depth = std::max(depth, d + 1);
    }
    return true;
  };
  json j = json::parse(text.begin(), text.end(), track, /*allow_exceptions=*/false);
  if (depth > kMaxJsonDepth) return json(json::value_t::discarded);
  return j;
}

std::string JsonString(const nlohmann::json& j, const char* key, const std::string& fallback) {
  if (!j.is_object()) return fallback;
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : fallback;
}

}  // namespace berth::cri
