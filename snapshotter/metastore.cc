#include "snapshotter/metastore.h"

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "nlohmann/json.hpp"
#include "core/rocks/database.h"
#include "core/rocks/status.h"
#include "rocksdb/db.h"
#include "rocksdb/write_batch.h"

namespace berth::snapshotter {
namespace {

constexpr char kRecordPrefix[] = "v1/s/";
constexpr char kChildPrefix[] = "v1/c/";
constexpr char kNextIdKey[] = "v1/m/next_id";

std::string RecordKey(const std::string& ns, const std::string& key) {
  return absl::StrCat(kRecordPrefix, ns, std::string(1, '\0'), key);
}
std::string ChildKey(const std::string& ns, const std::string& parent, const std::string& key) {
  return absl::StrCat(kChildPrefix, ns, std::string(1, '\0'), parent, std::string(1, '\0'), key);
}

using rocks::FromRocks;

std::string Encode(const Record& r) {
  nlohmann::json j = {{"id", r.id},
                      {"kind", static_cast<int>(r.kind)},
                      {"parent", r.parent},
                      {"labels", r.labels},
                      {"created", r.created_ns},
                      {"updated", r.updated_ns},
                      {"size", r.usage.size},
                      {"inodes", r.usage.inodes}};
  return j.dump();
}

absl::StatusOr<Record> Decode(const std::string& data, absl::string_view key) {
  try {
    auto j = nlohmann::json::parse(data);
    Record r;
    r.id = j.at("id").get<uint64_t>();
    r.kind = static_cast<Kind>(j.at("kind").get<int>());
    r.parent = j.at("parent").get<std::string>();
    r.labels = j.at("labels").get<Labels>();
    r.created_ns = j.at("created").get<int64_t>();
    r.updated_ns = j.at("updated").get<int64_t>();
    r.usage.size = j.at("size").get<int64_t>();
    r.usage.inodes = j.at("inodes").get<int64_t>();
    return r;
  } catch (const std::exception& e) {
    return absl::DataLossError(absl::StrCat("snapshot record ", key, ": ", e.what()));
  }
}

}  // namespace

Info ToInfo(const std::string& key, const Record& r) {
  Info info;
  info.name = key;
  info.parent = r.parent;
  info.kind = r.kind;
  info.labels = r.labels;
  info.created = absl::FromUnixNanos(r.created_ns);
  info.updated = absl::FromUnixNanos(r.updated_ns);
  return info;
}

MetaStore::MetaStore(std::unique_ptr<rocks::Database> db) : db_(std::move(db)) {}
MetaStore::~MetaStore() = default;

absl::StatusOr<std::unique_ptr<MetaStore>> MetaStore::Open(const std::string& path) {
  auto db = rocks::Database::Open(path);
  if (!db.ok()) return db.status();
  return std::unique_ptr<MetaStore>(new MetaStore(std::move(*db)));
}

absl::StatusOr<Record> MetaStore::Get(const std::string& ns, const std::string& key) {
  std::string value;
  rocksdb::Status s = db_->get()->Get(rocksdb::ReadOptions(), RecordKey(ns, key), &value);
  if (s.IsNotFound()) {
    return absl::NotFoundError(absl::StrCat("snapshot ", key, " in namespace ", ns));
  }
  if (!s.ok()) return FromRocks(s, absl::StrCat("read snapshot ", key));
  return Decode(value, key);
}

absl::StatusOr<bool> MetaStore::HasChildren(const std::string& ns, const std::string& key) {
  std::string prefix = ChildKey(ns, key, "");
  std::unique_ptr<rocksdb::Iterator> it(db_->get()->NewIterator(rocksdb::ReadOptions()));
  it->Seek(prefix);
  if (!it->status().ok()) return FromRocks(it->status(), "scan children");
  return it->Valid() && it->key().starts_with(prefix);
}

absl::StatusOr<std::vector<std::pair<std::string, Record>>> MetaStore::List(
    const std::string& ns) {
  std::string prefix = RecordKey(ns, "");
  std::vector<std::pair<std::string, Record>> out;
  std::unique_ptr<rocksdb::Iterator> it(db_->get()->NewIterator(rocksdb::ReadOptions()));
  for (it->Seek(prefix); it->Valid() && it->key().starts_with(prefix); it->Next()) {
    std::string key = it->key().ToString().substr(prefix.size());
    auto r = Decode(it->value().ToString(), key);
    if (!r.ok()) return r.status();
    out.emplace_back(std::move(key), *std::move(r));
  }
  if (!it->status().ok()) return FromRocks(it->status(), "list snapshots");
  return out;
}

absl::StatusOr<std::set<uint64_t>> MetaStore::AllIds() {
  std::set<uint64_t> ids;
  std::unique_ptr<rocksdb::Iterator> it(db_->get()->NewIterator(rocksdb::ReadOptions()));
  for (it->Seek(kRecordPrefix); it->Valid() && it->key().starts_with(kRecordPrefix); it->Next()) {
    auto r = Decode(it->value().ToString(), it->key().ToString());
    if (!r.ok()) return r.status();
    ids.insert(r->id);
  }
  if (!it->status().ok()) return FromRocks(it->status(), "list snapshot ids");
  return ids;
}

absl::StatusOr<uint64_t> MetaStore::NextId() {
  std::string value;
  rocksdb::Status s = db_->get()->Get(rocksdb::ReadOptions(), kNextIdKey, &value);
  if (s.IsNotFound()) return 1;
  if (!s.ok()) return FromRocks(s, "read next id");
  uint64_t id = 0;
  if (!absl::SimpleAtoi(value, &id) || id == 0) {
    return absl::DataLossError(absl::StrCat("bad next snapshot id \"", value, "\""));
  }
  return id;
}

MetaStore::Batch::Batch() : wb_(std::make_unique<rocksdb::WriteBatch>()) {}
MetaStore::Batch::~Batch() = default;

void MetaStore::Batch::Put(const std::string& ns, const std::string& key, const Record& r) {
  (void)wb_->Put(RecordKey(ns, key), Encode(r));
}
void MetaStore::Batch::Delete(const std::string& ns, const std::string& key) {
  (void)wb_->Delete(RecordKey(ns, key));
}
void MetaStore::Batch::AddChild(const std::string& ns, const std::string& parent,
                                const std::string& key) {
  (void)wb_->Put(ChildKey(ns, parent, key), "");
}
void MetaStore::Batch::RemoveChild(const std::string& ns, const std::string& parent,
                                   const std::string& key) {
  (void)wb_->Delete(ChildKey(ns, parent, key));
}
void MetaStore::Batch::SetNextId(uint64_t id) { (void)wb_->Put(kNextIdKey, absl::StrCat(id)); }

absl::Status MetaStore::Write(Batch& batch) {
  rocksdb::WriteOptions wo;
  wo.sync = true;
  return FromRocks(db_->get()->Write(wo, batch.wb_.get()), "write snapshot records");
}

}  // namespace berth::snapshotter
