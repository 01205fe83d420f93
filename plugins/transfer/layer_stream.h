// A bounded hand-off of one layer's bytes from its download (producer) to its unpack
// (consumer), so a layer is decompressed and applied while it arrives instead of after.
//
// The producer also writes every byte to the content store, so the stream is only an
// optimisation: when the consumer is not ready before `max_buffer` bytes are waiting, or when
// the bytes stop being one contiguous run from offset 0 (a resumed or restarted transfer), the
// stream is dropped and the consumer reads the committed blob instead.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <mutex>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace berth::transfer {

class LayerStream {
 public:
  explicit LayerStream(size_t max_buffer) : max_buffer_(max_buffer) {}

  // Producer. Push blocks while an attached consumer has max_buffer bytes waiting; it never
  // fails (a dropped stream just discards).
  void Push(absl::string_view data);
  // The bytes are no longer contiguous from 0: an attached consumer's Read fails with Aborted.
  void Break();
  // End of the bytes: OK, or the download's error.
  void Finish(const absl::Status& status);

  // Consumer. True when the stream can be read from byte 0 (not dropped, not broken).
  bool Attach();
  // Up to len bytes; 0 at the end. Aborted when broken, the download's error when it failed.
  absl::StatusOr<size_t> Read(char* buf, size_t len);
  // The consumer stops reading: the producer no longer waits for it.
  void Detach();

 private:
  const size_t max_buffer_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::string> chunks_ ABSL_GUARDED_BY(mu_);
  size_t front_offset_ ABSL_GUARDED_BY(mu_) = 0;  // consumed bytes of chunks_.front()
  size_t buffered_ ABSL_GUARDED_BY(mu_) = 0;
  bool attached_ ABSL_GUARDED_BY(mu_) = false;
  bool dropped_ ABSL_GUARDED_BY(mu_) = false;  // no consumer will read: discard
  bool broken_ ABSL_GUARDED_BY(mu_) = false;
  bool finished_ ABSL_GUARDED_BY(mu_) = false;
  absl::Status final_ ABSL_GUARDED_BY(mu_);
};

}  // namespace berth::transfer
