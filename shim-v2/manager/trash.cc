#include "shim-v2/manager/trash.h"

#include <dirent.h>
#include <stdio.h>
#include <unistd.h>

#include <cerrno>

#include "absl/strings/str_cat.h"
#include "core/fs.h"
#include "core/log.h"
#include "core/status.h"

namespace berth::runtime {

Trash::Trash(std::string dir) : dir_(std::move(dir)) {
  if (dir_.empty() || !fs::MkdirAll(dir_, 0700).ok()) return;
  if (DIR* d = ::opendir(dir_.c_str())) {
    while (dirent* e = ::readdir(d)) {
      std::string name = e->d_name;
      if (name != "." && name != "..") Enqueue(absl::StrCat(dir_, "/", name));
    }
    ::closedir(d);
  }
}

Trash::~Trash() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  if (worker_.joinable()) worker_.join();
}

absl::Status Trash::Discard(const std::string& path) {
  if (dir_.empty()) return fs::RemoveAll(path);
  std::string target;
  {
    absl::MutexLock lock(&mu_);
    // The process id keeps names apart from a previous daemon's leftovers.
    target = absl::StrCat(dir_, "/", ::getpid(), "-", next_++);
  }
  if (::rename(path.c_str(), target.c_str()) != 0) {
    if (errno == ENOENT) return absl::OkStatus();
    return fs::RemoveAll(path);  // another file system, or no trash: the slow way
  }
  Enqueue(std::move(target));
  return absl::OkStatus();
}

void Trash::Enqueue(std::string path) {
  absl::MutexLock lock(&mu_);
  queue_.push_back(std::move(path));
  if (!worker_.joinable()) worker_ = std::thread([this] { Loop(); });
}

void Trash::Drain() {
  absl::MutexLock lock(&mu_);
  const auto idle =
      +[](Trash* t) ABSL_NO_THREAD_SAFETY_ANALYSIS { return t->queue_.empty() && !t->busy_; };
  mu_.Await(absl::Condition(idle, this));
}

void Trash::Loop() {
  while (true) {
    std::string path;
    {
      absl::MutexLock lock(&mu_);
      busy_ = false;
      const auto has_work = +[](Trash* t) ABSL_NO_THREAD_SAFETY_ANALYSIS {
        return !t->queue_.empty() || t->stopping_;
      };
      mu_.Await(absl::Condition(has_work, this));
      if (queue_.empty()) return;  // stopping, and nothing left
      path = std::move(queue_.front());
      queue_.pop_front();
      busy_ = true;
    }
    if (absl::Status st = fs::RemoveAll(path); !st.ok()) {
      log::Get("runtime")->warn("trash: {}", st.ToString());
    }
  }
}

}  // namespace berth::runtime
