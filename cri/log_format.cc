#include "core/status_macros.h"
#include "cri/log_format.h"

#include "absl/strings/str_cat.h"

namespace berth::cri {

std::string CriTimestamp(absl::Time t) {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%E9SZ", t, absl::UTCTimeZone());
}

std::string CriLogLine(absl::Time t, absl::string_view stream, bool partial,
                       absl::string_view content) {
  return absl::StrCat(CriTimestamp(t), " ", stream, partial ? " P " : " F ", content, "\n");
}

void CriLineSplitter::Feed(absl::string_view data, absl::Time now, std::vector<std::string>* out) {
  while (!data.empty()) {
    size_t nl = data.find('\n');
    absl::string_view piece = nl == absl::string_view::npos ? data : data.substr(0, nl);
    // Emit P records while the pending line would exceed the limit (containerd splits the same
    // way: the first max bytes go out as P, the rest continues the line).
    while (max_ > 0 && pending_.size() + piece.size() > static_cast<size_t>(max_)) {
      size_t take = static_cast<size_t>(max_) - pending_.size();
      pending_.append(piece.data(), take);
      piece.remove_prefix(take);
      // A piece that ends exactly at the limit and is followed by the newline is a full line.
      if (piece.empty() && nl != absl::string_view::npos) break;
      out->push_back(CriLogLine(now, stream_, true, pending_));
      pending_.clear();
    }
    pending_.append(piece.data(), piece.size());
    if (nl == absl::string_view::npos) return;
    out->push_back(CriLogLine(now, stream_, false, pending_));
    pending_.clear();
    data.remove_prefix(nl + 1);
  }
}

void CriLineSplitter::Flush(absl::Time now, std::vector<std::string>* out) {
  if (pending_.empty()) return;
  out->push_back(CriLogLine(now, stream_, true, pending_));
  pending_.clear();
}

}  // namespace berth::cri
