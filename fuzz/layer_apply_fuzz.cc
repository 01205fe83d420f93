// A layer blob from a registry or a client: decompression (detected by magic), tar parsing
// and the apply path, into a scratch directory that is removed after every input.
#include <signal.h>
#include <stdlib.h>

#include <cstdint>
#include <cstring>
#include <string>

#include "core/fs.h"
#include "plugins/diff/diff.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static bool once = [] {
    signal(SIGPIPE, SIG_IGN);
    return true;
  }();
  (void)once;
  char tmpl[] = "/tmp/berth-fuzz-apply.XXXXXX";
  if (mkdtemp(tmpl) == nullptr) return 0;
  std::string root = tmpl;
  size_t off = 0;
  berth::diff::Reader reader = [&](char* buf, size_t len) -> absl::StatusOr<size_t> {
    size_t n = std::min(len, size - off);
    std::memcpy(buf, data + off, n);
    off += n;
    return n;
  };
  berth::diff::ApplyOptions opts;
  opts.decompress_in_thread = false;
  opts.max_entry_size = 1 << 20;  // keep a hostile header from filling the disk
  opts.max_layer_size = 16 << 20;
  opts.max_entries = 4096;
  (void)berth::diff::Apply(reader, "", root, opts);
  (void)berth::fs::RemoveAll(root);
  return 0;
}
