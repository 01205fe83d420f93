// MetaStore: the snapshot records of one snapshotter, in RocksDB at <root>/metadata.db.
// Internal to snapshotter/ (the implementations share it); not a public API.
//
// Layout (all keys prefixed "v1/"):
//   s/<ns>\0<key>            -> JSON record (id, kind, parent, labels, times, usage)
//   c/<ns>\0<parent>\0<key>  -> "" (children index, so Remove can refuse a parent cheaply)
//   m/next_id                -> decimal, the next directory id to try
// Every change is one WriteBatch written with sync=true.
#pragma once

#include <cstdint>
#include <memory>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "snapshotter/snapshotter.h"

namespace rocksdb {
class WriteBatch;
}  // namespace rocksdb
namespace berth::rocks {
class Database;
}  // namespace berth::rocks

namespace berth::snapshotter {

struct Record {
  uint64_t id = 0;  // directory <root>/snapshots/<id>
  Kind kind = Kind::kUnknown;
  std::string parent;
  Labels labels;
  int64_t created_ns = 0;  // unix nanoseconds
  int64_t updated_ns = 0;
  snapshotter::Usage usage;  // recorded at Commit
};

Info ToInfo(const std::string& key, const Record& r);

class MetaStore {
 public:
  // Opens (creating if missing) the database at `path`. Internal on RocksDB errors,
  // Unavailable when another process holds it.
  static absl::StatusOr<std::unique_ptr<MetaStore>> Open(const std::string& path);
  ~MetaStore();

  // NotFound when absent.
  absl::StatusOr<Record> Get(const std::string& ns, const std::string& key);
  absl::StatusOr<bool> HasChildren(const std::string& ns, const std::string& key);
  // Every record of `ns`, in key order.
  absl::StatusOr<std::vector<std::pair<std::string, Record>>> List(const std::string& ns);
  // Directory ids of every record in every namespace.
  absl::StatusOr<std::set<uint64_t>> AllIds();
  absl::StatusOr<uint64_t> NextId();

  // A set of changes applied atomically by Write.
  class Batch {
   public:
    Batch();
    ~Batch();
    void Put(const std::string& ns, const std::string& key, const Record& r);
    void Delete(const std::string& ns, const std::string& key);
    void AddChild(const std::string& ns, const std::string& parent, const std::string& key);
    void RemoveChild(const std::string& ns, const std::string& parent, const std::string& key);
    void SetNextId(uint64_t id);

   private:
    friend class MetaStore;
    std::unique_ptr<rocksdb::WriteBatch> wb_;
  };
  // Writes the batch with sync=true.
  absl::Status Write(Batch& batch);

 private:
  explicit MetaStore(std::unique_ptr<rocks::Database> db);
  std::unique_ptr<rocks::Database> db_;
};

}  // namespace berth::snapshotter
