// Linked into every executable of a -DBERTH_SANITIZE=ON build (CMakeLists.txt), nowhere else.
//
// g++ links ASan and UBSan as two runtimes, libasan and libubsan, each with its own copy of
// sanitizer_common and its own report file. libubsan beside ASan initialises as a plugin, which
// parses UBSAN_OPTIONS but never applies its log_path (only UBSan's standalone start does), so
// UBSan's reports went to stderr while ASan's went to the file: berthd's and the shims' stderr
// is a log file no test reads, and a daemon's UBSan report was lost. This applies UBSAN_OPTIONS'
// log_path to libubsan itself, before main, so .ci/sanitize finds every report in one folder.
#include <dlfcn.h>

#include <cstdlib>
#include <string>

namespace {

__attribute__((constructor)) void ApplyUbsanLogPath() {
  const char* options = std::getenv("UBSAN_OPTIONS");
  if (options == nullptr) return;
  std::string all = std::string(":") + options;
  size_t at = all.find(":log_path=");
  if (at == std::string::npos) return;
  std::string path = all.substr(at + 10, all.find(':', at + 1) - (at + 10));
  void* ubsan = dlopen("libubsan.so.1", RTLD_NOW | RTLD_NOLOAD);
  if (ubsan == nullptr) return;
  // libubsan's own copy, not libasan's (which the global lookup would find first).
  auto set_path = reinterpret_cast<void (*)(const char*)>(
      dlsym(ubsan, "__sanitizer_set_report_path"));
  if (set_path != nullptr) set_path(path.c_str());  // copied into the runtime's own buffer
  dlclose(ubsan);
}

}  // namespace
