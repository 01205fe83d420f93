#pragma once
// One mapping of RocksDB statuses to Berth's (and so, through core/status, to gRPC codes).

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "rocksdb/status.h"

namespace berth::rocks {

// NotFound -> NOT_FOUND, no space -> RESOURCE_EXHAUSTED, busy / try again -> UNAVAILABLE,
// anything else -> INTERNAL; the message is "<what>: <RocksDB's text>".
absl::Status FromRocks(const rocksdb::Status& s, absl::string_view what);

}  // namespace berth::rocks
