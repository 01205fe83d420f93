// Images and content: image records (name -> target descriptor) and the blobs they point to.
// Types are containerd API v1 messages. Errors keep the daemon's code: NotFound for a missing
// image or blob, AlreadyExists when creating a name that exists, InvalidArgument for a bad
// name or digest; Unavailable when berthd cannot be reached.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "client/connection.h"
#include "client/meta.h"
#include "containerd/services/content/v1/content.grpc.pb.h"
#include "containerd/services/images/v1/images.grpc.pb.h"

namespace berth::client {

namespace impb = ::containerd::services::images::v1;
namespace cpb_content = ::containerd::services::content::v1;

class Images {
 public:
  explicit Images(std::shared_ptr<Connection> conn);

  // containerd filters: "name==x", "labels.\"k\"==v", "name~=re".
  absl::StatusOr<std::vector<impb::Image>> List(const std::vector<std::string>& filters = {},
                                                const CallOptions& call = {});
  // NotFound when `name` is no image.
  absl::StatusOr<impb::Image> Get(const std::string& name, const CallOptions& call = {});
  // Creates a record. AlreadyExists when `image.name()` exists.
  absl::StatusOr<impb::Image> Create(const impb::Image& image, const CallOptions& call = {});
  // Creates `target_name` pointing at `source`'s target (ctr images tag). With `force`, an
  // existing `target_name` is updated instead (AlreadyExists otherwise). NotFound: source.
  absl::StatusOr<impb::Image> Tag(const std::string& source, const std::string& target_name,
                                  bool force = false, const CallOptions& call = {});
  // Points an existing record at image.target() (and replaces its labels). NotFound when
  // there is no such record.
  absl::StatusOr<impb::Image> Update(const impb::Image& image, const CallOptions& call = {});
  // Removes the record (content stays until GC). `sync` waits for the collection.
  absl::Status Remove(const std::string& name, bool sync = false, const CallOptions& call = {});

 private:
  std::shared_ptr<Connection> conn_;
  std::unique_ptr<impb::Images::Stub> stub_;
};

class Content {
 public:
  explicit Content(std::shared_ptr<Connection> conn);

  absl::StatusOr<std::vector<cpb_content::Info>> List(const std::vector<std::string>& filters = {},
                                                      const CallOptions& call = {});
  // NotFound for an unknown digest.
  absl::StatusOr<cpb_content::Info> Info(const std::string& digest, const CallOptions& call = {});
  // Replaces the labels of a blob (update mask "labels"). NotFound for an unknown digest.
  absl::Status SetLabels(const std::string& digest, const Labels& labels,
                         const CallOptions& call = {});
  // Streams the blob to `sink` in chunks (a false return from sink cancels: Cancelled).
  absl::Status Read(const std::string& digest,
                    const std::function<bool(const std::string&)>& sink,
                    const CallOptions& call = {});
  // The whole blob in memory. FailedPrecondition when it is larger than `max_size`.
  absl::StatusOr<std::string> ReadAll(const std::string& digest, int64_t max_size = 16 << 20,
                                      const CallOptions& call = {});
  // Writes a blob of `total` bytes expected to hash to `digest`, pulling chunks from
  // `source` (returns the number of bytes put in buf, 0 at EOF, <0 on error). AlreadyExists
  // is reported as OK (the blob is there). FailedPrecondition on a digest/size mismatch.
  absl::Status Write(const std::string& ref, const std::string& digest, int64_t total,
                     const std::function<int64_t(char* buf, size_t cap)>& source,
                     const Labels& labels = {}, const CallOptions& call = {});
  // NotFound for an unknown digest.
  absl::Status Delete(const std::string& digest, const CallOptions& call = {});

 private:
  std::shared_ptr<Connection> conn_;
  std::unique_ptr<cpb_content::Content::Stub> stub_;
};

}  // namespace berth::client
