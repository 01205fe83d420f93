// The CRI container log format (kubelet's pkg/kubelet/kuberuntime/logs):
//
//   <RFC3339Nano timestamp> <stdout|stderr> <F|P> <content>\n
//
// F ends a line; P is a piece of a longer line (the line was longer than the configured
// max_container_log_line_size, or the stream ended inside a line). The newline itself is not
// part of the content.
#pragma once

#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace berth::cri {

// containerd's timestamp layout: "2006-01-02T15:04:05.000000000Z07:00", in UTC here.
std::string CriTimestamp(absl::Time t);

// One formatted record, with the trailing newline.
std::string CriLogLine(absl::Time t, absl::string_view stream, bool partial,
                       absl::string_view content);

// Turns one stream's bytes into CRI records. Not thread-safe: one per stream.
class CriLineSplitter {
 public:
  // `max_line` <= 0: no limit.
  CriLineSplitter(std::string stream, int max_line) : stream_(std::move(stream)), max_(max_line) {}

  // Appends the records completed by `data` to `out`; a trailing piece without a newline is
  // kept until more data, Flush, or until it reaches `max_line` (then it goes out as P).
  void Feed(absl::string_view data, absl::Time now, std::vector<std::string>* out);
  // At the end of the stream: what is left goes out as a P record (it had no newline).
  void Flush(absl::Time now, std::vector<std::string>* out);

 private:
  std::string stream_;
  int max_;
  std::string pending_;
};

}  // namespace berth::cri
