// OCI runtime config.json (berth-runc reads bundles written by any client) and the process /
// resources documents of `runc exec --process` and `runc update --resources`.
#include <cstdint>
#include "absl/strings/string_view.h"

#include "executor/spec.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  absl::string_view json(reinterpret_cast<const char*>(data), size);
  (void)berth::executor::ParseSpec(json);
  (void)berth::executor::ParseProcess(json);
  (void)berth::executor::ParseResources(json);
  return 0;
}
