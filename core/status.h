// Status helpers shared by every component.
//
// Berth uses absl::Status everywhere. Codes are used the way containerd uses errdefs:
//   NotFound            errdefs.ErrNotFound
//   AlreadyExists       errdefs.ErrAlreadyExists
//   FailedPrecondition  errdefs.ErrFailedPrecondition (also: wrong state, digest mismatch)
//   InvalidArgument     errdefs.ErrInvalidArgument
//   Unavailable         errdefs.ErrUnavailable (e.g. a locked ingest ref)
//   Unimplemented       errdefs.ErrNotImplemented
//   Aborted             errdefs.ErrAborted
// The mapping to gRPC / ttrpc codes happens once, at the wire edge (services/, shim-v2/ttrpc).
#pragma once

#include <cerrno>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"

namespace berth {

// Adds "context: " in front of an error's message, keeping its code. OK stays OK.
absl::Status Annotate(const absl::Status& status, absl::string_view context);

// A Status for a failed system call: the code follows errno (ENOENT -> NotFound, EEXIST ->
// AlreadyExists, EINVAL -> InvalidArgument, EACCES/EPERM -> PermissionDenied, EBUSY ->
// FailedPrecondition, ENOSPC -> ResourceExhausted, otherwise Internal). Message:
// "<what>: <strerror>".
absl::Status ErrnoStatus(int err, absl::string_view what);

// Convenience: ErrnoStatus(errno, what).
inline absl::Status ErrnoStatus(absl::string_view what) { return ErrnoStatus(errno, what); }

}  // namespace berth
