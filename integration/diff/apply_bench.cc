// berth-diff-bench: generates a tree (random + text files), Diffs it into a gzip layer, then
// measures decompression alone, Apply, and the final syncfs. Not a test: numbers depend on the
// machine and its load. Usage: berth-diff-bench [MiB of data, default 400] [work dir] [nothread]
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "core/fs.h"
#include "plugins/diff/diff.h"

namespace {

using Clock = std::chrono::steady_clock;
double Since(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

// CPU seconds of this process: the machine is shared, wall time alone says little.
double Cpu() {
  struct timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

berth::diff::Reader FileReader(int fd) {
  return [fd](char* buf, size_t len) -> absl::StatusOr<size_t> {
    ssize_t n = ::read(fd, buf, len);
    if (n < 0) return absl::InternalError("read");
    return static_cast<size_t>(n);
  };
}

void Generate(const std::string& root, size_t total) {
  std::mt19937_64 rng(42);
  static const char* kWords[] = {"container", "layer",   "snapshot", "overlay",  "digest", "berth",
                                 "kernel",    "runtime", "image",    "manifest", "lorem",  "ipsum"};
  size_t written = 0;
  int n = 0;
  while (written < total) {
    std::string dir = absl::StrCat(root, "/d", n / 100);
    (void)berth::fs::MkdirAll(dir);
    // Mostly small text files (like /usr/share), some big random blobs (like .so files).
    bool big = n % 50 == 0;
    size_t size = big ? (4u << 20) + rng() % (8u << 20) : 512 + rng() % (64u << 10);
    std::string data;
    data.reserve(size);
    if ((big && n % 100 == 0) || (!big && n % 3 == 0)) {
      while (data.size() < size) {
        uint64_t v = rng();
        data.append(reinterpret_cast<const char*>(&v), 8);
      }
    } else {
      while (data.size() < size)
        absl::StrAppend(&data, kWords[rng() % 12], " ", rng() % 1000, "\n");
    }
    data.resize(size);
    std::string path = absl::StrCat(dir, "/f", n, big ? ".so" : ".txt");
    int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    (void)!::write(fd, data.data(), data.size());
    ::close(fd);
    written += size;
    ++n;
  }
  std::printf("generated %d files, %.1f MiB\n", n, written / 1048576.0);
}

}  // namespace

int main(int argc, char** argv) {
  size_t mib = argc > 1 ? std::stoul(argv[1]) : 400;
  std::string base = argc > 2 ? argv[2] : "/var/tmp";
  std::string tmpl = base + "/berth-diff-bench-XXXXXX";
  std::string work = ::mkdtemp(tmpl.data());
  std::string src = work + "/src", empty = work + "/empty", dst = work + "/dst";
  for (const auto& d : {src, empty, dst}) ::mkdir(d.c_str(), 0755);
  Generate(src, mib << 20);

  std::string layer = work + "/layer.tar.gz";
  int out = ::open(layer.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  auto t = Clock::now();
  double c = Cpu();
  auto d = berth::diff::Diff(empty, src, berth::diff::Mode::kPlain, [out](const char* b, size_t n) {
    return ::write(out, b, n) == static_cast<ssize_t>(n) ? absl::OkStatus()
                                                         : absl::InternalError("write");
  });
  double diff_s = Since(t), diff_cpu = Cpu() - c;
  ::close(out);
  if (!d.ok()) {
    std::fprintf(stderr, "diff: %s\n", d.status().ToString().c_str());
    return 1;
  }
  std::printf("Diff (igzip level 1): %.2f s wall, %.2f s cpu, %.1f MiB gzip\n", diff_s, diff_cpu,
              d->size / 1048576.0);

  int fd = ::open(layer.c_str(), O_RDONLY);
  t = Clock::now();
  c = Cpu();
  auto r = berth::diff::NewDecompressingReader(FileReader(fd), berth::diff::Compression::kGzip);
  std::vector<char> buf(1 << 20);
  size_t raw = 0;
  berth::diff::Sha256 h;
  for (;;) {
    auto n = r(buf.data(), buf.size());
    if (!n.ok() || *n == 0) break;
    h.Update(buf.data(), *n);
    raw += *n;
  }
  double inflate_s = Since(t), inflate_cpu = Cpu() - c;
  ::close(fd);
  std::printf("inflate+sha256 only: %.2f s wall (%.0f MiB/s of tar), %.2f s cpu (%.0f MiB/s)\n",
              inflate_s, raw / 1048576.0 / inflate_s, inflate_cpu, raw / 1048576.0 / inflate_cpu);

  fd = ::open(layer.c_str(), O_RDONLY);
  t = Clock::now();
  c = Cpu();
  berth::diff::ApplyOptions opts;
  opts.expected_diff_id = d->diff_id;
  opts.decompress_in_thread = !(argc > 3 && std::string(argv[3]) == "nothread");
  auto a = berth::diff::Apply(FileReader(fd), berth::diff::kMediaTypeOciLayerGzip, dst, opts);
  double apply_s = Since(t), apply_cpu = Cpu() - c;
  ::close(fd);
  if (!a.ok()) {
    std::fprintf(stderr, "apply: %s\n", a.status().ToString().c_str());
    return 1;
  }
  t = Clock::now();
  (void)berth::diff::SyncFilesystem(dst);
  double sync_s = Since(t);
  std::printf(
      "Apply: %.2f s wall for %lld entries: %.0f MiB/s gzip in, %.0f MiB/s tar out; "
      "%.2f s cpu (%.0f MiB/s gzip in); syncfs %.2f s\n",
      apply_s, static_cast<long long>(a->entries), a->compressed_size / 1048576.0 / apply_s,
      a->uncompressed_size / 1048576.0 / apply_s, apply_cpu,
      a->compressed_size / 1048576.0 / apply_cpu, sync_s);
  (void)berth::fs::RemoveAll(work);
  return 0;
}
