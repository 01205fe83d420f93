// One HTTP exchange over libcurl (OpenSSL TLS), the transport of the registry client.
//
// Redirects are followed (up to 10; curl drops an Authorization header when a redirect leaves
// the original host, which blob storage behind a registry requires). Timeouts mean "no progress":
// a transfer slower than 1 byte/s for `low_speed_seconds` fails, a large blob never times out
// while bytes flow. Connections are reused per thread.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace berth::transfer {

struct HttpRequest {
  std::string method = "GET";  // GET, HEAD, POST, PUT
  std::string url;
  std::vector<std::string> headers;  // "Name: value"
  std::string body;                  // POST body; PUT body when read_body is null
  // PUT only: the body streamed from this callback, `body_size` bytes in all. It is asked for
  // bytes from `offset` (0 again when curl rewinds for a redirect or an auth round) and returns
  // how many it put in `buf` (0 only at the end); an error aborts the transfer and is returned.
  std::function<absl::StatusOr<size_t>(int64_t offset, char* buf, size_t len)> read_body;
  int64_t body_size = 0;
  int64_t range_from = 0;            // > 0: "Range: bytes=<n>-"
  bool skip_verify = false;
  std::vector<std::string> ca_files;  // added to the system CAs
  int connect_timeout_seconds = 30;
  int low_speed_seconds = 30;
  // Body bytes of a 2xx response as they arrive; an error aborts the transfer and is returned.
  // Null: the body is buffered in HttpResponse::body, at most `max_body` bytes.
  std::function<absl::Status(absl::string_view)> on_body;
  // Called once the final status and headers are known, before any body byte (may be null).
  std::function<absl::Status(long status, const std::multimap<std::string, std::string>&)>
      on_headers;
  size_t max_body = size_t{4} << 20;
};

struct HttpResponse {
  long status = 0;
  // Header names in lower case, of the final response only.
  std::multimap<std::string, std::string> headers;
  std::string body;  // buffered body (non-2xx bodies are kept too, at most 64 KiB)
  std::string effective_url;

  // The first value of `name` (lower case), "" when absent.
  std::string Header(const std::string& name) const;
  std::vector<std::string> Headers(const std::string& name) const;
};

// Performs the request. Errors: Unavailable for transport failures (connection refused, reset,
// TLS, "no progress for N s"), ResourceExhausted when a buffered body exceeds max_body, or
// whatever on_body / on_headers returned. Any HTTP status is a successful exchange.
absl::StatusOr<HttpResponse> HttpDo(const HttpRequest& request);

// Percent-encodes `s` for a URL query value ("sha256:ab" -> "sha256%3Aab").
std::string UrlEscape(const std::string& s);

}  // namespace berth::transfer
