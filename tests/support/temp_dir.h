// A scratch directory for one test, removed with everything in it when the object goes.
#pragma once

#include <stdlib.h>
#include <sys/stat.h>

#include <string>

#include "absl/strings/str_cat.h"
#include "core/fs.h"

namespace berth::test_support {

class TempDir {
 public:
  // /tmp/berth-<prefix>-XXXXXX; mode 0700 as mkdtemp makes it.
  explicit TempDir(const std::string& prefix = "test") {
    std::string tmpl = absl::StrCat("/tmp/berth-", prefix, "-XXXXXX");
    path_ = ::mkdtemp(tmpl.data()) != nullptr ? tmpl : "";
  }
  ~TempDir() {
    if (!path_.empty()) (void)fs::RemoveAll(path_);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::string& path() const { return path_; }
  // path()/name, created (0755) if missing.
  std::string Sub(const std::string& name) const {
    std::string p = absl::StrCat(path_, "/", name);
    ::mkdir(p.c_str(), 0755);
    return p;
  }

 private:
  std::string path_;
};

}  // namespace berth::test_support
