#include "plugins/gc/collector.h"

#include <deque>
#include <set>
#include <tuple>

#include "absl/strings/match.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "core/log.h"
#include "core/status_macros.h"
#include "nlohmann/json.hpp"
#include "plugins/content/namespaced_store.h"
#include "plugins/leases/leases.h"

namespace berth::gc {
namespace {

constexpr char kRootLabel[] = "containerd.io/gc.root";
constexpr char kRefContent[] = "containerd.io/gc.ref.content";
constexpr char kRefSnapshot[] = "containerd.io/gc.ref.snapshot.";

using Labels = std::map<std::string, std::string>;
using ContentNode = std::pair<std::string, std::string>;                  // ns, digest
using SnapNode = std::tuple<std::string, std::string, std::string>;       // ns, snapshotter, key

// Everything the mark phase looks at, read in one consistent view.
struct World {
  std::set<std::string> namespaces;
  std::map<ContentNode, Labels> content;
  std::map<SnapNode, snapshotter::Info> snapshots;
  std::vector<ContentNode> content_roots;
  std::vector<SnapNode> snapshot_roots;
  std::vector<std::pair<std::string, std::string>> expired_leases;  // ns, id
  std::vector<std::tuple<std::string, Labels>> labelled_roots;      // ns, labels of roots
};

Labels LabelsOf(const nlohmann::json& j) {
  Labels out;
  if (auto it = j.find("labels"); it != j.end() && it->is_object()) {
    for (const auto& [k, v] : it->items()) {
      if (v.is_string()) out[k] = v.get<std::string>();
    }
  }
  return out;
}

std::string StringAt(const nlohmann::json& j, std::initializer_list<const char*> keys) {
  for (const char* k : keys) {
    auto it = j.find(k);
    if (it != j.end() && it->is_string()) return it->get<std::string>();
  }
  return "";
}

// Adds the objects referenced by gc.ref labels to the work lists.
void FollowLabels(const std::string& ns, const Labels& labels, std::deque<ContentNode>* content,
                  std::deque<SnapNode>* snaps) {
  for (const auto& [k, v] : labels) {
    if (k == kRefContent || absl::StartsWith(k, std::string(kRefContent) + ".")) {
      content->push_back({ns, v});
    } else if (absl::StartsWith(k, kRefSnapshot)) {
      std::string rest = k.substr(sizeof(kRefSnapshot) - 1);
      std::string snapshotter = rest.substr(0, rest.find('.'));
      snaps->push_back({ns, snapshotter, v});
    }
  }
}

absl::Status ReadMetadata(const metadata::Reader& r, World* w) {
  BERTH_RETURN_IF_ERROR(r.Scan("namespaces/", [&](absl::string_view key, absl::string_view) {
    w->namespaces.insert(std::string(key.substr(11)));
    return true;
  }));
  absl::Status err;
  BERTH_RETURN_IF_ERROR(r.Scan("ns/", [&](absl::string_view key, absl::string_view value) {
    std::vector<std::string> parts = absl::StrSplit(key.substr(3), absl::MaxSplits('/', 2));
    if (parts.size() != 3) return true;
    const std::string& ns = parts[0];
    const std::string& bucket = parts[1];
    if (bucket != content::kContentBucket && bucket != "images" && bucket != "containers") {
      return true;
    }
    auto j = nlohmann::json::parse(value, nullptr, false);
    if (j.is_discarded() || !j.is_object()) {
      err = absl::DataLossError(std::string(key) + ": corrupt record, collection stopped");
      return false;
    }
    Labels labels = LabelsOf(j);
    if (bucket == content::kContentBucket) {
      w->content[{ns, parts[2]}] = labels;
      if (labels.count(kRootLabel)) w->content_roots.push_back({ns, parts[2]});
    } else if (bucket == "images") {
      if (auto t = j.find("target"); t != j.end() && t->is_object()) {
        w->content_roots.push_back({ns, StringAt(*t, {"digest"})});
      }
      w->labelled_roots.push_back({ns, labels});
    } else {  // containers
      std::string key_ = StringAt(j, {"snapshot_key", "snapshotKey"});
      std::string snapshotter = StringAt(j, {"snapshotter"});
      if (!key_.empty()) w->snapshot_roots.push_back({ns, snapshotter, key_});
      w->labelled_roots.push_back({ns, labels});
    }
    return true;
  }));
  BERTH_RETURN_IF_ERROR(err);
  BERTH_ASSIGN_OR_RETURN(auto leases, leases::AllLeases(r));
  absl::Time now = absl::Now();
  for (const auto& l : leases) {
    if (leases::Expired(l.lease, now)) {
      w->expired_leases.push_back({l.ns, l.lease.id});
      continue;
    }
    for (const auto& res : l.resources) {
      if (res.type == "content") {
        w->content_roots.push_back({l.ns, res.id});
      } else if (absl::StartsWith(res.type, "snapshots/")) {
        w->snapshot_roots.push_back({l.ns, res.type.substr(10), res.id});
      }
    }
  }
  return absl::OkStatus();
}

}  // namespace

Collector::Collector(metadata::Db* db, content::ContentStore* blobs,
                     std::map<std::string, snapshotter::Snapshotter*> snapshotters)
    : db_(db), blobs_(blobs), snapshotters_(std::move(snapshotters)) {
  thread_ = std::thread([this] { Loop(); });
}

Collector::~Collector() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

void Collector::Schedule() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    pending_ = true;
  }
  cv_.notify_all();
}

