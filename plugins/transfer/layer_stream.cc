#include "plugins/transfer/layer_stream.h"

#include <cstring>

namespace berth::transfer {

void LayerStream::Push(absl::string_view data) {
  std::unique_lock<std::mutex> lock(mu_);
  if (dropped_ || broken_) return;
  if (!attached_ && buffered_ + data.size() > max_buffer_) {
    // Nobody is reading yet and the budget is spent: the consumer will use the store.
    dropped_ = true;
    chunks_.clear();
    buffered_ = 0;
    return;
  }
  cv_.wait(lock, [&] { return !attached_ || dropped_ || buffered_ < max_buffer_; });
  if (dropped_) return;
  chunks_.emplace_back(data);
  buffered_ += data.size();
  cv_.notify_all();
}

void LayerStream::Break() {
  std::lock_guard<std::mutex> lock(mu_);
  broken_ = true;
  chunks_.clear();
  buffered_ = 0;
  cv_.notify_all();
}

void LayerStream::Finish(const absl::Status& status) {
  std::lock_guard<std::mutex> lock(mu_);
  finished_ = true;
  final_ = status;
  cv_.notify_all();
}

bool LayerStream::Attach() {
  std::lock_guard<std::mutex> lock(mu_);
  if (dropped_ || broken_) return false;
  attached_ = true;
  return true;
}

absl::StatusOr<size_t> LayerStream::Read(char* buf, size_t len) {
  std::unique_lock<std::mutex> lock(mu_);
  cv_.wait(lock, [&] { return broken_ || finished_ || !chunks_.empty(); });
  if (broken_) return absl::AbortedError("layer stream restarted; reading the stored blob");
  if (chunks_.empty()) {  // finished
    if (!final_.ok()) return final_;
    return 0;
  }
  size_t n = 0;
  while (n < len && !chunks_.empty()) {
    std::string& c = chunks_.front();
    size_t take = std::min(len - n, c.size() - front_offset_);
    std::memcpy(buf + n, c.data() + front_offset_, take);
    n += take;
    front_offset_ += take;
    buffered_ -= take;
    if (front_offset_ == c.size()) {
      chunks_.pop_front();
      front_offset_ = 0;
    }
  }
  cv_.notify_all();
  return n;
}

void LayerStream::Detach() {
  std::lock_guard<std::mutex> lock(mu_);
  dropped_ = true;
  attached_ = false;
  chunks_.clear();
  buffered_ = 0;
  cv_.notify_all();
}

}  // namespace berth::transfer
