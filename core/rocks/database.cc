#include "core/rocks/database.h"

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "core/fs.h"
#include "core/rocks/logger.h"
#include "core/rocks/status.h"
#include "core/status_macros.h"

namespace berth::rocks {

absl::StatusOr<std::unique_ptr<Database>> Database::Open(const std::string& dir,
                                                        const Tuning& tuning) {
  BERTH_RETURN_IF_ERROR(fs::MkdirAll(dir, 0700));
  std::unique_ptr<Database> d(new Database);
  rocksdb::Options options;
  if (tuning.file_system) {
    d->env_ = rocksdb::NewCompositeEnv(tuning.file_system);
    options.env = d->env_.get();
  }
  options.info_log = NewLogger(dir);
  options.create_if_missing = true;
  options.max_open_files = tuning.max_open_files;
  options.write_buffer_size = tuning.write_buffer_size;
  options.max_write_buffer_number = 2;
  // No fallocate'd WAL: RocksDB would reserve ~1.1x the write buffer on disk up front, tens of
  // MiB that `du` of the root shows as used.
  options.allow_fallocate = false;
  // The WAL is synced on every write; a flush at close only costs time.
  options.avoid_flush_during_shutdown = true;
  // No periodic statistics: RocksDB's stats dump into the info LOG (every 10 minutes, first a
  // few seconds after open) faulted 1.7 MB of its statistics code into an idle berthd.
  options.stats_dump_period_sec = 0;
  options.stats_persist_period_sec = 0;
  options.max_background_jobs = 1;
  options.IncreaseParallelism(1);

  rocksdb::DB* raw = nullptr;
  rocksdb::Status s = rocksdb::DB::Open(options, dir, &raw);
  if (s.IsIOError() && absl::StrContains(s.ToString(), "lock")) {
    return absl::UnavailableError(
        absl::StrCat("open database ", dir, ": held by another process? ", s.ToString()));
  }
  BERTH_RETURN_IF_ERROR(FromRocks(s, absl::StrCat("open database ", dir)));
  d->db_.reset(raw);
  return d;
}

Database::~Database() = default;

}  // namespace berth::rocks
