// A tiny HTTP/1.1 server on 127.0.0.1 for registry client tests: one thread per connection,
// one request per connection (Connection: close), answers from a handler. Request bodies of
// a known Content-Length (uploads) are read in full and handed to the handler.
#pragma once

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "content-store/digest.h"

namespace berth::transfer::testing {

struct FakeRequest {
  std::string method;
  std::string path;  // with the query
  std::map<std::string, std::string> headers;  // lower-case names
  std::string body;                            // Content-Length bytes after the headers
};

struct FakeResponse {
  int status = 200;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  size_t cut_after = std::string::npos;  // close the connection after this many body bytes
};

class FakeServer {
 public:
  using Handler = std::function<FakeResponse(const FakeRequest&)>;
  explicit FakeServer(Handler h) : handler_(std::move(h)) {
    fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof(a));
    socklen_t len = sizeof(a);
    getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
    listen(fd_, 64);
    accept_ = std::thread([this] { Loop(); });
  }
  ~FakeServer() {
    stop_ = true;
    shutdown(fd_, SHUT_RDWR);
    close(fd_);
    accept_.join();
    for (auto& t : conns_) t.join();
  }
  std::string host() const { return absl::StrCat("127.0.0.1:", port_); }
  std::vector<FakeRequest> requests() {
    std::lock_guard<std::mutex> l(mu_);
    return seen_;
  }

 private:
  void Loop() {
    while (!stop_) {
      int c = accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (c < 0) return;
      conns_.emplace_back([this, c] { Serve(c); });
    }
  }
  void Serve(int c) {
    std::string in;
    char buf[4096];
    while (in.find("\r\n\r\n") == std::string::npos) {
      ssize_t n = read(c, buf, sizeof(buf));
      if (n <= 0) break;
      in.append(buf, n);
    }
    FakeRequest req;
    std::vector<std::string> lines = absl::StrSplit(in.substr(0, in.find("\r\n\r\n")), "\r\n");
    if (!lines.empty()) {
      std::vector<std::string> first = absl::StrSplit(lines[0], ' ');
      if (first.size() >= 2) req.method = first[0], req.path = first[1];
      for (size_t i = 1; i < lines.size(); ++i) {
        size_t colon = lines[i].find(':');
        if (colon == std::string::npos) continue;
        req.headers[absl::AsciiStrToLower(lines[i].substr(0, colon))] =
            std::string(absl::StripAsciiWhitespace(lines[i].substr(colon + 1)));
      }
    }
    size_t header_end = in.find("\r\n\r\n");
    req.body = header_end == std::string::npos ? "" : in.substr(header_end + 4);
    size_t want = 0;
    if (auto it = req.headers.find("content-length"); it != req.headers.end()) {
      if (!absl::SimpleAtoi(it->second, &want)) want = 0;
    }
    while (req.body.size() < want) {
      ssize_t n = read(c, buf, sizeof(buf));
      if (n <= 0) break;
      req.body.append(buf, n);
    }
    {
      std::lock_guard<std::mutex> l(mu_);
      seen_.push_back(req);
    }
    FakeResponse r = handler_(req);
    std::string out = absl::StrCat("HTTP/1.1 ", r.status, " X\r\nConnection: close\r\n");
    bool has_len = false;
    for (const auto& [k, v] : r.headers) {
      absl::StrAppend(&out, k, ": ", v, "\r\n");
      has_len |= absl::AsciiStrToLower(k) == "content-length";
    }
    if (!has_len) absl::StrAppend(&out, "Content-Length: ", r.body.size(), "\r\n");
    absl::StrAppend(&out, "\r\n");
    if (req.method != "HEAD") out += r.body.substr(0, r.cut_after);
    for (size_t off = 0; off < out.size();) {
      ssize_t n = write(c, out.data() + off, out.size() - off);
      if (n <= 0) break;
      off += n;
    }
    close(c);
  }

  Handler handler_;
  int fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::thread accept_;
  std::vector<std::thread> conns_;
  std::mutex mu_;
  std::vector<FakeRequest> seen_;
};

