#include "shim-v2/ttrpc/thread.h"

#include <pthread.h>

#include <memory>

#include "core/status.h"

namespace berth::ttrpc {
namespace {

void* Trampoline(void* arg) {
  std::unique_ptr<std::function<void()>> fn(static_cast<std::function<void()>*>(arg));
  (*fn)();
  return nullptr;
}

}  // namespace

absl::Status StartDetached(std::function<void()> fn, size_t stack_size) {
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setstacksize(&attr, stack_size);
  pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
  auto* heap_fn = new std::function<void()>(std::move(fn));
  pthread_t tid;
  int rc = pthread_create(&tid, &attr, Trampoline, heap_fn);
  pthread_attr_destroy(&attr);
  if (rc != 0) {
    delete heap_fn;
    return ErrnoStatus(rc, "pthread_create");
  }
  return absl::OkStatus();
}

}  // namespace berth::ttrpc
