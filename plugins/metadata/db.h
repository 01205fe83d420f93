// The metadata database: one RocksDB instance under <root>/io.containerd.metadata.v1.rocksdb.
//
// Keys are namespaced, like containerd's bolt buckets:
//   namespaces/<namespace>              the namespace record (labels)
//   ns/<namespace>/<bucket>/<id>        objects: content/<digest>, images/<name>, leases/<id>, ...
//   meta/schema                         schema version
// Namespace names are identifiers (no '/'), so "ns/<ns>/" is an exact prefix of that namespace.
//
// Writers are serialised: Update() runs a function against a transaction that reads its own
// writes and commits every change as one WriteBatch, synced unless the caller says otherwise
// (Durability), so a crash leaves the old or the new state. Readers (View) see a consistent
// snapshot and never block writers.
#pragma once

#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace berth::rocks {
class Database;
}  // namespace berth::rocks

namespace berth::metadata {

inline constexpr int kSchemaVersion = 1;

// Read access shared by View and Update.
class Reader {
 public:
  virtual ~Reader() = default;
  // nullopt when absent.
  virtual absl::StatusOr<std::optional<std::string>> Get(absl::string_view key) const = 0;
  // Calls fn(key, value) for every key starting with `prefix`, in key order, until fn returns
  // false.
  virtual absl::Status Scan(absl::string_view prefix,
                            const std::function<bool(absl::string_view key,
                                                     absl::string_view value)>& fn) const = 0;
  // True when some key starts with `prefix`.
  absl::StatusOr<bool> HasPrefix(absl::string_view prefix) const;
};

class Txn : public Reader {
 public:
  virtual void Put(absl::string_view key, absl::string_view value) = 0;
  virtual void Delete(absl::string_view key) = 0;
  // Deletes every key with this prefix (as seen by this transaction).
  virtual absl::Status DeletePrefix(absl::string_view prefix) = 0;
};

// When an Update's batch reaches the disk. RocksDB's log is one sequential file: a synced
// commit makes every earlier commit durable with it.
enum class Durability {
  kSynced,    // before Update returns (fdatasync of the log)
  kNextSync,  // with the next synced commit; a crash before it loses this one (and only it and
              // later unsynced ones: what survives is always a prefix of the commits)
};

class Db {
 public:
  ~Db();
  // Opens (creating) the database in `dir` and runs migrations up to kSchemaVersion.
  // FailedPrecondition if the stored schema is newer than this binary knows.
  static absl::StatusOr<std::unique_ptr<Db>> Open(const std::string& dir);

  // Runs fn on a consistent snapshot.
  absl::Status View(const std::function<absl::Status(const Reader&)>& fn) const;
  // Runs fn in a write transaction; commits only when fn returns OK.
  absl::Status Update(const std::function<absl::Status(Txn&)>& fn,
                      Durability durability = Durability::kSynced);

  // Hooks run after each committed Update (e.g. to schedule garbage collection).
  void OnCommit(std::function<void()> hook);

  // Held (shared) by operations that change two stores in a row (a blob committed on disk, then
  // its record; a snapshot prepared, then its lease): the garbage collector takes it exclusively
  // so it never sees the half-way state.
  std::shared_lock<std::shared_mutex> GuardMutation() {
    return std::shared_lock<std::shared_mutex>(mutation_mu_);
  }
  std::unique_lock<std::shared_mutex> ExcludeMutations() {
    return std::unique_lock<std::shared_mutex>(mutation_mu_);
  }

  // Exclusive access to the writer lock for a whole garbage collection pass.
  std::unique_lock<std::mutex> LockWriters() { return std::unique_lock<std::mutex>(write_mu_); }
  // Update() for a caller that already holds LockWriters().
  absl::Status UpdateLocked(const std::function<absl::Status(Txn&)>& fn,
                            Durability durability = Durability::kSynced);

 private:
  explicit Db(std::unique_ptr<rocks::Database> db);
  absl::Status Migrate();

  std::unique_ptr<rocks::Database> db_;
  std::mutex write_mu_;
  std::shared_mutex mutation_mu_;
  std::mutex hooks_mu_;
  std::vector<std::function<void()>> hooks_ ABSL_GUARDED_BY(hooks_mu_);
};

// Key builders.
std::string NamespaceKey(absl::string_view ns);
std::string NamespacePrefix(absl::string_view ns);  // "ns/<ns>/"
std::string BucketPrefix(absl::string_view ns, absl::string_view bucket);  // "ns/<ns>/<bucket>/"
std::string ObjectKey(absl::string_view ns, absl::string_view bucket, absl::string_view id);

}  // namespace berth::metadata
