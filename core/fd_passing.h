// One file descriptor over a unix socket (SCM_RIGHTS) together with a few bytes of payload.
// System calls only, no allocation: usable between clone() and exec (the executor's init, the
// network namespace helper) as well as anywhere else.
#pragma once

#include <sys/types.h>

#include <cstddef>

namespace berth::fdpass {

// Sends `len` bytes of `data` (at least one) and, when fd >= 0, the descriptor with them.
// Returns the bytes sent or -errno.
ssize_t SendWithFd(int sock, const void* data, size_t len, int fd);

// Receives up to `cap` bytes (at least one) into `data`, and the descriptor sent with them into
// *fd (close-on-exec), or -1 when none came. Returns the bytes received (0 at end of stream) or
// -errno.
ssize_t RecvWithFd(int sock, void* data, size_t cap, int* fd);

}  // namespace berth::fdpass
