// Single-use, expiring tokens for streaming URLs, as kubelet's streaming server issues them
// (pkg/kubelet/cri/streaming/request_cache.go): the CRI Exec/Attach/PortForward RPC stores the
// request under a random token, and the HTTP handler takes it out exactly once.
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <list>
#include <map>
#include <string>
#include <variant>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace berth::cri::streaming {

template <typename Request>
class TokenCache {
 public:
  using Clock = std::function<absl::Time()>;

  TokenCache(absl::Duration ttl, size_t max_in_flight, Clock clock = &absl::Now)
      : ttl_(ttl), max_in_flight_(max_in_flight), clock_(std::move(clock)) {}

  // Stores `request` and returns a fresh URL-safe token. ResourceExhausted when max_in_flight
  // unexpired tokens are outstanding (kubelet's maxInFlight), Internal if no random bytes.
  absl::StatusOr<std::string> Insert(Request request);

  // Removes and returns the request for `token`. NotFound for an unknown, used or expired token.
  absl::StatusOr<Request> Consume(const std::string& token);

  size_t SizeForTest();

 private:
  struct Entry {
    std::string token;
    Request request;
    absl::Time expires;
  };
  void GcLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const absl::Duration ttl_;
  const size_t max_in_flight_;
  Clock clock_;
  absl::Mutex mu_;
  // Oldest first: entries expire in insertion order, so GC pops from the front.
  std::list<Entry> entries_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, typename std::list<Entry>::iterator> index_ ABSL_GUARDED_BY(mu_);
};

// 32 random bytes, base64url without padding (kubelet uses 8 bytes; more costs nothing).
absl::StatusOr<std::string> NewToken();

template <typename Request>
absl::StatusOr<std::string> TokenCache<Request>::Insert(Request request) {
  absl::StatusOr<std::string> token = NewToken();
  if (!token.ok()) return token.status();
  absl::MutexLock lock(&mu_);
  GcLocked();
  if (entries_.size() >= max_in_flight_) {
    return absl::ResourceExhaustedError("streaming: too many streaming requests in flight");
  }
  entries_.push_back(Entry{*token, std::move(request), clock_() + ttl_});
  index_[*token] = std::prev(entries_.end());
  return *token;
}

template <typename Request>
absl::StatusOr<Request> TokenCache<Request>::Consume(const std::string& token) {
  absl::MutexLock lock(&mu_);
  auto it = index_.find(token);
  if (it == index_.end()) {
    return absl::NotFoundError("streaming: unknown or already used token");
  }
  auto entry = it->second;
  index_.erase(it);
  Request request = std::move(entry->request);
  bool expired = clock_() > entry->expires;
  entries_.erase(entry);
  if (expired) return absl::NotFoundError("streaming: token expired");
  return request;
}

template <typename Request>
size_t TokenCache<Request>::SizeForTest() {
  absl::MutexLock lock(&mu_);
  GcLocked();
  return entries_.size();
}

template <typename Request>
void TokenCache<Request>::GcLocked() {
  absl::Time now = clock_();
  while (!entries_.empty() && entries_.front().expires < now) {
    index_.erase(entries_.front().token);
    entries_.pop_front();
  }
}

}  // namespace berth::cri::streaming
