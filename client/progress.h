// Rendering of transfer progress (pulls, imports) for a terminal or a log. On a TTY: one line
// per item (layer, config, manifest), redrawn in place with ANSI cursor moves, showing a bar,
// bytes, rate and ETA. Otherwise: one plain line per state change, nothing else, so scripts
// and CI logs stay readable. The renderer only produces strings; the caller writes them.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "berth/services/transfer/v1/transfer.pb.h"

namespace berth::client {

class ProgressRenderer {
 public:
  // `width` is the terminal width (TTY mode only).
  explicit ProgressRenderer(bool tty, int width = 100) : tty_(tty), width_(width) {}

  // Folds `p` in and returns what to write now (may be empty).
  std::string Update(const ::berth::services::transfer::v1::Progress& p, absl::Time now);
  // The final redraw (TTY) with every item's last state; "" in plain mode.
  std::string Finish(absl::Time now);

  // "1.5 MiB", "532 B".
  static std::string HumanBytes(int64_t n);
  // "12s", "3m04s".
  static std::string HumanDuration(absl::Duration d);

 private:
  struct Item {
    std::string ref, state;
    int64_t offset = 0, total = 0;
    absl::Time first_seen, last_update;
    int64_t first_offset = 0;
    std::string error;
  };
  std::string Line(const Item& item, absl::Time now) const;
  std::string Redraw(absl::Time now);

  bool tty_;
  int width_;
  std::vector<std::string> order_;
  std::map<std::string, Item> items_;
  int drawn_lines_ = 0;
  absl::Time last_draw_ = absl::InfinitePast();
};

}  // namespace berth::client
