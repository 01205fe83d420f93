#include "plugins/diff/tar_source.h"

#include "absl/strings/str_cat.h"
#include "core/status_macros.h"

namespace berth::diff::internal {

namespace {
constexpr int kChunks = 4;  // 4 MiB in flight: enough to smooth out large files
}

TarSource::TarSource(const Reader& blob, int64_t max_layer_size, bool threaded)
    : blob_(blob), max_layer_size_(max_layer_size), threaded_(threaded) {}

TarSource::~TarSource() {
  if (producer_.joinable()) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    producer_.join();
  }
}

absl::Status TarSource::Start(absl::string_view media_type) {
  Reader counted = [this](char* buf, size_t len) -> absl::StatusOr<size_t> {
    BERTH_ASSIGN_OR_RETURN(size_t n, blob_(buf, len));
    blob_hash_.Update(buf, n);
    compressed_ += static_cast<int64_t>(n);
    return n;
  };
  BERTH_ASSIGN_OR_RETURN(tar_, NewDecompressingReader(std::move(counted), media_type));
  chunks_.resize(threaded_ ? kChunks : 1);
  if (threaded_) {
    for (Chunk& c : chunks_) free_.push_back(&c);
    producer_ = std::thread([this] { Produce(); });
  }
  return absl::OkStatus();
}

absl::Status TarSource::Fill(Chunk& chunk) {
  size_t got = 0;
  while (got < chunk.data.size()) {
    BERTH_ASSIGN_OR_RETURN(size_t n, tar_(chunk.data.data() + got, chunk.data.size() - got));
    if (n == 0) break;
    got += n;
  }
  chunk.len = got;
  tar_hash_.Update(chunk.data.data(), got);
  uncompressed_ += static_cast<int64_t>(got);
  if (uncompressed_ > max_layer_size_) {
    return absl::InvalidArgumentError(
        absl::StrCat("layer is larger than the limit of ", max_layer_size_, " bytes"));
  }
  return absl::OkStatus();
}

void TarSource::Produce() {
  for (;;) {
    Chunk* chunk;
    {
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait(lock, [this] { return stop_ || !free_.empty(); });
      if (stop_) return;
      chunk = free_.back();
      free_.pop_back();
    }
    absl::Status s = Fill(*chunk);
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (!s.ok()) {
        producer_error_ = s;
        producer_done_ = true;
      } else {
        full_.push_back(chunk);
        if (chunk->len == 0) producer_done_ = true;
      }
    }
    cv_.notify_all();
    if (!s.ok() || chunk->len == 0) return;
  }
}

absl::StatusOr<std::pair<const char*, size_t>> TarSource::Next() {
  if (!threaded_) {
    BERTH_RETURN_IF_ERROR(Fill(chunks_[0]));
    return std::make_pair(chunks_[0].data.data(), chunks_[0].len);
  }
  std::unique_lock<std::mutex> lock(mu_);
  if (current_ != nullptr) {
    if (current_->len == 0) return std::make_pair(current_->data.data(), size_t{0});
    free_.push_back(current_);
    current_ = nullptr;
    cv_.notify_all();
  }
  cv_.wait(lock, [this] { return !full_.empty() || producer_done_; });
  if (full_.empty()) return producer_error_;  // done without an end chunk: an error
  current_ = full_.front();
  full_.pop_front();
  return std::make_pair(static_cast<const char*>(current_->data.data()), current_->len);
}

}  // namespace berth::diff::internal
