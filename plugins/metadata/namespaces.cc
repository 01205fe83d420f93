#include "plugins/metadata/namespaces.h"

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "core/identifiers.h"
#include "core/labels.h"
#include "core/status_macros.h"
#include "nlohmann/json.hpp"

namespace berth::metadata {
namespace {

std::string Encode(const Namespace& ns) { return nlohmann::json{{"labels", ns.labels}}.dump(); }

absl::StatusOr<Namespace> Decode(absl::string_view name, absl::string_view value) {
  Namespace ns{std::string(name), {}};
  auto j = nlohmann::json::parse(value, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) {
    return absl::DataLossError(absl::StrCat("namespace ", name, ": corrupt record"));
  }
  if (auto it = j.find("labels"); it != j.end() && it->is_object()) {
    for (const auto& [k, v] : it->items()) {
      if (v.is_string()) ns.labels[k] = v.get<std::string>();
    }
  }
  return ns;
}

absl::StatusOr<Namespace> Load(const Reader& r, const std::string& name) {
  BERTH_ASSIGN_OR_RETURN(auto value, r.Get(NamespaceKey(name)));
  if (!value) return absl::NotFoundError(absl::StrCat("namespace ", name, ": not found"));
  return Decode(name, *value);
}

}  // namespace

absl::Status EnsureNamespace(Txn& txn, absl::string_view ns) {
  BERTH_RETURN_IF_ERROR(ValidateIdentifier("namespace", ns));
  BERTH_ASSIGN_OR_RETURN(auto existing, txn.Get(NamespaceKey(ns)));
  if (!existing) txn.Put(NamespaceKey(ns), Encode(Namespace{std::string(ns), {}}));
  return absl::OkStatus();
}

absl::StatusOr<Namespace> NamespaceStore::Create(const Namespace& ns) {
  BERTH_RETURN_IF_ERROR(ValidateIdentifier("namespace", ns.name));
  BERTH_RETURN_IF_ERROR(ValidateLabels(ns.labels));
  BERTH_RETURN_IF_ERROR(db_->Update([&](Txn& txn) -> absl::Status {
    BERTH_ASSIGN_OR_RETURN(auto existing, txn.Get(NamespaceKey(ns.name)));
    if (existing) {
      return absl::AlreadyExistsError(absl::StrCat("namespace ", ns.name, ": already exists"));
    }
    txn.Put(NamespaceKey(ns.name), Encode(ns));
    return absl::OkStatus();
  }));
  return ns;
}

absl::StatusOr<Namespace> NamespaceStore::Get(const std::string& name) {
  absl::StatusOr<Namespace> out;
  BERTH_RETURN_IF_ERROR(db_->View([&](const Reader& r) {
    out = Load(r, name);
    return absl::OkStatus();
  }));
  return out;
}

absl::StatusOr<std::vector<Namespace>> NamespaceStore::List() {
  std::vector<Namespace> out;
  absl::Status decode_error;
  const std::string prefix = NamespaceKey("");
  BERTH_RETURN_IF_ERROR(db_->View([&](const Reader& r) {
    return r.Scan(prefix, [&](absl::string_view key, absl::string_view value) {
      auto ns = Decode(key.substr(prefix.size()), value);
      if (!ns.ok()) {
        decode_error = ns.status();
        return false;
      }
      out.push_back(*std::move(ns));
      return true;
    });
  }));
  BERTH_RETURN_IF_ERROR(decode_error);
  return out;
}

absl::StatusOr<Namespace> NamespaceStore::Update(const Namespace& ns,
                                                 const std::vector<std::string>& paths) {
  BERTH_RETURN_IF_ERROR(ValidateIdentifier("namespace", ns.name));
  Namespace updated;
  BERTH_RETURN_IF_ERROR(db_->Update([&](Txn& txn) -> absl::Status {
    BERTH_ASSIGN_OR_RETURN(updated, Load(txn, ns.name));
    if (paths.empty()) updated.labels = ns.labels;
    for (const auto& path : paths) {
      if (!ApplyMapPath(path, "labels", ns.labels, &updated.labels)) {
        return absl::InvalidArgumentError(
            absl::StrCat("cannot update \"", path, "\" of namespace ", ns.name));
      }
    }
    BERTH_RETURN_IF_ERROR(ValidateLabels(updated.labels));
    txn.Put(NamespaceKey(ns.name), Encode(updated));
    return absl::OkStatus();
  }));
  return updated;
}

absl::Status NamespaceStore::Delete(const std::string& name) {
  std::vector<UsageCheck> checks;
  {
    std::lock_guard<std::mutex> lock(checks_mu_);
    checks = checks_;
  }
  std::vector<std::string> in_use;
  for (const auto& check : checks) {
    BERTH_ASSIGN_OR_RETURN(std::string what, check(name));
    if (!what.empty()) in_use.push_back(what);
  }
  return db_->Update([&](Txn& txn) -> absl::Status {
    BERTH_RETURN_IF_ERROR(Load(txn, name).status());
    for (const char* bucket : {"images", "content", "containers", "snapshots"}) {
      BERTH_ASSIGN_OR_RETURN(bool used, txn.HasPrefix(BucketPrefix(name, bucket)));
      if (used) in_use.push_back(bucket);
    }
    if (!in_use.empty()) {
      return absl::FailedPreconditionError(absl::StrCat(
          "namespace ", name, " must be empty, but it still has ", absl::StrJoin(in_use, ", ")));
    }
    BERTH_RETURN_IF_ERROR(txn.DeletePrefix(NamespacePrefix(name)));
    txn.Delete(NamespaceKey(name));
    return absl::OkStatus();
  });
}

void NamespaceStore::AddUsageCheck(UsageCheck check) {
  std::lock_guard<std::mutex> lock(checks_mu_);
  checks_.push_back(std::move(check));
}

}  // namespace berth::metadata
