#pragma once
// RocksDB's info log, sent to berthd's own log (component "rocksdb") instead of a LOG file.
//
// Why: no LOG / LOG.old.* files to rotate under the root, RocksDB's warnings land next to ours
// with the database named, and no file writer that a full disk can poison: Debian's
// assert-enabled librocksdb aborts when a logger whose write once failed logs again, which
// closing the database does.

#include <memory>
#include <string>

#include "rocksdb/env.h"

namespace berth::rocks {

// RocksDB's INFO (hundreds of lines per open) goes to trace; WARN, ERROR and FATAL to warn,
// error and critical. Below trace verbosity RocksDB does not even format its INFO lines.
std::shared_ptr<rocksdb::Logger> NewLogger(const std::string& db_path);

}  // namespace berth::rocks
