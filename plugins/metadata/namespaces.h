// Namespaces: the domain core behind containerd.services.namespaces.v1.
//
// Objects created in a namespace that does not exist yet create it implicitly
// (EnsureNamespace inside the same transaction), as containerd does.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "plugins/metadata/db.h"

namespace berth::metadata {

struct Namespace {
  std::string name;
  std::map<std::string, std::string> labels;
};

// Creates the record of `ns` in txn if it does not exist. InvalidArgument for a bad name.
absl::Status EnsureNamespace(Txn& txn, absl::string_view ns);

class NamespaceStore {
 public:
  explicit NamespaceStore(Db* db) : db_(db) {}

  // AlreadyExists if it exists; InvalidArgument for a bad name or label.
  absl::StatusOr<Namespace> Create(const Namespace& ns);
  // NotFound.
  absl::StatusOr<Namespace> Get(const std::string& name);
  absl::StatusOr<std::vector<Namespace>> List();
  // `paths` empty: replace all labels. "labels" replaces all; "labels.<key>" sets one key, an
  // empty value removes it. Other paths are InvalidArgument. NotFound if absent.
  absl::StatusOr<Namespace> Update(const Namespace& ns, const std::vector<std::string>& paths);
  // NotFound; FailedPrecondition naming what the namespace still holds (images, content,
  // containers, snapshots). Leases and other bookkeeping go with it.
  absl::Status Delete(const std::string& name);

  // A check run before Delete for state kept outside this database (e.g. a snapshotter's own
  // records): returns a description of what `ns` still holds, or "" when it holds nothing.
  using UsageCheck = std::function<absl::StatusOr<std::string>(const std::string& ns)>;
  void AddUsageCheck(UsageCheck check);

 private:
  Db* db_;
  std::mutex checks_mu_;
  std::vector<UsageCheck> checks_;
};

}  // namespace berth::metadata
