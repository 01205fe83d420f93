#include "plugins/transfer/curl_library.h"

#include <dlfcn.h>

#include <mutex>

#include "absl/strings/str_cat.h"

namespace berth::transfer {
namespace {

constexpr char kLibcurl[] = "libcurl.so.4";

// Sets `out` to `name` in `lib`; the first symbol missing becomes `error`.
template <typename F>
void Resolve(void* lib, const char* name, F* out, absl::Status* error) {
  *out = reinterpret_cast<F>(::dlsym(lib, name));
  if (*out == nullptr && error->ok()) {
    *error = absl::FailedPreconditionError(absl::StrCat(kLibcurl, " has no ", name));
  }
}

absl::StatusOr<const CurlLibrary*> Load() {
  // RTLD_NOW: a missing symbol shows here, not halfway through a pull. Never closed.
  void* lib = ::dlopen(kLibcurl, RTLD_NOW | RTLD_LOCAL);
  if (lib == nullptr) {
    return absl::FailedPreconditionError(
        absl::StrCat("cannot load ", kLibcurl, " (package libcurl4): ", ::dlerror()));
  }
  static CurlLibrary api;
  absl::Status error;
  Resolve(lib, "curl_global_init", &api.global_init, &error);
  Resolve(lib, "curl_easy_init", &api.easy_init, &error);
  Resolve(lib, "curl_easy_cleanup", &api.easy_cleanup, &error);
  Resolve(lib, "curl_easy_reset", &api.easy_reset, &error);
  Resolve(lib, "curl_easy_setopt", &api.easy_setopt, &error);
  Resolve(lib, "curl_easy_perform", &api.easy_perform, &error);
  Resolve(lib, "curl_easy_getinfo", &api.easy_getinfo, &error);
  Resolve(lib, "curl_easy_strerror", &api.easy_strerror, &error);
  Resolve(lib, "curl_slist_append", &api.slist_append, &error);
  Resolve(lib, "curl_slist_free_all", &api.slist_free_all, &error);
  if (!error.ok()) return error;
  if (CURLcode rc = api.global_init(CURL_GLOBAL_DEFAULT); rc != CURLE_OK) {
    return absl::FailedPreconditionError(absl::StrCat("curl_global_init: ", api.easy_strerror(rc)));
  }
  return &api;
}

}  // namespace

absl::StatusOr<const CurlLibrary*> Curl() {
  static std::once_flag once;
  static absl::StatusOr<const CurlLibrary*> loaded;
  std::call_once(once, [] { loaded = Load(); });
  return loaded;
}

}  // namespace berth::transfer
