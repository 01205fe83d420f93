#include "cri/streaming/http.h"

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "core/status.h"

namespace berth::cri::streaming {
namespace {

int PollTimeoutMs(absl::Duration timeout) {
  if (timeout == absl::InfiniteDuration()) return -1;
  int64_t ms = absl::ToInt64Milliseconds(timeout);
  return ms < 0 ? 0 : (ms > 1 << 30 ? 1 << 30 : static_cast<int>(ms));
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  c = absl::ascii_tolower(c);
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

// Percent-decoding; '+' means space only in query strings (form encoding).
absl::StatusOr<std::string> Unescape(absl::string_view in, bool plus_is_space) {
  std::string out;
  out.reserve(in.size());
  for (size_t i = 0; i < in.size(); ++i) {
    if (in[i] == '%') {
      if (i + 2 >= in.size()) {
        return absl::InvalidArgumentError("truncated percent escape");
      }
      int hi = HexValue(in[i + 1]), lo = HexValue(in[i + 2]);
      if (hi < 0 || lo < 0) return absl::InvalidArgumentError("bad percent escape");
      out.push_back(static_cast<char>(hi * 16 + lo));
      i += 2;
    } else if (plus_is_space && in[i] == '+') {
      out.push_back(' ');
    } else {
      out.push_back(in[i]);
    }
  }
  return out;
}

}  // namespace

Conn::~Conn() {
  if (fd_ >= 0) close(fd_);
}

absl::StatusOr<size_t> Conn::Read(char* buf, size_t n, absl::Duration timeout) {
  pollfd pfd{fd_, POLLIN, 0};
  int rc;
  do {
    rc = poll(&pfd, 1, PollTimeoutMs(timeout));
  } while (rc < 0 && errno == EINTR);
  if (rc < 0) return ErrnoStatus("streaming: poll");
  if (rc == 0) return absl::DeadlineExceededError("streaming: connection idle");
  ssize_t got;
  do {
    got = recv(fd_, buf, n, 0);
  } while (got < 0 && errno == EINTR);
  if (got < 0) return absl::UnavailableError(absl::StrCat("streaming: recv: ", strerror(errno)));
  return static_cast<size_t>(got);
}

absl::Status Conn::WriteAll(absl::string_view data) {
  while (!data.empty()) {
    // MSG_NOSIGNAL: a peer that hung up must not kill the daemon with SIGPIPE.
    ssize_t n = send(fd_, data.data(), data.size(), MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR) continue;
      return absl::UnavailableError(absl::StrCat("streaming: send: ", strerror(errno)));
    }
    data.remove_prefix(static_cast<size_t>(n));
  }
  return absl::OkStatus();
}

void Conn::Shutdown() { shutdown(fd_, SHUT_RDWR); }

std::string HttpRequest::Header(absl::string_view name) const {
  for (const auto& [k, v] : headers) {
    if (k == name) return v;
  }
  return "";
}

std::vector<std::string> HttpRequest::HeaderTokens(absl::string_view name) const {
  std::vector<std::string> out;
  for (const auto& [k, v] : headers) {
    if (k != name) continue;
    for (absl::string_view part : absl::StrSplit(v, ',')) {
      part = absl::StripAsciiWhitespace(part);
      if (!part.empty()) out.emplace_back(part);
    }
  }
  return out;
}

bool HttpRequest::HeaderHasToken(absl::string_view name, absl::string_view token) const {
  for (const std::string& t : HeaderTokens(name)) {
    if (absl::EqualsIgnoreCase(t, token)) return true;
  }
  return false;
}

std::vector<std::string> HttpRequest::QueryValues(absl::string_view key) const {
  std::vector<std::string> out;
  for (const auto& [k, v] : query) {
    if (k == key) out.push_back(v);
  }
  return out;
}

absl::StatusOr<HttpRequest> ParseRequestHead(absl::string_view head) {
  std::vector<absl::string_view> lines = absl::StrSplit(head, "\r\n");
  if (lines.empty()) return absl::InvalidArgumentError("empty request");
  std::vector<absl::string_view> parts = absl::StrSplit(lines[0], ' ');
  if (parts.size() != 3 || !absl::StartsWith(parts[2], "HTTP/1.")) {
    return absl::InvalidArgumentError("malformed request line");
  }
  HttpRequest req;
  req.method = std::string(parts[0]);
  req.target = std::string(parts[1]);
  absl::string_view target = parts[1];
  size_t q = target.find('?');
  auto path = Unescape(target.substr(0, q), false);
  if (!path.ok()) return path.status();
  req.path = *path;
  if (q != absl::string_view::npos) {
    for (absl::string_view kv : absl::StrSplit(target.substr(q + 1), '&', absl::SkipEmpty())) {
      size_t eq = kv.find('=');
      auto key = Unescape(kv.substr(0, eq), true);
      auto value = Unescape(eq == absl::string_view::npos ? "" : kv.substr(eq + 1), true);
      if (!key.ok() || !value.ok()) return absl::InvalidArgumentError("malformed query");
      req.query.emplace_back(*key, *value);
    }
  }
  for (size_t i = 1; i < lines.size(); ++i) {
    if (lines[i].empty()) continue;
    size_t colon = lines[i].find(':');
    if (colon == absl::string_view::npos || colon == 0) {
      return absl::InvalidArgumentError("malformed header line");
    }
    req.headers.emplace_back(absl::AsciiStrToLower(lines[i].substr(0, colon)),
                             std::string(absl::StripAsciiWhitespace(lines[i].substr(colon + 1))));
  }
  return req;
}

absl::StatusOr<HttpRequest> ReadRequest(Conn& conn, size_t max_bytes, absl::Duration timeout,
                                        std::string* leftover) {
  std::string buf;
  absl::Time deadline = absl::Now() + timeout;
  char chunk[4096];
  while (true) {
    size_t end = buf.find("\r\n\r\n");
    if (end != std::string::npos) {
      *leftover = buf.substr(end + 4);
      return ParseRequestHead(absl::string_view(buf).substr(0, end));
    }
    if (buf.size() > max_bytes) return absl::InvalidArgumentError("request head too large");
    absl::StatusOr<size_t> n = conn.Read(chunk, sizeof(chunk), deadline - absl::Now());
    if (!n.ok()) return n.status();
    if (*n == 0) return absl::InvalidArgumentError("connection closed before request head");
    buf.append(chunk, *n);
  }
}

std::string HttpResponse(int code, absl::string_view reason,
                         const std::vector<std::pair<std::string, std::string>>& headers,
                         absl::string_view body) {
  std::string out = absl::StrCat("HTTP/1.1 ", code, " ", reason, "\r\n");
  for (const auto& [k, v] : headers) absl::StrAppend(&out, k, ": ", v, "\r\n");
  if (code >= 200) absl::StrAppend(&out, "Content-Length: ", body.size(), "\r\n");
  absl::StrAppend(&out, "\r\n", body);
  return out;
}

std::string HttpError(int code, absl::string_view reason, absl::string_view message) {
  return HttpResponse(code, reason,
                      {{"Content-Type", "text/plain; charset=utf-8"}, {"Connection", "close"}},
                      absl::StrCat(message, "\n"));
}

}  // namespace berth::cri::streaming
