// Ingest throughput of the local content store vs `sha256sum` on the same file.
// Not a test (no timed assertions): run by hand, numbers go into content-store/README.md.
//
//   content_ingest_bench [--size-mib N] [--chunk-kib N] [--dir DIR] [--checkpoint-mib N]
//
// It writes a file of N MiB of pseudo-random bytes into DIR, warms the page cache, times
// `sha256sum FILE`, then times reading the same file in chunks into a LocalStore writer
// (write + hash + checkpoints) and the Commit (fsync + verify + rename) separately.
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "content-store/local_store.h"
#include "core/fs.h"

namespace {

using Clock = std::chrono::steady_clock;

double Seconds(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double>(b - a).count();
}

bool MakeFile(const std::string& path, int64_t size) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (fd < 0) return false;
  std::mt19937_64 rng(42);
  std::vector<uint64_t> buf((4 << 20) / 8);
  for (int64_t done = 0; done < size;) {
    for (auto& v : buf) v = rng();
    size_t n = static_cast<size_t>(std::min<int64_t>(buf.size() * 8, size - done));
    if (::write(fd, buf.data(), n) != static_cast<ssize_t>(n)) return false;
    done += n;
  }
  ::fsync(fd);
  ::close(fd);
  return true;
}

std::string Sha256Sum(const std::string& path, double* secs) {
  auto t0 = Clock::now();
  FILE* p = ::popen(absl::StrCat("sha256sum ", path).c_str(), "r");
  char out[256] = {};
  if (p == nullptr || std::fgets(out, sizeof(out), p) == nullptr) return "";
  ::pclose(p);
  *secs = Seconds(t0, Clock::now());
  return std::string(out, 64);
}

}  // namespace

int main(int argc, char** argv) {
  int64_t size_mib = 1024, chunk_kib = 1024, checkpoint_mib = 64;
  std::string dir = "/var/tmp";
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string flag = argv[i];
    if (flag == "--size-mib") size_mib = std::atoll(argv[i + 1]);
    else if (flag == "--chunk-kib") chunk_kib = std::atoll(argv[i + 1]);
    else if (flag == "--checkpoint-mib") checkpoint_mib = std::atoll(argv[i + 1]);
    else if (flag == "--dir") dir = argv[i + 1];
    else { std::fprintf(stderr, "unknown flag %s\n", argv[i]); return 2; }
  }
  const int64_t size = size_mib << 20;
  std::string work = absl::StrCat(dir, "/berth-ingest-bench-", ::getpid());
  if (!berth::fs::MkdirAll(work).ok()) return 1;
  std::string src = work + "/source";
  if (!MakeFile(src, size)) { std::perror("make source"); return 1; }

  double warm = 0, sum_secs = 0;
  Sha256Sum(src, &warm);  // warm the page cache for both contenders
  std::string hex = Sha256Sum(src, &sum_secs);

  auto store = berth::content::LocalStore::Open(work + "/store",
                                                {.checkpoint_interval = checkpoint_mib << 20});
  if (!store.ok()) { std::fprintf(stderr, "%s\n", store.status().ToString().c_str()); return 1; }
  auto expected = berth::content::Digest::Parse("sha256:" + hex);
  if (!expected.ok()) { std::fprintf(stderr, "sha256sum failed\n"); return 1; }

  auto t0 = Clock::now();
  auto w = (*store)->OpenWriter("bench", size, *expected);
  if (!w.ok()) return 1;
  std::string buf(static_cast<size_t>(chunk_kib) << 10, '\0');
  int fd = ::open(src.c_str(), O_RDONLY);
  for (;;) {
    ssize_t n = ::read(fd, buf.data(), buf.size());
    if (n <= 0) break;
    absl::Status st = (*w)->Append(absl::string_view(buf.data(), static_cast<size_t>(n)));
    if (!st.ok()) { std::fprintf(stderr, "%s\n", st.ToString().c_str()); return 1; }
  }
  ::close(fd);
  auto t1 = Clock::now();
  absl::Status st = (*w)->Commit(size, *expected);
  auto t2 = Clock::now();
  if (!st.ok()) { std::fprintf(stderr, "commit: %s\n", st.ToString().c_str()); return 1; }

  const double mib = static_cast<double>(size_mib);
  const double ingest = Seconds(t0, t1), total = Seconds(t0, t2);
  std::printf("size %lld MiB, chunk %lld KiB, checkpoint every %lld MiB, dir %s\n",
              (long long)size_mib, (long long)chunk_kib, (long long)checkpoint_mib, dir.c_str());
  std::printf("sha256sum                 %7.3f s  %8.1f MiB/s\n", sum_secs, mib / sum_secs);
  std::printf("ingest (write+hash)       %7.3f s  %8.1f MiB/s  %.2fx sha256sum\n", ingest,
              mib / ingest, sum_secs / ingest);
  std::printf("ingest + commit (fsync)   %7.3f s  %8.1f MiB/s  %.2fx sha256sum\n", total,
              mib / total, sum_secs / total);
  (void)berth::fs::RemoveAll(work);
  return 0;
}
