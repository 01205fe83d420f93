// The shim's logger: plain lines on stderr, which the serving shim points at the bundle's `log`
// fifo (containerd 1.6 copies it into its own log). No spdlog: the shim's RSS is a headline
// figure and one fprintf-style writer is all it needs.
#pragma once

#include "absl/strings/string_view.h"

namespace berth::shim {

void SetDebug(bool on);
bool DebugEnabled();
// level: "info", "warn", "error", "debug" (debug lines only when SetDebug(true)).
void Log(absl::string_view level, absl::string_view msg);

}  // namespace berth::shim
