// The read side of Apply (internal): blob Reader -> count + sha256 -> decompress -> sha256 ->
// 1 MiB chunks for libarchive. Optionally runs in a helper thread so that inflating and hashing
// overlap with writing files (two stages, bounded queue of a few chunks).
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "plugins/diff/stream.h"

namespace berth::diff::internal {

class TarSource {
 public:
  // `blob` must outlive the TarSource; with `threaded` it is called from the helper thread
  // (never concurrently).
  TarSource(const Reader& blob, int64_t max_layer_size, bool threaded);
  ~TarSource();  // stops and joins the helper
  TarSource(const TarSource&) = delete;
  TarSource& operator=(const TarSource&) = delete;

  // Sets up decompression for `media_type` (reads the first bytes when detecting by magic).
  absl::Status Start(absl::string_view media_type);

  // The next chunk of the uncompressed tar; empty at the end. The chunk stays valid until the
  // next call. Errors: the blob reader's, DataLoss (corrupt compression), InvalidArgument
  // (larger than max_layer_size).
  absl::StatusOr<std::pair<const char*, size_t>> Next();

  // Valid after Next() returned the end.
  std::string blob_digest() { return blob_hash_.Digest(); }
  std::string tar_digest() { return tar_hash_.Digest(); }
  int64_t compressed() const { return compressed_; }
  int64_t uncompressed() const { return uncompressed_; }

 private:
  struct Chunk {
    std::vector<char> data = std::vector<char>(kBufferSize);
    size_t len = 0;
  };
  absl::Status Fill(Chunk& chunk);  // decompress + hash + bound, fills as far as possible
  void Produce();                   // helper thread body

  const Reader& blob_;
  int64_t max_layer_size_;
  bool threaded_;
  Reader tar_;
  Sha256 blob_hash_;
  Sha256 tar_hash_;
  int64_t compressed_ = 0;
  int64_t uncompressed_ = 0;

  std::vector<Chunk> chunks_;
  Chunk* current_ = nullptr;  // handed to the consumer
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Chunk*> full_;
  std::vector<Chunk*> free_;
  bool producer_done_ = false;
  bool stop_ = false;
  absl::Status producer_error_;
  std::thread producer_;
};

}  // namespace berth::diff::internal
