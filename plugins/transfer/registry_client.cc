#include "plugins/transfer/registry_client.h"

#include <algorithm>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/strip.h"
#include "content-store/digest.h"
#include "core/status.h"
#include "core/status_macros.h"

namespace berth::transfer {
namespace {

bool Retryable(const absl::Status& s) { return absl::IsUnavailable(s); }

// "bytes 100-999/1000" -> 100.
int64_t RangeStart(const std::string& content_range) {
  absl::string_view v(content_range);
  if (!absl::ConsumePrefix(&v, "bytes ")) return -1;
  int64_t start = -1;
  if (!absl::SimpleAtoi(v.substr(0, v.find('-')), &start)) return -1;
  return start;
}

absl::Status Verify(const Descriptor& desc, absl::string_view body) {
  if (desc.size > 0 && static_cast<int64_t>(body.size()) != desc.size) {
    return absl::FailedPreconditionError(absl::StrCat(desc.digest, ": got ", body.size(),
                                                      " bytes, expected ", desc.size));
  }
  std::string got = content::Digest::Sha256Of(body).str();
  if (got != desc.digest) {
    return absl::FailedPreconditionError(
        absl::StrCat("digest mismatch: expected ", desc.digest, ", got ", got));
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status StatusFromHttp(const HttpResponse& resp, const std::string& what) {
  long c = resp.status;
  if (c >= 200 && c < 300) return absl::OkStatus();
  std::string msg = absl::StrCat(what, ": HTTP ", c);
  if (!resp.body.empty()) absl::StrAppend(&msg, ": ", resp.body.substr(0, 300));
  if (c == 404) return absl::NotFoundError(msg);
  if (c == 401) return absl::UnauthenticatedError(msg);
  if (c == 403) return absl::PermissionDeniedError(msg);
  if (c == 429 || c >= 500) return absl::UnavailableError(msg);
  return absl::FailedPreconditionError(msg);
}

RegistryClient::RegistryClient(Reference ref, ClientOptions options)
    : ref_(std::move(ref)), options_(std::move(options)) {}

HttpRequest RegistryClient::Base(const RegistryHost& host, const std::string& path) const {
  HttpRequest req;
  req.url = absl::StrCat(host.BaseUrl(), "/", ref_.repository, path);
  req.skip_verify = host.skip_verify;
  req.ca_files = host.ca_files;
  req.low_speed_seconds = options_.low_speed_seconds;
  for (const auto& [k, v] : host.headers) req.headers.push_back(absl::StrCat(k, ": ", v));
  return req;
}

std::vector<std::string> RegistryClient::Scopes(const std::string& challenge_scope) const {
  if (!options_.push) {
    return {challenge_scope.empty() ? PullScope(ref_.repository) : challenge_scope};
  }
  // A push token must allow push on our repository whatever the challenge named (a HEAD is
  // challenged with the pull scope only); other repositories' scopes (mounts) are kept.
  std::vector<std::string> out{PushScope(ref_.repository)};
  auto add = [&out](const std::string& s) {
    if (!s.empty() && std::find(out.begin(), out.end(), s) == out.end()) out.push_back(s);
  };
  if (challenge_scope != PullScope(ref_.repository)) add(challenge_scope);
  for (const std::string& s : options_.extra_scopes) add(s);
  return out;
}

absl::Status RegistryClient::Authorize(const RegistryHost& host, const HttpResponse& resp) {
  const Credentials& cred = options_.credentials;
  for (const Challenge& ch : ParseChallenges(resp.Headers("www-authenticate"))) {
    std::string header;
    if (ch.scheme == "basic") {
      if (cred.username.empty() && cred.password.empty()) continue;
      header = BasicAuthorization(cred.username, cred.password);
    } else if (ch.scheme == "bearer") {
      if (!cred.registry_token.empty()) {
        header = "Bearer " + cred.registry_token;
      } else {
        auto realm = ch.params.find("realm");
        if (realm == ch.params.end()) continue;
        auto service = ch.params.find("service");
        auto scope = ch.params.find("scope");
        std::vector<std::string> scopes = Scopes(scope != ch.params.end() ? scope->second : "");
        std::string svc = service != ch.params.end() ? service->second : "";
        HttpRequest tr;
        tr.low_speed_seconds = options_.low_speed_seconds;
        tr.skip_verify = host.skip_verify;
        tr.ca_files = host.ca_files;
        tr.max_body = 1 << 20;
        tr.url = realm->second;
        if (!cred.identity_token.empty()) {  // OAuth2 refresh token: POST form (docker's flow)
          tr.method = "POST";
          tr.headers.push_back("Content-Type: application/x-www-form-urlencoded");
          tr.body = absl::StrCat("grant_type=refresh_token&client_id=berth&service=",
                                 UrlEscape(svc), "&scope=", UrlEscape(absl::StrJoin(scopes, " ")),
                                 "&refresh_token=", UrlEscape(cred.identity_token));
        } else {
          // One scope parameter per scope, as docker's token servers expect.
          for (size_t i = 0; i < scopes.size(); ++i) {
            absl::StrAppend(&tr.url, i == 0 && !absl::StrContains(tr.url, '?') ? "?" : "&",
                            "scope=", UrlEscape(scopes[i]));
          }
          if (!svc.empty()) absl::StrAppend(&tr.url, "&service=", UrlEscape(svc));
          if (!cred.username.empty()) {
            tr.headers.push_back("Authorization: " +
                                 BasicAuthorization(cred.username, cred.password));
          }
        }
        BERTH_ASSIGN_OR_RETURN(HttpResponse tok, HttpDo(tr));
        BERTH_RETURN_IF_ERROR(StatusFromHttp(tok, absl::StrCat("token from ", realm->second)));
        BERTH_ASSIGN_OR_RETURN(std::string token, TokenFromResponse(tok.body));
        header = "Bearer " + token;
      }
    } else {
      continue;
    }
    std::lock_guard<std::mutex> lock(mu_);
    authorization_[host.host] = header;
    return absl::OkStatus();
  }
  return absl::UnauthenticatedError(absl::StrCat(
      "registry ", host.host, " requires authentication",
      cred.empty() ? " and no credentials were given (request or docker config.json)" : ""));
}

absl::StatusOr<HttpResponse> RegistryClient::Send(const RegistryHost& host, HttpRequest req) {
  for (int round = 0;; ++round) {
    HttpRequest r = req;
    {
      std::lock_guard<std::mutex> lock(mu_);
      auto it = authorization_.find(host.host);
      if (it != authorization_.end()) r.headers.push_back("Authorization: " + it->second);
    }
    BERTH_ASSIGN_OR_RETURN(HttpResponse resp, HttpDo(r));
    if (resp.status != 401 || round > 0) return resp;
    BERTH_RETURN_IF_ERROR(Authorize(host, resp));
  }
}

absl::StatusOr<HttpResponse> RegistryClient::OnHosts(unsigned capability, const std::string& what,
                                                     const Attempt& attempt) {
  absl::Status last = absl::NotFoundError(absl::StrCat(what, ": no registry host may serve it"));
  for (const RegistryHost& host : options_.hosts) {
    if ((host.capabilities & capability) == 0) continue;
    absl::Duration backoff = options_.initial_backoff;
    for (int i = 1; i <= options_.max_attempts; ++i) {
      if (Cancelled()) return absl::CancelledError(absl::StrCat(what, ": cancelled"));
      absl::StatusOr<HttpResponse> resp = attempt(host);
      absl::Status s = resp.ok() ? StatusFromHttp(*resp, what) : resp.status();
      if (s.ok()) return resp;
      last = Annotate(s, absl::StrCat(host.host, " (attempt ", i, "/", options_.max_attempts, ")"));
      if (!Retryable(s) || i == options_.max_attempts) break;
      std::this_thread::sleep_for(absl::ToChronoMilliseconds(backoff));
      backoff = std::min(backoff * 2, absl::Seconds(8));
    }
    if (absl::IsCancelled(last)) return last;
  }
  return last;
}

absl::StatusOr<Descriptor> RegistryClient::Resolve() {
  std::string what = absl::StrCat("resolve ", ref_.String());
  auto attempt = [&](const RegistryHost& host, const char* method) {
    HttpRequest req = Base(host, "/manifests/" + ref_.Object());
    req.method = method;
    req.max_body = kMaxManifestSize;
    req.headers.push_back("Accept: " + ManifestAccept());
    return Send(host, req);
  };
  BERTH_ASSIGN_OR_RETURN(HttpResponse head, OnHosts(kCapResolve, what, [&](const RegistryHost& h) {
    return attempt(h, "HEAD");
  }));
  Descriptor d;
  d.digest = head.Header("docker-content-digest");
  int64_t size = 0;
  if (absl::SimpleAtoi(head.Header("content-length"), &size)) d.size = size;
  d.media_type = head.Header("content-type");
  if (!ref_.digest.empty()) d.digest = ref_.digest;
  if (!d.digest.empty() && d.size > 0 && (IsIndexType(d.media_type) || IsManifestType(d.media_type))) {
    return d;
  }
  // HEAD was not enough: GET the document and describe it ourselves.
  BERTH_ASSIGN_OR_RETURN(HttpResponse get, OnHosts(kCapResolve, what, [&](const RegistryHost& h) {
    return attempt(h, "GET");
  }));
  d.size = static_cast<int64_t>(get.body.size());
  std::string actual = content::Digest::Sha256Of(get.body).str();
  if (!ref_.digest.empty() && actual != ref_.digest) {
    return absl::FailedPreconditionError(
        absl::StrCat(what, ": digest mismatch: expected ", ref_.digest, ", got ", actual));
  }
  d.digest = actual;
  BERTH_ASSIGN_OR_RETURN(d.media_type, ManifestMediaType(get.body, get.Header("content-type")));
  return d;
}

absl::StatusOr<std::string> RegistryClient::FetchManifest(const Descriptor& desc) {
  if (desc.size > kMaxManifestSize) {
    return absl::ResourceExhaustedError(absl::StrCat("manifest ", desc.digest, " is ", desc.size,
                                                     " bytes, more than ", kMaxManifestSize));
  }
  std::string what = absl::StrCat("fetch manifest ", desc.digest);
  BERTH_ASSIGN_OR_RETURN(HttpResponse resp, OnHosts(kCapPull | kCapResolve, what, [&](const RegistryHost& h) {
    HttpRequest req = Base(h, "/manifests/" + desc.digest);
    req.max_body = kMaxManifestSize;
    req.headers.push_back("Accept: " + ManifestAccept());
    return Send(h, req);
  }));
  BERTH_RETURN_IF_ERROR(Annotate(Verify(desc, resp.body), what));
  return std::move(resp.body);
}

absl::StatusOr<std::string> RegistryClient::FetchSmallBlob(const Descriptor& desc, int64_t max) {
  if (desc.size > max) {
    return absl::ResourceExhaustedError(
        absl::StrCat("blob ", desc.digest, " is ", desc.size, " bytes, more than ", max));
  }
  std::string what = absl::StrCat("fetch blob ", desc.digest);
  BERTH_ASSIGN_OR_RETURN(HttpResponse resp, OnHosts(kCapPull, what, [&](const RegistryHost& h) {
    HttpRequest req = Base(h, "/blobs/" + desc.digest);
    req.max_body = static_cast<size_t>(max);
    return Send(h, req);
  }));
  BERTH_RETURN_IF_ERROR(Annotate(Verify(desc, resp.body), what));
  return std::move(resp.body);
}

absl::Status RegistryClient::FetchBlob(const Descriptor& desc, BlobSink& sink) {
  std::string what = absl::StrCat("fetch blob ", desc.digest);
  if (desc.size > 0 && sink.Offset() >= desc.size) return absl::OkStatus();
  auto resp = OnHosts(kCapPull, what, [&](const RegistryHost& h) -> absl::StatusOr<HttpResponse> {
    HttpRequest req = Base(h, "/blobs/" + desc.digest);
    int64_t from = sink.Offset();
    req.range_from = from;
    req.on_headers = [&sink, from](long status,
                                   const std::multimap<std::string, std::string>& hdrs) {
      if (status == 200 && from > 0) return sink.Restart();  // Range ignored: start over
      if (status == 206) {
        auto it = hdrs.find("content-range");
        if (it == hdrs.end() || RangeStart(it->second) != from) {
          return absl::UnavailableError("registry answered a different range");
        }
      }
      return absl::OkStatus();
    };
    req.on_body = [&](absl::string_view data) -> absl::Status {
      if (Cancelled()) return absl::CancelledError("cancelled");
      return sink.Write(data);
    };
    return Send(h, req);
  });
  return resp.status();
}

}  // namespace berth::transfer
