#pragma once
// A RocksDB database opened the way every Berth store wants it: small, its info log in
// berthd's log (see logger.h), no flush at close. Callers write with WriteOptions::sync = true,
// so every acknowledged write is on disk and the next open replays the WAL.

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "rocksdb/db.h"
#include "rocksdb/file_system.h"

namespace berth::rocks {

struct Tuning {
  size_t write_buffer_size = 1 << 20;  // Berth's records are small
  int max_open_files = 64;
  // The files underneath; nullptr is the local disk. Tests pass one that fails on demand.
  std::shared_ptr<rocksdb::FileSystem> file_system;
};

class Database {
 public:
  // Opens (creating) the database in `dir`. A database another process holds open is
  // UNAVAILABLE; other failures name `dir`.
  static absl::StatusOr<std::unique_ptr<Database>> Open(const std::string& dir,
                                                        const Tuning& tuning = {});
  ~Database();

  rocksdb::DB* get() const { return db_.get(); }

 private:
  Database() = default;

  // Declared first, destroyed last: the database uses it to its end.
  std::unique_ptr<rocksdb::Env> env_;  // over Tuning::file_system, if one was given
  std::unique_ptr<rocksdb::DB> db_;
};

}  // namespace berth::rocks
