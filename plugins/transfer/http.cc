#include "plugins/transfer/http.h"

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <mutex>
#include <sstream>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "plugins/transfer/curl_library.h"

namespace berth::transfer {
namespace {

constexpr size_t kErrorBodyLimit = 64 << 10;
constexpr char kSystemCaBundle[] = "/etc/ssl/certs/ca-certificates.crt";

struct Exchange {
  const HttpRequest* req;
  HttpResponse* resp;
  bool headers_done = false;
  absl::Status error;      // set by a callback that aborted the transfer
  int64_t put_offset = 0;  // next byte of a PUT body
};

size_t OnRead(char* buf, size_t size, size_t n, void* user) {
  auto* ex = static_cast<Exchange*>(user);
  const HttpRequest& req = *ex->req;
  size_t len = size * n;
  if (!req.read_body) {
    size_t off = static_cast<size_t>(ex->put_offset);
    size_t k = off >= req.body.size() ? 0 : std::min(len, req.body.size() - off);
    if (k > 0) req.body.copy(buf, k, off);
    ex->put_offset += static_cast<int64_t>(k);
    return k;
  }
  if (ex->put_offset >= req.body_size) return 0;
  len = static_cast<size_t>(
      std::min<int64_t>(static_cast<int64_t>(len), req.body_size - ex->put_offset));
  absl::StatusOr<size_t> got = req.read_body(ex->put_offset, buf, len);
  if (!got.ok()) {
    ex->error = got.status();
    return CURL_READFUNC_ABORT;
  }
  if (*got == 0) {  // the source ended early: a short body would be a silent corruption
    ex->error = absl::DataLossError(absl::StrCat("upload to ", req.url, ": source ended at byte ",
                                                 ex->put_offset, " of ", req.body_size));
    return CURL_READFUNC_ABORT;
  }
  ex->put_offset += static_cast<int64_t>(*got);
  return *got;
}

// curl rewinds the body when it must send it again (redirect, authentication).
int OnSeek(void* user, curl_off_t offset, int origin) {
  if (origin != SEEK_SET) return CURL_SEEKFUNC_CANTSEEK;
  static_cast<Exchange*>(user)->put_offset = offset;
  return CURL_SEEKFUNC_OK;
}

size_t OnHeader(char* data, size_t size, size_t n, void* user) {
  auto* ex = static_cast<Exchange*>(user);
  absl::string_view line(data, size * n);
  if (absl::StartsWith(line, "HTTP/")) {  // a new response (redirects, 100-continue)
    ex->resp->headers.clear();
    ex->resp->status = 0;
    std::vector<absl::string_view> parts = absl::StrSplit(line, ' ');
    int code = 0;
    if (parts.size() > 1 && absl::SimpleAtoi(parts[1], &code)) ex->resp->status = code;
    return size * n;
  }
  size_t colon = line.find(':');
  if (colon != absl::string_view::npos) {
    ex->resp->headers.emplace(absl::AsciiStrToLower(line.substr(0, colon)),
                              std::string(absl::StripAsciiWhitespace(line.substr(colon + 1))));
  }
  return size * n;
}

size_t OnBody(char* data, size_t size, size_t n, void* user) {
  auto* ex = static_cast<Exchange*>(user);
  size_t len = size * n;
  long status = ex->resp->status;
  bool ok = status >= 200 && status < 300;
  if (!ex->headers_done) {
    ex->headers_done = true;
    if (ex->req->on_headers) {
      ex->error = ex->req->on_headers(status, ex->resp->headers);
      if (!ex->error.ok()) return 0;
    }
  }
  if (ok && ex->req->on_body) {
    ex->error = ex->req->on_body(absl::string_view(data, len));
    return ex->error.ok() ? len : 0;
  }
  size_t limit = ok ? ex->req->max_body : kErrorBodyLimit;
  if (ex->resp->body.size() + len > limit) {
    if (!ok) return len;  // an error page: keep its beginning only
    ex->error = absl::ResourceExhaustedError(
        absl::StrCat("response from ", ex->req->url, " exceeds ", limit, " bytes"));
    return 0;
  }
  ex->resp->body.append(data, len);
  return len;
}

std::string CaBundle(const std::vector<std::string>& files) {
  std::string out;
  for (const std::string& f : files) {
    std::ifstream in(f);
    std::stringstream buf;
    buf << in.rdbuf();
    absl::StrAppend(&out, buf.str(), "\n");
  }
  std::ifstream sys(kSystemCaBundle);
  std::stringstream buf;
  buf << sys.rdbuf();
  return out + buf.str();
}

// One easy handle per thread: curl_easy_reset keeps its connection and TLS session caches.
CURL* ThreadHandle(const CurlLibrary& curl) {
  struct Holder {
    const CurlLibrary& curl;
    CURL* h = curl.easy_init();
    ~Holder() { curl.easy_cleanup(h); }
  };
  thread_local Holder holder{curl};
  curl.easy_reset(holder.h);
  return holder.h;
}

}  // namespace

// RFC 3986 percent-encoding of everything but the unreserved characters, as curl_easy_escape.
std::string UrlEscape(const std::string& s) {
  constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(s.size());
  for (unsigned char c : s) {
    if (absl::ascii_isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      out += {'%', kHex[c >> 4], kHex[c & 15]};
    }
  }
  return out;
}

std::string HttpResponse::Header(const std::string& name) const {
  auto it = headers.find(name);
  return it == headers.end() ? "" : it->second;
}

std::vector<std::string> HttpResponse::Headers(const std::string& name) const {
  std::vector<std::string> out;
  auto [b, e] = headers.equal_range(name);
  for (auto it = b; it != e; ++it) out.push_back(it->second);
  return out;
}

absl::StatusOr<HttpResponse> HttpDo(const HttpRequest& req) {
  auto loaded = Curl();
  if (!loaded.ok()) return loaded.status();
  const CurlLibrary& curl = **loaded;
  CURL* h = ThreadHandle(curl);
  if (h == nullptr) return absl::InternalError("curl_easy_init failed");
  auto set = [&](CURLoption option, auto value) { curl.easy_setopt(h, option, value); };
  HttpResponse resp;
  Exchange ex{&req, &resp, false, absl::OkStatus(), 0};
  curl_slist* headers = nullptr;
  for (const auto& hd : req.headers) headers = curl.slist_append(headers, hd.c_str());
  // No "Expect: 100-continue" round trip before a body: registries answer at the end anyway.
  if (req.method == "PUT" || req.method == "POST") headers = curl.slist_append(headers, "Expect:");
  std::string range = req.range_from > 0 ? absl::StrCat(req.range_from, "-") : "";
  std::string ca = req.ca_files.empty() ? "" : CaBundle(req.ca_files);
  curl_blob ca_blob{ca.data(), ca.size(), CURL_BLOB_NOCOPY};
  char errbuf[CURL_ERROR_SIZE] = {0};

  set(CURLOPT_URL, req.url.c_str());
  set(CURLOPT_HTTPHEADER, headers);
  set(CURLOPT_FOLLOWLOCATION, 1L);
  set(CURLOPT_MAXREDIRS, 10L);
  set(CURLOPT_PROTOCOLS_STR, "http,https");
  set(CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
  set(CURLOPT_NOSIGNAL, 1L);
  set(CURLOPT_CONNECTTIMEOUT, static_cast<long>(req.connect_timeout_seconds));
  set(CURLOPT_LOW_SPEED_LIMIT, 1L);
  set(CURLOPT_LOW_SPEED_TIME, static_cast<long>(req.low_speed_seconds));
  set(CURLOPT_USERAGENT, "berth/1.0 (containerd-compatible)");
  set(CURLOPT_HEADERFUNCTION, &OnHeader);
  set(CURLOPT_HEADERDATA, &ex);
  set(CURLOPT_WRITEFUNCTION, &OnBody);
  set(CURLOPT_WRITEDATA, &ex);
  set(CURLOPT_ERRORBUFFER, errbuf);
  set(CURLOPT_BUFFERSIZE, 512L * 1024);
  if (!range.empty()) set(CURLOPT_RANGE, range.c_str());
  if (req.method == "HEAD") set(CURLOPT_NOBODY, 1L);
  if (req.method == "POST") {
    set(CURLOPT_POSTFIELDS, req.body.c_str());
    set(CURLOPT_POSTFIELDSIZE, static_cast<long>(req.body.size()));
  }
  if (req.method == "PUT") {
    int64_t size = req.read_body ? req.body_size : static_cast<int64_t>(req.body.size());
    set(CURLOPT_UPLOAD, 1L);
    set(CURLOPT_READFUNCTION, &OnRead);
    set(CURLOPT_READDATA, &ex);
    set(CURLOPT_SEEKFUNCTION, &OnSeek);
    set(CURLOPT_SEEKDATA, &ex);
    set(CURLOPT_INFILESIZE_LARGE, static_cast<curl_off_t>(size));
  }
  if (req.skip_verify) {
    set(CURLOPT_SSL_VERIFYPEER, 0L);
    set(CURLOPT_SSL_VERIFYHOST, 0L);
  }
  if (!ca.empty()) set(CURLOPT_CAINFO_BLOB, &ca_blob);

  CURLcode rc = curl.easy_perform(h);
  curl.slist_free_all(headers);
  char* eff = nullptr;
  if (curl.easy_getinfo(h, CURLINFO_EFFECTIVE_URL, &eff) == CURLE_OK && eff)
    resp.effective_url = eff;
  if (!ex.error.ok()) return ex.error;
  if (rc == CURLE_OPERATION_TIMEDOUT) {
    return absl::UnavailableError(absl::StrCat(req.method, " ", req.url, ": no progress for ",
                                               req.low_speed_seconds, "s (", errbuf, ")"));
  }
  if (rc != CURLE_OK) {
    return absl::UnavailableError(
        absl::StrCat(req.method, " ", req.url, ": ", errbuf[0] ? errbuf : curl.easy_strerror(rc)));
  }
  if (!ex.headers_done && req.on_headers) {  // an empty body: headers were never reported
    absl::Status s = req.on_headers(resp.status, resp.headers);
    if (!s.ok()) return s;
  }
  return resp;
}

}  // namespace berth::transfer
