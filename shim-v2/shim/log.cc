#include "shim-v2/shim/log.h"

#include <unistd.h>

#include <atomic>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace berth::shim {
namespace {
std::atomic<bool> g_debug{false};
}

void SetDebug(bool on) { g_debug = on; }
bool DebugEnabled() { return g_debug; }

void Log(absl::string_view level, absl::string_view msg) {
  if (level == "debug" && !g_debug) return;
  // logrus-like text so containerd's copy of the shim log reads naturally.
  std::string line = absl::StrCat(
      "time=\"", absl::FormatTime(absl::RFC3339_full, absl::Now(), absl::UTCTimeZone()),
      "\" level=", level, " msg=\"", msg, "\" runtime=io.containerd.berth.v2\n");
  ssize_t rc = write(STDERR_FILENO, line.data(), line.size());
  (void)rc;
}

}  // namespace berth::shim