// "a=1&digest=sha256%3Aab" -> the value of `key`, percent-decoded.
inline std::string QueryValue(const std::string& path, const std::string& key) {
  size_t q = path.find('?');
  if (q == std::string::npos) return "";
  std::string query = path.substr(q + 1);
  for (absl::string_view kv : absl::StrSplit(query, '&')) {
    if (absl::StartsWith(kv, key + "=")) {
      std::string v(kv.substr(key.size() + 1)), out;
      for (size_t i = 0; i < v.size(); ++i) {
        int byte = 0;
        if (v[i] == '%' && i + 2 < v.size() && absl::SimpleHexAtoi(v.substr(i + 1, 2), &byte)) {
          out.push_back(static_cast<char>(byte));
          i += 2;
        } else {
          out.push_back(v[i]);
        }
      }
      return out;
    }
  }
  return "";
}

// A distribution-spec registry in memory for one repository "repo" (Handle is a FakeServer
// handler): blobs, uploads with relative or absolute Locations,
// manifests, optional cross-repository mounts and an optional wrong digest in its answers.
struct MemoryRegistry {
  std::mutex mu;
  std::map<std::string, std::string> blobs;      // digest -> bytes
  std::map<std::string, std::string> manifests;  // tag or digest -> bytes
  std::map<std::string, std::string> manifest_types;
  std::map<std::string, std::string> mountable;  // digest -> bytes held by "other/repo"
  bool absolute_location = false;
  bool lie_about_digest = false;
  int fail_puts = 0;  // the first N blob PUTs answer 503
  std::string host;

  FakeResponse Handle(const FakeRequest& r) {
    std::lock_guard<std::mutex> l(mu);
    const std::string blobs_prefix = "/v2/repo/blobs/";
    if (r.method == "HEAD" && absl::StartsWith(r.path, blobs_prefix)) {
      std::string d = r.path.substr(blobs_prefix.size());
      if (!blobs.count(d)) return {404, {}, ""};
      return {200, {{"Docker-Content-Digest", d}, {"Content-Length", absl::StrCat(blobs[d].size())}}, ""};
    }
    if (r.method == "POST" && absl::StartsWith(r.path, "/v2/repo/blobs/uploads/")) {
      std::string mount = QueryValue(r.path, "mount");
      if (!mount.empty() && QueryValue(r.path, "from") == "other/repo" && mountable.count(mount)) {
        blobs[mount] = mountable[mount];
        return {201, {{"Docker-Content-Digest", mount}}, ""};
      }
      std::string loc = absolute_location ? absl::StrCat("http://", host, "/elsewhere/up-1")
                                          : "/v2/repo/blobs/uploads/up-1?_state=abc";
      return {202, {{"Location", loc}}, ""};
    }
    if (r.method == "PUT" && (absl::StartsWith(r.path, "/v2/repo/blobs/uploads/up-1") ||
                              absl::StartsWith(r.path, "/elsewhere/up-1"))) {
      if (fail_puts > 0) {
        --fail_puts;
        return {503, {}, "busy"};
      }
      std::string d = QueryValue(r.path, "digest");
      if (content::Digest::Sha256Of(r.body).str() != d) return {400, {}, R"({"errors":[{"code":"DIGEST_INVALID"}]})"};
      blobs[d] = r.body;
      std::string answer = lie_about_digest ? content::Digest::Sha256Of("other").str() : d;
      return {201, {{"Docker-Content-Digest", answer}, {"Location", "/v2/repo/blobs/" + d}}, ""};
    }
    if (r.method == "PUT" && absl::StartsWith(r.path, "/v2/repo/manifests/")) {
      std::string ref = r.path.substr(std::string("/v2/repo/manifests/").size());
      manifests[ref] = r.body;
      auto ct = r.headers.find("content-type");
      manifest_types[ref] = ct == r.headers.end() ? "" : ct->second;
      std::string d = content::Digest::Sha256Of(r.body).str();
      std::string answer = lie_about_digest ? content::Digest::Sha256Of("other").str() : d;
      return {201, {{"Docker-Content-Digest", answer}}, ""};
    }
    return {404, {}, "unexpected " + r.method + " " + r.path};
  }
};

}  // namespace berth::transfer::testing
