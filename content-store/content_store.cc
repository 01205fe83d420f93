#include "content-store/content_store.h"

#include "core/status_macros.h"

namespace berth::content {

absl::StatusOr<std::string> ReaderAt::Read(int64_t offset, size_t size) {
  std::string out(size, '\0');
  BERTH_ASSIGN_OR_RETURN(size_t n, ReadAt(offset, absl::MakeSpan(out.data(), out.size())));
  out.resize(n);
  return out;
}

}  // namespace berth::content
