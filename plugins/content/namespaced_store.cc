#include "plugins/content/namespaced_store.h"

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "core/filters.h"
#include "core/identifiers.h"
#include "core/labels.h"
#include "core/status_macros.h"
#include "nlohmann/json.hpp"
#include "plugins/leases/leases.h"
#include "plugins/metadata/namespaces.h"

namespace berth::content {
namespace {

std::string BackendRef(const std::string& ns, const std::string& ref) {
  return absl::StrCat(ns, "/", ref);
}

absl::StatusOr<Info> Load(const metadata::Reader& r, const std::string& ns, const Digest& d) {
  BERTH_ASSIGN_OR_RETURN(auto v, r.Get(metadata::ObjectKey(ns, kContentBucket, d.str())));
  if (!v) return absl::NotFoundError(absl::StrCat("content digest ", d.str(), ": not found"));
  return DecodeInfo(d.str(), *v);
}

// Adds the record of a blob the backend holds, unless `ns` has it already.
// Returns true when it was added.
absl::StatusOr<bool> PutRecordInTxn(metadata::Txn& txn, const std::string& ns, const Info& info,
                                    const std::string& lease) {
  BERTH_RETURN_IF_ERROR(metadata::EnsureNamespace(txn, ns));
  std::string key = metadata::ObjectKey(ns, kContentBucket, info.digest.str());
  BERTH_ASSIGN_OR_RETURN(auto existing, txn.Get(key));
  BERTH_RETURN_IF_ERROR(leases::AttachInTxn(txn, ns, lease, {info.digest.str(), "content"}));
  if (existing) return false;
  txn.Put(key, EncodeInfo(info));
  return true;
}

}  // namespace

std::string EncodeInfo(const Info& info) {
  return nlohmann::json{{"size", info.size},
                        {"created", absl::ToUnixNanos(info.created_at)},
                        {"updated", absl::ToUnixNanos(info.updated_at)},
                        {"labels", info.labels}}
      .dump();
}

absl::StatusOr<Info> DecodeInfo(absl::string_view digest, absl::string_view value) {
  auto j = nlohmann::json::parse(value, nullptr, false);
  BERTH_ASSIGN_OR_RETURN(Digest d, Digest::Parse(digest));
  if (j.is_discarded() || !j.is_object()) {
    return absl::DataLossError(absl::StrCat("content ", digest, ": corrupt record"));
  }
  Info info{d, j.value("size", int64_t{0}), absl::FromUnixNanos(j.value("created", int64_t{0})),
            absl::FromUnixNanos(j.value("updated", int64_t{0})), {}};
  if (auto it = j.find("labels"); it != j.end() && it->is_object()) {
    info.labels = it->get<Labels>();
  }
  return info;
}

absl::StatusOr<IngestStatus> NamespacedWriter::Status() const {
  BERTH_ASSIGN_OR_RETURN(IngestStatus st, backend_->Status());
  st.ref = ref_;
  return st;
}

absl::StatusOr<Digest> NamespacedWriter::Commit(int64_t size, const Digest& expected,
                                                const Labels& labels) {
  BERTH_RETURN_IF_ERROR(ValidateLabels(labels));
  Digest digest = backend_->CurrentDigest();
  int64_t written = backend_->Offset();
  auto guard = db_->GuardMutation();  // blob and record appear together for the GC
  absl::Status committed = backend_->Commit(size, expected);
  // AlreadyExists: another namespace (or an earlier ingest) put the same bytes there.
  if (!committed.ok() && !absl::IsAlreadyExists(committed)) {
    (void)db_->Update([&](metadata::Txn& txn) {
      txn.Delete(metadata::ObjectKey(ns_, kIngestBucket, ref_));
      return absl::OkStatus();
    });
    return committed;
  }
  absl::Time now = absl::Now();
  bool added = false;
  BERTH_RETURN_IF_ERROR(db_->Update([&](metadata::Txn& txn) -> absl::Status {
    txn.Delete(metadata::ObjectKey(ns_, kIngestBucket, ref_));
    BERTH_ASSIGN_OR_RETURN(added, PutRecordInTxn(txn, ns_, Info{digest, written, now, now, labels},
                                                 lease_));
    return absl::OkStatus();
  }));
  if (!added) {
    return absl::AlreadyExistsError(absl::StrCat("content ", digest.str(), ": already exists"));
  }
  return digest;
}

absl::StatusOr<Info> NamespacedStore::GetInfo(const std::string& ns, const Digest& digest) {
  absl::StatusOr<Info> out;
  BERTH_RETURN_IF_ERROR(db_->View([&](const metadata::Reader& r) {
    out = Load(r, ns, digest);
    return absl::OkStatus();
  }));
  return out;
}

absl::StatusOr<Info> NamespacedStore::Update(const std::string& ns, const Info& info,
                                             const std::vector<std::string>& paths) {
  Info updated;
  BERTH_RETURN_IF_ERROR(db_->Update([&](metadata::Txn& txn) -> absl::Status {
    BERTH_ASSIGN_OR_RETURN(updated, Load(txn, ns, info.digest));
    if (paths.empty()) updated.labels = info.labels;
    for (const auto& path : paths) {
      if (!ApplyMapPath(path, "labels", info.labels, &updated.labels)) {
        return absl::InvalidArgumentError(
            absl::StrCat("cannot update \"", path, "\" of content ", info.digest.str()));
      }
    }
    BERTH_RETURN_IF_ERROR(ValidateLabels(updated.labels));
    updated.updated_at = absl::Now();
    txn.Put(metadata::ObjectKey(ns, kContentBucket, info.digest.str()), EncodeInfo(updated));
    return absl::OkStatus();
  }));
  return updated;
}

absl::Status NamespacedStore::Walk(const std::string& ns, const std::vector<std::string>& filters,
                                   const std::function<absl::Status(const Info&)>& fn) {
  BERTH_ASSIGN_OR_RETURN(auto filter, filters::ParseAny(filters));
  std::vector<Info> infos;
  absl::Status err;
  std::string prefix = metadata::BucketPrefix(ns, kContentBucket);
  BERTH_RETURN_IF_ERROR(db_->View([&](const metadata::Reader& r) {
    return r.Scan(prefix, [&](absl::string_view key, absl::string_view value) {
      auto info = DecodeInfo(key.substr(prefix.size()), value);
      if (!info.ok()) {
        err = info.status();
        return false;
      }
      infos.push_back(*std::move(info));
      return true;
    });
  }));
  BERTH_RETURN_IF_ERROR(err);
  for (const Info& info : infos) {
    bool match = filter->Match([&info](const std::vector<std::string>& path) -> std::optional<std::string> {
      if (path.size() == 1 && path[0] == "digest") return info.digest.str();
      if (path.size() == 1 && path[0] == "size") return absl::StrCat(info.size);
      return LabelForFilterPath(info.labels, path);
    });
    if (match) BERTH_RETURN_IF_ERROR(fn(info));
  }
  return absl::OkStatus();
}

absl::Status NamespacedStore::Delete(const std::string& ns, const Digest& digest) {
  return db_->Update([&](metadata::Txn& txn) -> absl::Status {
    BERTH_RETURN_IF_ERROR(Load(txn, ns, digest).status());
    txn.Delete(metadata::ObjectKey(ns, kContentBucket, digest.str()));
    return absl::OkStatus();
  });
}

absl::StatusOr<std::unique_ptr<ReaderAt>> NamespacedStore::OpenReader(const std::string& ns,
                                                                      const Digest& digest) {
  BERTH_RETURN_IF_ERROR(GetInfo(ns, digest).status());
  return backend_->OpenReader(digest);
}

absl::StatusOr<std::unique_ptr<NamespacedWriter>> NamespacedStore::OpenWriter(
    const std::string& ns, const std::string& ref, int64_t total, const Digest& expected,
    const std::string& lease) {
  if (ref.empty()) return absl::InvalidArgumentError("an ingest needs a ref");
  if (!expected.empty()) {
    auto guard = db_->GuardMutation();
    auto on_disk = backend_->Info(expected);
    if (on_disk.ok()) {
      // Shared content: the bytes are there already, verified when they were committed.
      absl::Time now = absl::Now();
      BERTH_RETURN_IF_ERROR(db_->Update([&](metadata::Txn& txn) -> absl::Status {
        return PutRecordInTxn(txn, ns, Info{expected, on_disk->size, now, now, {}}, lease).status();
      }));
      return absl::AlreadyExistsError(absl::StrCat("content ", expected.str(), ": already exists"));
    }
  }
  BERTH_ASSIGN_OR_RETURN(auto backend, backend_->OpenWriter(BackendRef(ns, ref), total, expected));
  BERTH_RETURN_IF_ERROR(db_->Update([&](metadata::Txn& txn) -> absl::Status {
    BERTH_RETURN_IF_ERROR(metadata::EnsureNamespace(txn, ns));
    BERTH_RETURN_IF_ERROR(leases::AttachInTxn(txn, ns, lease, {ref, "ingests"}));
    txn.Put(metadata::ObjectKey(ns, kIngestBucket, ref),
            nlohmann::json{{"expected", expected.str()}}.dump());
    return absl::OkStatus();
  }));
  return std::make_unique<NamespacedWriter>(db_, ns, ref, lease, std::move(backend));
}

absl::StatusOr<IngestStatus> NamespacedStore::Status(const std::string& ns, const std::string& ref) {
  absl::StatusOr<std::optional<std::string>> rec;
  BERTH_RETURN_IF_ERROR(db_->View([&](const metadata::Reader& r) {
    rec = r.Get(metadata::ObjectKey(ns, kIngestBucket, ref));
    return absl::OkStatus();
  }));
  BERTH_RETURN_IF_ERROR(rec.status());
  if (!rec->has_value()) return absl::NotFoundError(absl::StrCat("ingest ref ", ref, ": not found"));
  BERTH_ASSIGN_OR_RETURN(IngestStatus st, backend_->Status(BackendRef(ns, ref)));
  st.ref = ref;
  return st;
}

absl::StatusOr<std::vector<IngestStatus>> NamespacedStore::ListStatuses(
    const std::string& ns, const std::vector<std::string>& filters) {
  BERTH_ASSIGN_OR_RETURN(auto filter, filters::ParseAny(filters));
  std::vector<std::string> refs;
  std::string prefix = metadata::BucketPrefix(ns, kIngestBucket);
  BERTH_RETURN_IF_ERROR(db_->View([&](const metadata::Reader& r) {
    return r.Scan(prefix, [&](absl::string_view key, absl::string_view) {
      refs.emplace_back(key.substr(prefix.size()));
      return true;
    });
  }));
  std::vector<IngestStatus> out;
  for (const auto& ref : refs) {
    auto st = backend_->Status(BackendRef(ns, ref));
    if (!st.ok()) continue;  // committed or aborted since the scan
    st->ref = ref;
    bool match = filter->Match([&ref](const std::vector<std::string>& path) -> std::optional<std::string> {
      if (path.size() == 1 && path[0] == "ref") return ref;
      return std::nullopt;
    });
    if (match) out.push_back(*std::move(st));
  }
  return out;
}

absl::Status NamespacedStore::Abort(const std::string& ns, const std::string& ref) {
  BERTH_RETURN_IF_ERROR(Status(ns, ref).status());
  BERTH_RETURN_IF_ERROR(backend_->Abort(BackendRef(ns, ref)));
  return db_->Update([&](metadata::Txn& txn) {
    txn.Delete(metadata::ObjectKey(ns, kIngestBucket, ref));
    return absl::OkStatus();
  });
}

}  // namespace berth::content
