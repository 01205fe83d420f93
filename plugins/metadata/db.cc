#include "plugins/metadata/db.h"

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "core/rocks/database.h"
#include "core/rocks/status.h"
#include "core/status_macros.h"
#include "rocksdb/db.h"
#include "rocksdb/utilities/write_batch_with_index.h"

namespace berth::metadata {
namespace {

using rocks::FromRocks;

constexpr char kSchemaKey[] = "meta/schema";

absl::Status ScanIterator(rocksdb::Iterator* it, absl::string_view prefix,
                          const std::function<bool(absl::string_view, absl::string_view)>& fn) {
  std::unique_ptr<rocksdb::Iterator> owned(it);
  for (it->Seek(rocksdb::Slice(prefix.data(), prefix.size())); it->Valid(); it->Next()) {
    rocksdb::Slice k = it->key();
    if (!k.starts_with(rocksdb::Slice(prefix.data(), prefix.size()))) break;
    rocksdb::Slice v = it->value();
    if (!fn(absl::string_view(k.data(), k.size()), absl::string_view(v.data(), v.size()))) break;
  }
  return FromRocks(it->status(), "metadata scan");
}

class SnapshotReader : public Reader {
 public:
  SnapshotReader(rocksdb::DB* db, const rocksdb::Snapshot* snap) : db_(db) {
    opts_.snapshot = snap;
  }
  absl::StatusOr<std::optional<std::string>> Get(absl::string_view key) const override {
    std::string value;
    auto s = db_->Get(opts_, rocksdb::Slice(key.data(), key.size()), &value);
    if (s.IsNotFound()) return std::nullopt;
    BERTH_RETURN_IF_ERROR(FromRocks(s, "metadata get"));
    return value;
  }
  absl::Status Scan(absl::string_view prefix,
                    const std::function<bool(absl::string_view, absl::string_view)>& fn)
      const override {
    return ScanIterator(db_->NewIterator(opts_), prefix, fn);
  }

 private:
  rocksdb::DB* db_;
  rocksdb::ReadOptions opts_;
};

class BatchTxn : public Txn {
 public:
  explicit BatchTxn(rocksdb::DB* db) : db_(db), batch_(rocksdb::BytewiseComparator(), 0, true) {}
  absl::StatusOr<std::optional<std::string>> Get(absl::string_view key) const override {
    std::string value;
    auto s = batch_.GetFromBatchAndDB(db_, rocksdb::ReadOptions(),
                                      rocksdb::Slice(key.data(), key.size()), &value);
    if (s.IsNotFound()) return std::nullopt;
    BERTH_RETURN_IF_ERROR(FromRocks(s, "metadata get"));
    return value;
  }
  absl::Status Scan(absl::string_view prefix,
                    const std::function<bool(absl::string_view, absl::string_view)>& fn)
      const override {
    auto* base = db_->NewIterator(rocksdb::ReadOptions());
    return ScanIterator(batch_.NewIteratorWithBase(base), prefix, fn);
  }
  void Put(absl::string_view key, absl::string_view value) override {
    batch_.Put(rocksdb::Slice(key.data(), key.size()), rocksdb::Slice(value.data(), value.size()));
  }
  void Delete(absl::string_view key) override {
    batch_.Delete(rocksdb::Slice(key.data(), key.size()));
  }
  absl::Status DeletePrefix(absl::string_view prefix) override {
    std::vector<std::string> keys;
    BERTH_RETURN_IF_ERROR(Scan(prefix, [&](absl::string_view k, absl::string_view) {
      keys.emplace_back(k);
      return true;
    }));
    for (const auto& k : keys) Delete(k);
    return absl::OkStatus();
  }
  absl::Status Commit(Durability durability) {
    if (batch_.GetWriteBatch()->Count() == 0) return absl::OkStatus();
    rocksdb::WriteOptions wo;
    wo.sync = durability == Durability::kSynced;
    return FromRocks(db_->Write(wo, batch_.GetWriteBatch()), "metadata commit");
  }

 private:
  rocksdb::DB* db_;
  mutable rocksdb::WriteBatchWithIndex batch_;  // Get/NewIterator are non-const in RocksDB
};

}  // namespace

absl::StatusOr<bool> Reader::HasPrefix(absl::string_view prefix) const {
  bool found = false;
  BERTH_RETURN_IF_ERROR(Scan(prefix, [&](absl::string_view, absl::string_view) {
    found = true;
    return false;
  }));
  return found;
}

Db::Db(std::unique_ptr<rocks::Database> db) : db_(std::move(db)) {}
Db::~Db() = default;

absl::StatusOr<std::unique_ptr<Db>> Db::Open(const std::string& dir) {
  BERTH_ASSIGN_OR_RETURN(auto rdb, rocks::Database::Open(dir, {.write_buffer_size = 4 << 20}));
  std::unique_ptr<Db> db(new Db(std::move(rdb)));
  BERTH_RETURN_IF_ERROR(db->Migrate());
  return db;
}

absl::Status Db::Migrate() {
  return Update([](Txn& txn) -> absl::Status {
    BERTH_ASSIGN_OR_RETURN(auto stored, txn.Get(kSchemaKey));
    int version = 0;
    if (stored && !absl::SimpleAtoi(*stored, &version)) {
      return absl::DataLossError(absl::StrCat("metadata schema version \"", *stored,
                                              "\" is not a number"));
    }
    if (version > kSchemaVersion) {
      return absl::FailedPreconditionError(
          absl::StrCat("metadata schema version ", version, " is newer than this berthd knows (",
                       kSchemaVersion, "): refusing to touch it"));
    }
    // Migrations from older versions go here, one step at a time, in this transaction.
    txn.Put(kSchemaKey, absl::StrCat(kSchemaVersion));
    return absl::OkStatus();
  });
}

absl::Status Db::View(const std::function<absl::Status(const Reader&)>& fn) const {
  const rocksdb::Snapshot* snap = db_->get()->GetSnapshot();
  SnapshotReader reader(db_->get(), snap);
  absl::Status s = fn(reader);
  db_->get()->ReleaseSnapshot(snap);
  return s;
}

absl::Status Db::Update(const std::function<absl::Status(Txn&)>& fn, Durability durability) {
  std::unique_lock<std::mutex> lock(write_mu_);
  absl::Status s = UpdateLocked(fn, durability);
  lock.unlock();
  if (s.ok()) {
    std::vector<std::function<void()>> hooks;
    {
      std::lock_guard<std::mutex> hl(hooks_mu_);
      hooks = hooks_;
    }
    for (auto& h : hooks) h();
  }
  return s;
}

absl::Status Db::UpdateLocked(const std::function<absl::Status(Txn&)>& fn,
                              Durability durability) {
  BatchTxn txn(db_->get());
  BERTH_RETURN_IF_ERROR(fn(txn));
  return txn.Commit(durability);
}

void Db::OnCommit(std::function<void()> hook) {
  std::lock_guard<std::mutex> lock(hooks_mu_);
  hooks_.push_back(std::move(hook));
}

std::string NamespaceKey(absl::string_view ns) { return absl::StrCat("namespaces/", ns); }
std::string NamespacePrefix(absl::string_view ns) { return absl::StrCat("ns/", ns, "/"); }
std::string BucketPrefix(absl::string_view ns, absl::string_view bucket) {
  return absl::StrCat("ns/", ns, "/", bucket, "/");
}
std::string ObjectKey(absl::string_view ns, absl::string_view bucket, absl::string_view id) {
  return absl::StrCat("ns/", ns, "/", bucket, "/", id);
}

}  // namespace berth::metadata