void Collector::Loop() {
  auto log = log::Get("gc");
  std::unique_lock<std::mutex> lock(mu_);
  for (;;) {
    cv_.wait(lock, [&] { return pending_ || stopping_; });
    if (stopping_) return;
    // Coalesce bursts of deletions, and keep the pause budget: wait ~50x the last pause.
    absl::Duration wait = std::max(absl::Milliseconds(100), last_duration_ * 50);
    cv_.wait_for(lock, absl::ToChronoMilliseconds(std::min(wait, absl::Seconds(10))),
                 [&] { return stopping_; });
    if (stopping_) return;
    pending_ = false;
    lock.unlock();
    auto stats = CollectNow();
    if (!stats.ok()) log->warn("garbage collection failed: {}", stats.status().ToString());
    lock.lock();
  }
}

absl::StatusOr<Stats> Collector::CollectNow() {
  std::lock_guard<std::mutex> one_at_a_time(collect_mu_);
  absl::Time start = absl::Now();
  Stats stats;
  auto no_mutations = db_->ExcludeMutations();
  auto writers = db_->LockWriters();

  World w;
  BERTH_RETURN_IF_ERROR(db_->View([&](const metadata::Reader& r) { return ReadMetadata(r, &w); }));
  // No structured bindings captured by the lambdas below: clang 14 (the fuzz build) cannot.
  for (const auto& entry : snapshotters_) {
    const std::string& name = entry.first;
    snapshotter::Snapshotter* sn = entry.second;
    for (const auto& ns : w.namespaces) {
      BERTH_RETURN_IF_ERROR(sn->Walk(ns, [&](const snapshotter::Info& info) {
        SnapNode node{ns, name, info.name};
        w.snapshots[node] = info;
        if (info.labels.count(kRootLabel)) w.snapshot_roots.push_back(node);
        return absl::OkStatus();
      }));
    }
  }

  // Mark.
  std::deque<ContentNode> content_work(w.content_roots.begin(), w.content_roots.end());
  std::deque<SnapNode> snap_work(w.snapshot_roots.begin(), w.snapshot_roots.end());
  for (const auto& [ns, labels] : w.labelled_roots) FollowLabels(ns, labels, &content_work, &snap_work);
  std::set<ContentNode> live_content;
  std::set<SnapNode> live_snaps;
  while (!content_work.empty() || !snap_work.empty()) {
    if (!content_work.empty()) {
      ContentNode n = content_work.front();
      content_work.pop_front();
      auto it = w.content.find(n);
      if (it == w.content.end() || !live_content.insert(n).second) continue;
      FollowLabels(n.first, it->second, &content_work, &snap_work);
    } else {
      SnapNode n = snap_work.front();
      snap_work.pop_front();
      auto it = w.snapshots.find(n);
      if (it == w.snapshots.end() || !live_snaps.insert(n).second) continue;
      FollowLabels(std::get<0>(n), it->second.labels, &content_work, &snap_work);
      if (!it->second.parent.empty()) {
        snap_work.push_back({std::get<0>(n), std::get<1>(n), it->second.parent});
      }
    }
  }

  // Sweep records.
  BERTH_RETURN_IF_ERROR(db_->UpdateLocked([&](metadata::Txn& txn) {
    for (const auto& [node, labels] : w.content) {
      if (live_content.count(node)) continue;
      txn.Delete(metadata::ObjectKey(node.first, content::kContentBucket, node.second));
      ++stats.content_records;
    }
    for (const auto& [ns, id] : w.expired_leases) {
      txn.Delete(metadata::ObjectKey(ns, "leases", id));
      ++stats.leases;
    }
    return absl::OkStatus();
  }));
  for (const auto& lease : w.expired_leases) {
    const std::string& ns = lease.first;
    const std::string& id = lease.second;
    BERTH_RETURN_IF_ERROR(db_->UpdateLocked([&](metadata::Txn& txn) {
      return txn.DeletePrefix(metadata::ObjectKey(ns, "leaseres", id + std::string(1, '\0')));
    }));
  }
  // Snapshots: children before parents; keep going while something is removed.
  std::set<SnapNode> dead;
  for (const auto& [node, info] : w.snapshots) {
    if (!live_snaps.count(node)) dead.insert(node);
  }
  for (bool progress = true; progress && !dead.empty();) {
    progress = false;
    for (auto it = dead.begin(); it != dead.end();) {
      const auto& [ns, name, key] = *it;
      absl::Status s = snapshotters_.at(name)->Remove(ns, key);
      if (s.ok() || absl::IsNotFound(s)) {
        ++stats.snapshots;
        progress = true;
        it = dead.erase(it);
      } else {
        ++it;
      }
    }
  }
  // Blobs no namespace holds a record of.
  std::set<std::string> referenced;
  for (const auto& [node, labels] : w.content) {
    if (live_content.count(node)) referenced.insert(node.second);
  }
  std::vector<content::Digest> unreferenced;
  BERTH_RETURN_IF_ERROR(blobs_->Walk([&](const content::BlobInfo& b) {
    if (!referenced.count(b.digest.str())) unreferenced.push_back(b.digest);
    return absl::OkStatus();
  }));
  for (const auto& d : unreferenced) {
    if (blobs_->Delete(d).ok()) ++stats.blobs;
  }
  for (const auto& [name, sn] : snapshotters_) BERTH_RETURN_IF_ERROR(sn->Cleanup());

  stats.duration = absl::Now() - start;
  {
    std::lock_guard<std::mutex> lock(mu_);
    last_duration_ = stats.duration;
  }
  log::Get("gc")->debug("collected {} content records, {} blobs, {} snapshots, {} leases in {}",
                        stats.content_records, stats.blobs, stats.snapshots, stats.leases,
                        absl::FormatDuration(stats.duration));
  return stats;
}

}  // namespace berth::gc
