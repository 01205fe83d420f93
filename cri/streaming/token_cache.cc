#include "cri/streaming/token_cache.h"

#include <sys/random.h>

#include "absl/strings/escaping.h"
#include "core/status.h"

namespace berth::cri::streaming {

absl::StatusOr<std::string> NewToken() {
  unsigned char buf[32];
  size_t got = 0;
  while (got < sizeof(buf)) {
    ssize_t n = getrandom(buf + got, sizeof(buf) - got, 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      return ErrnoStatus("streaming: getrandom");
    }
    got += static_cast<size_t>(n);
  }
  return absl::WebSafeBase64Escape(
      absl::string_view(reinterpret_cast<const char*>(buf), sizeof(buf)));
}

}  // namespace berth::cri::streaming
