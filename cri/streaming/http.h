// A minimal HTTP/1.1 server side: enough to read one request and answer it or switch protocols.
// The streaming endpoints take one request per connection (an Upgrade), so there is no
// keep-alive, no chunked bodies and no request bodies.
#pragma once

#include <cstddef>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace berth::cri::streaming {

// One connected socket. Reads and writes may run on two threads at once (one each).
class Conn {
 public:
  explicit Conn(int fd) : fd_(fd) {}
  ~Conn();
  Conn(const Conn&) = delete;
  Conn& operator=(const Conn&) = delete;

  // Reads at most `n` bytes; 0 means EOF. DeadlineExceeded when nothing arrived within
  // `timeout`; Unavailable on a socket error or after Shutdown().
  absl::StatusOr<size_t> Read(char* buf, size_t n, absl::Duration timeout);
  // Writes all of `data` (serialise callers yourself). Unavailable when the peer is gone.
  absl::Status WriteAll(absl::string_view data);
  // Wakes blocked readers and writers; the fd is closed by the destructor.
  void Shutdown();
  int fd() const { return fd_; }

 private:
  int fd_;
};

struct HttpRequest {
  std::string method;
  std::string target;  // as sent: path plus optional ?query
  std::string path;    // percent-decoded path
  std::vector<std::pair<std::string, std::string>> query;    // decoded, in order
  std::vector<std::pair<std::string, std::string>> headers;  // names lower-cased, in order

  // The first value of header `name` (lower-case), or "".
  std::string Header(absl::string_view name) const;
  // All values of `name`, each comma-separated list split and trimmed (for repeated headers).
  std::vector<std::string> HeaderTokens(absl::string_view name) const;
  // Whether header `name` lists `token` (case-insensitive), e.g. Connection: keep-alive, Upgrade.
  bool HeaderHasToken(absl::string_view name, absl::string_view token) const;
  std::vector<std::string> QueryValues(absl::string_view key) const;
};

// Parses the head of a request (request line + headers, up to and including the blank line).
// InvalidArgument for a malformed head.
absl::StatusOr<HttpRequest> ParseRequestHead(absl::string_view head);

// Reads one request head from `conn`. Bytes read past the head go to `*leftover` (a client
// may send its first frames right behind the upgrade request). InvalidArgument for malformed
// or oversized (> max_bytes) heads, DeadlineExceeded when the head does not arrive in time.
absl::StatusOr<HttpRequest> ReadRequest(Conn& conn, size_t max_bytes, absl::Duration timeout,
                                        std::string* leftover);

// "HTTP/1.1 <code> <reason>" plus headers and a text body (Content-Length set when a body or
// a non-1xx code is given).
std::string HttpResponse(int code, absl::string_view reason,
                         const std::vector<std::pair<std::string, std::string>>& headers,
                         absl::string_view body = "");

// Convenience for a plain-text error reply that closes the connection.
std::string HttpError(int code, absl::string_view reason, absl::string_view message);

}  // namespace berth::cri::streaming
