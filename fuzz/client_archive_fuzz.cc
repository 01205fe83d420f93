// The C++ client's own import of an OCI layout tar (`berthctl images import` against a daemon
// without the transfer service): the input is the archive. It is read as ImportArchive reads
// it, with TarReader (ustar / GNU long names / pax paths; no decompression) from a memfd:
// index.json kept (at most 4 MiB), every other regular entry's data read and dropped (where
// ImportArchive streams blobs/sha256/* to the daemon, which checks their digests). Then
// ImagesOfIndex turns index.json into the image records ImportArchive would create.
//
// Checked: Read never gives more than asked or more than the entry holds; every record has a
// name and a digest.
#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "client/archive_import.h"

namespace {

void Fail(const char* what) {
  std::fprintf(stderr, "client_archive: %s\n", what);
  std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const int fd = memfd_create("client-archive-fuzz", MFD_CLOEXEC);
  if (fd < 0 || ftruncate(fd, 0) != 0 || pwrite(fd, data, size, 0) != static_cast<ssize_t>(size) ||
      lseek(fd, 0, SEEK_SET) != 0) {
    Fail("memfd");
  }
  berth::client::TarReader tar(fd);
  std::string index_text;
  char buf[4096];
  // Each header is 512 bytes of the input: the loop ends with it.
  while (true) {
    absl::StatusOr<berth::client::TarEntry> e = tar.Next();
    if (!e.ok()) break;  // NotFound at the end, DataLoss for a truncated or corrupt archive
    if (e->name == "index.json") {
      if (e->size > (4 << 20)) continue;  // ImportArchive refuses the archive
      index_text.resize(static_cast<size_t>(e->size));
      if (tar.Read(index_text.data(), index_text.size()) != e->size) index_text.clear();
      continue;
    }
    int64_t total = 0;
    for (size_t cap : {size_t{1}, size_t{511}, sizeof(buf)}) {  // odd sizes, then the rest
      int64_t n;
      do {
        n = tar.Read(buf, cap);
        if (n > static_cast<int64_t>(cap)) Fail("Read gave more than asked");
        if (n > 0) total += n;
      } while (n > 0 && cap == sizeof(buf));
      if (n < 0) break;
    }
    if (total > e->size) Fail("Read gave more than the entry holds");
  }
  if (index_text.empty()) return 0;
  berth::client::ArchiveImportOptions options;
  options.base_name = "fuzz.example/import";
  options.labels["fuzz"] = "1";
  auto images = berth::client::ImagesOfIndex(index_text, options);
  if (images.ok()) {
    for (const auto& img : *images) {
      if (img.name().empty() || img.target().digest().empty())
        Fail("a record without name or digest");
    }
  }
  return 0;
}
