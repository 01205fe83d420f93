// Images: the domain core behind containerd.services.images.v1 (containerd metadata/images.go).
// An image is a name pointing at a target descriptor (manifest or index); it is a GC root.
// Records: ns/<ns>/images/<name> (JSON: target, labels, created, updated).
#pragma once

#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "plugins/events/publisher.h"
#include "plugins/metadata/db.h"

namespace berth::images {

struct Descriptor {
  std::string media_type;
  std::string digest;
  int64_t size = 0;
  std::map<std::string, std::string> annotations;
};

struct Image {
  std::string name;
  std::map<std::string, std::string> labels;
  Descriptor target;
  absl::Time created_at;
  absl::Time updated_at;
};

class ImageStore {
 public:
  // `publisher` (may be null) gets /images/create|update|delete after each committed change.
  explicit ImageStore(metadata::Db* db, events::Publisher* publisher = nullptr)
      : db_(db), publisher_(publisher) {}

  // NotFound.
  absl::StatusOr<Image> Get(const std::string& ns, const std::string& name);
  // Images matching `filters` (name, target.digest, target.mediatype, labels.<k>).
  absl::StatusOr<std::vector<Image>> List(const std::string& ns,
                                          const std::vector<std::string>& filters);
  // InvalidArgument for an empty name, a bad target digest or media type, bad labels;
  // AlreadyExists.
  absl::StatusOr<Image> Create(const std::string& ns, const Image& image);
  // paths empty: replace labels and target. "labels", "labels.<k>", "target",
  // "annotations", "annotations.<k>" otherwise; InvalidArgument for others. NotFound.
  absl::StatusOr<Image> Update(const std::string& ns, const Image& image,
                               const std::vector<std::string>& paths);
  // NotFound.
  absl::Status Delete(const std::string& ns, const std::string& name);

 private:
  void Publish(const std::string& ns, const char* topic, const Image& image);

  metadata::Db* db_;
  events::Publisher* publisher_;
};

}  // namespace berth::images
