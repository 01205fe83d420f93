// Ingest throughput of the local content store vs `sha256sum` on the same file.
// Not a test (no timed assertions): run by hand, numbers go into content-store/README.md.
//
//   content_ingest_bench [--size-mib N] [--chunk-kib N] [--dir DIR] [--checkpoint-mib N]
//                        [--reps N] [--direct 0|1]
//
// It writes a file of N MiB of pseudo-random bytes into DIR, warms the page cache, then
// alternates, `reps` times: `sha256sum FILE`, and reading the same file in chunks into a
// LocalStore writer (write + hash + checkpoints) then Commit (fsync + verify + rename).
// The build machines are shared, so it prints every run and the best of each.
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
  int64_t size_mib = 1024, chunk_kib = 1024, checkpoint_mib = 64, reps = 3, direct = 1;
  std::string dir = "/var/tmp";
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string flag = argv[i];
    if (flag == "--size-mib") size_mib = std::atoll(argv[i + 1]);
    else if (flag == "--chunk-kib") chunk_kib = std::atoll(argv[i + 1]);
    else if (flag == "--checkpoint-mib") checkpoint_mib = std::atoll(argv[i + 1]);
    else if (flag == "--dir") dir = argv[i + 1];
    else if (flag == "--reps") reps = std::atoll(argv[i + 1]);
    else if (flag == "--direct") direct = std::atoll(argv[i + 1]);
    else { std::fprintf(stderr, "unknown flag %s\n", argv[i]); return 2; }
  }
  const int64_t size = size_mib << 20;
  std::string work = absl::StrCat(dir, "/berth-ingest-bench-", ::getpid());
  if (!berth::fs::MkdirAll(work).ok()) return 1;
  std::string src = work + "/source";
  if (!MakeFile(src, size)) { std::perror("make source"); return 1; }

  double warm = 0;
  std::string hex = Sha256Sum(src, &warm);  // warms the page cache for both contenders
  auto expected = berth::content::Digest::Parse("sha256:" + hex);
  if (!expected.ok()) { std::fprintf(stderr, "sha256sum failed\n"); return 1; }
  std::printf("size %lld MiB, chunk %lld KiB, checkpoint every %lld MiB, %s I/O, dir %s\n",
              (long long)size_mib, (long long)chunk_kib, (long long)checkpoint_mib,
              direct ? "direct" : "buffered", dir.c_str());
  const double mib = static_cast<double>(size_mib);
  double best_sum = 1e9, best_ingest = 1e9, best_total = 1e9;
  std::string buf(static_cast<size_t>(chunk_kib) << 10, '\0');
  for (int64_t rep = 0; rep < reps; ++rep) {
    double sum_secs = 0;
    Sha256Sum(src, &sum_secs);
    std::string root = absl::StrCat(work, "/store", rep);
    auto store = berth::content::LocalStore::Open(
        root, {.checkpoint_interval = checkpoint_mib << 20, .direct_io = direct != 0});
    if (!store.ok()) { std::fprintf(stderr, "%s\n", store.status().ToString().c_str()); return 1; }
    auto t0 = Clock::now();
    auto w = (*store)->OpenWriter("bench", size, *expected);
    if (!w.ok()) return 1;
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
    const double ingest = Seconds(t0, t1), total = Seconds(t0, t2);
    std::printf("run %lld: sha256sum %6.1f MiB/s | ingest %6.1f MiB/s (%.2fx) | +commit %6.1f MiB/s (%.2fx)\n",
                (long long)rep, mib / sum_secs, mib / ingest, sum_secs / ingest, mib / total,
                sum_secs / total);
    best_sum = std::min(best_sum, sum_secs);
    best_ingest = std::min(best_ingest, ingest);
    best_total = std::min(best_total, total);
    (void)berth::fs::RemoveAll(root);
  }
  std::printf("best: sha256sum %.1f MiB/s, ingest %.1f MiB/s (%.2fx), ingest+commit %.1f MiB/s (%.2fx)\n",
              mib / best_sum, mib / best_ingest, best_sum / best_ingest, mib / best_total,
              best_sum / best_total);
  (void)berth::fs::RemoveAll(work);
  return 0;
}
