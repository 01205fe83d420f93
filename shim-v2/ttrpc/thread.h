// Detached threads with small stacks: the shim's memory per container is a headline figure,
// and a default 8 MiB stack reservation per thread is wasteful (touched pages are what count,
// but small reservations keep VSZ and accidental growth in check).
#pragma once

#include <cstddef>
#include <functional>

#include "absl/status/status.h"

namespace berth::ttrpc {

inline constexpr size_t kSmallStack = 256 * 1024;

// Runs fn on a new detached thread. Errors: errno codes of pthread_create.
absl::Status StartDetached(std::function<void()> fn, size_t stack_size = kSmallStack);

}  // namespace berth::ttrpc
