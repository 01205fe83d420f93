// Garbage collection (io.containerd.gc.v1.scheduler): mark and sweep over the metadata with
// containerd's label conventions, so clients that set those labels work unchanged.
//
// Roots: images (-> their target), containers (-> their snapshot), unexpired leases (-> their
// resources), content and snapshots labelled `containerd.io/gc.root`.
// Edges: labels `containerd.io/gc.ref.content[.<x>]` = <digest>,
//        `containerd.io/gc.ref.snapshot.<snapshotter>[.<x>]` = <key>, snapshot -> parent.
// Sweep: records first (content records, snapshots leaf first, expired leases), then blobs on
// disk that no namespace references, then snapshot directories no record points to.
//
// Scheduling: Schedule() after a deletion runs a collection soon, in the background, keeping
// the database locked at most ~2% of the time; CollectNow() runs one synchronously (the `sync`
// flag of deletions).
#pragma once

#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "content-store/content_store.h"
#include "plugins/metadata/db.h"
#include "snapshotter/snapshotter.h"

namespace berth::gc {

struct Stats {
  int content_records = 0;
  int blobs = 0;
  int snapshots = 0;
  int leases = 0;
  absl::Duration duration;
};

class Collector {
 public:
  Collector(metadata::Db* db, content::ContentStore* blobs,
            std::map<std::string, snapshotter::Snapshotter*> snapshotters);
  ~Collector();

  // Runs one collection now and returns what it removed.
  absl::StatusOr<Stats> CollectNow();
  // Asks for a collection soon (coalesced; paced to keep the pause budget).
  void Schedule();

 private:
  void Loop();

  metadata::Db* db_;
  content::ContentStore* blobs_;
  std::map<std::string, snapshotter::Snapshotter*> snapshotters_;
  std::mutex collect_mu_;  // one collection at a time

  std::mutex mu_;
  std::condition_variable cv_;
  bool pending_ = false;
  bool stopping_ = false;
  absl::Duration last_duration_;
  std::thread thread_;
};

}  // namespace berth::gc
