// Identifier and label rules: the first check every create/update request passes through.
#include <cstdint>
#include <map>
#include <string>

#include "core/identifiers.h"
#include "core/labels.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string text(reinterpret_cast<const char*>(data), size);
  (void)berth::ValidateIdentifier("fuzz", text);
  size_t eq = text.find('=');
  std::string key = text.substr(0, eq);
  std::string value = eq == std::string::npos ? "" : text.substr(eq + 1);
  (void)berth::ValidateLabel(key, value);
  std::map<std::string, std::string> labels{{key, value}, {"a", text}};
  (void)berth::ValidateLabels(labels);
  (void)berth::LabelForFilterPath(labels, {"labels", key});
  berth::Labels out;
  (void)berth::ApplyMapPath("labels", "labels." + key, labels, &out);
  return 0;
}
