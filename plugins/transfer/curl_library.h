// libcurl, loaded by the first HTTP exchange instead of at berthd's start.
//
// Linked directly, libcurl brings ~25 libraries with it (GnuTLS through librtmp, Kerberos, LDAP,
// libssh2, p11-kit, ...). Their relocated data pages cost every berthd ~500 KB of resident
// memory from its first second, while most daemons pull rarely, or never when images come by
// import. Only http.cc calls libcurl, through this table.
#pragma once

#include <curl/curl.h>

#include "absl/status/statusor.h"

namespace berth::transfer {

struct CurlLibrary {
  decltype(&::curl_global_init) global_init;
  decltype(&::curl_easy_init) easy_init;
  decltype(&::curl_easy_cleanup) easy_cleanup;
  decltype(&::curl_easy_reset) easy_reset;
  decltype(&::curl_easy_setopt) easy_setopt;
  decltype(&::curl_easy_perform) easy_perform;
  decltype(&::curl_easy_getinfo) easy_getinfo;
  decltype(&::curl_easy_strerror) easy_strerror;
  decltype(&::curl_slist_append) slist_append;
  decltype(&::curl_slist_free_all) slist_free_all;
};

// Loads libcurl.so.4 and initialises it (curl_global_init), once per process; later calls
// return the same table. FailedPrecondition naming the library or symbol that is missing.
absl::StatusOr<const CurlLibrary*> Curl();

}  // namespace berth::transfer
