// The snapshots core behind containerd.services.snapshots.v1: picks the snapshotter by name,
// creates the namespace on first use, and attaches new snapshots to the request's lease in the
// same step as far as the garbage collector can see (metadata::Db::GuardMutation).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "plugins/metadata/plugin.h"
#include "snapshotter/snapshotter.h"

namespace berth::snapshotter {

class LeasedSnapshots {
 public:
  explicit LeasedSnapshots(std::shared_ptr<metadata::Metadata> md) : md_(std::move(md)) {}

  // The snapshotter called `name` ("" = overlayfs). NotFound naming it when it is not ready.
  absl::StatusOr<Snapshotter*> Get(const std::string& name);

  // Prepare (view=false) or View a snapshot, attached to `lease` when not "".
  absl::StatusOr<std::vector<mount::Mount>> Create(bool view, const std::string& ns,
                                                   const std::string& lease,
                                                   const std::string& snapshotter,
                                                   const std::string& key,
                                                   const std::string& parent, const Labels& labels);
  absl::Status Commit(const std::string& ns, const std::string& lease,
                      const std::string& snapshotter, const std::string& name,
                      const std::string& key, const Labels& labels);

 private:
  absl::Status Attach(const std::string& ns, const std::string& lease,
                      const std::string& snapshotter, const std::string& key);
  std::shared_ptr<metadata::Metadata> md_;
};

}  // namespace berth::snapshotter
