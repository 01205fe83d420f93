// Propagation macros for absl::Status / absl::StatusOr.
//
// Debian's Abseil (20220623) ships no ABSL_RETURN_IF_ERROR, so Berth keeps its own.
#pragma once

#include "absl/status/status.h"
#include "absl/status/statusor.h"

#define BERTH_STATUS_CONCAT_INNER_(x, y) x##y
#define BERTH_STATUS_CONCAT_(x, y) BERTH_STATUS_CONCAT_INNER_(x, y)

// Returns from the current function when `expr` (an absl::Status) is not OK.
#define BERTH_RETURN_IF_ERROR(expr)                                  \
  do {                                                               \
    if (::absl::Status berth_status_ = (expr); !berth_status_.ok()) { \
      return berth_status_;                                          \
    }                                                                \
  } while (false)

// `BERTH_ASSIGN_OR_RETURN(auto x, Compute());` declares/assigns x from a StatusOr, or returns
// its status.
#define BERTH_ASSIGN_OR_RETURN(lhs, expr) \
  BERTH_ASSIGN_OR_RETURN_IMPL_(BERTH_STATUS_CONCAT_(berth_statusor_, __LINE__), lhs, expr)

#define BERTH_ASSIGN_OR_RETURN_IMPL_(statusor, lhs, expr) \
  auto statusor = (expr);                                 \
  if (!statusor.ok()) {                                   \
    return std::move(statusor).status();                  \
  }                                                       \
  lhs = std::move(statusor).value()
