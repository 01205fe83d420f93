// berthd's TOML configuration (an admin's file, but also what `berthd config` reads back).
#include <cstdint>
#include "absl/strings/string_view.h"

#include "core/config.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  absl::string_view text(reinterpret_cast<const char*>(data), size);
  (void)berth::DaemonConfig::Parse(text, "fuzz.toml");
  return 0;
}
