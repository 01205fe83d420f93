#include "client/progress.h"

#include <algorithm>
#include <cstdio>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace berth::client {

std::string ProgressRenderer::HumanBytes(int64_t n) {
  static constexpr const char* kUnits[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  double v = static_cast<double>(n);
  int u = 0;
  while (v >= 1024 && u < 4) {
    v /= 1024;
    ++u;
  }
  return u == 0 ? absl::StrCat(n, " B") : absl::StrFormat("%.1f %s", v, kUnits[u]);
}

std::string ProgressRenderer::HumanDuration(absl::Duration d) {
  int64_t s = absl::ToInt64Seconds(d);
  if (s < 60) return absl::StrCat(s, "s");
  if (s < 3600) return absl::StrFormat("%dm%02ds", s / 60, s % 60);
  return absl::StrFormat("%dh%02dm", s / 3600, (s % 3600) / 60);
}

std::string ProgressRenderer::Line(const Item& it, absl::Time now) const {
  std::string ref = it.ref.size() > 30 ? it.ref.substr(0, 30) : it.ref;
  std::string line = absl::StrFormat("%-30s  %-11s", ref, it.state);
  if (!it.error.empty()) return absl::StrCat(line, "  ", it.error);
  if (it.total > 0) {
    constexpr int kBar = 20;
    int fill = static_cast<int>(std::min<int64_t>(kBar, it.offset * kBar / it.total));
    absl::StrAppend(&line, "  [", std::string(static_cast<size_t>(fill), '='),
                    fill < kBar ? ">" : "", std::string(static_cast<size_t>(kBar - fill - (fill < kBar)), ' '),
                    "]  ", HumanBytes(it.offset), " / ", HumanBytes(it.total));
  } else if (it.offset > 0) {
    absl::StrAppend(&line, "  ", HumanBytes(it.offset));
  }
  if (it.state == "downloading" || it.state == "uploading") {
    double secs = absl::ToDoubleSeconds(it.last_update - it.first_seen);
    if (secs > 0.2 && it.offset > it.first_offset) {
      double rate = static_cast<double>(it.offset - it.first_offset) / secs;
      absl::StrAppend(&line, "  ", HumanBytes(static_cast<int64_t>(rate)), "/s");
      if (it.total > it.offset) {
        absl::StrAppend(&line, "  ETA ",
                        HumanDuration(absl::Seconds(static_cast<double>(it.total - it.offset) /
                                                    rate)));
      }
    }
  }
  if (static_cast<int>(line.size()) > width_ - 1) line.resize(static_cast<size_t>(width_ - 1));
  return line;
}

std::string ProgressRenderer::Redraw(absl::Time now) {
  std::string out;
  // Back to the first line drawn last time, then rewrite every line (clearing each first).
  if (drawn_lines_ > 0) absl::StrAppend(&out, "\x1b[", drawn_lines_, "A");
  for (const auto& ref : order_) {
    absl::StrAppend(&out, "\r\x1b[2K", Line(items_[ref], now), "\n");
  }
  drawn_lines_ = static_cast<int>(order_.size());
  last_draw_ = now;
  return out;
}

std::string ProgressRenderer::Update(const ::berth::services::transfer::v1::Progress& p,
                                     absl::Time now) {
  std::string plain;
  bool changed_state = false;
  for (const auto& in : p.items()) {
    auto [it, inserted] = items_.try_emplace(in.ref());
    Item& item = it->second;
    if (inserted) {
      order_.push_back(in.ref());
      item.ref = in.ref();
      item.first_seen = now;
      item.first_offset = in.offset();
    }
    bool state_change = inserted || item.state != in.state();
    item.state = in.state();
    item.offset = in.offset();
    if (in.total() > 0) item.total = in.total();
    item.error = in.error();
    item.last_update = now;
    if (state_change) {
      changed_state = true;
      std::string line = absl::StrCat(item.ref, ": ", item.state);
      if (item.total > 0 && (item.state == "done" || item.state == "exists")) {
        absl::StrAppend(&line, " (", HumanBytes(item.total), ")");
      }
      if (!item.error.empty()) absl::StrAppend(&line, ": ", item.error);
      absl::StrAppend(&plain, line, "\n");
    }
  }
  if (!tty_) return plain;
  // Byte counts arrive often: redraw at most ten times a second unless a state changed.
  if (!changed_state && now - last_draw_ < absl::Milliseconds(100)) return "";
  return Redraw(now);
}

std::string ProgressRenderer::Finish(absl::Time now) {
  if (!tty_ || order_.empty()) return "";
  return Redraw(now);
}

}  // namespace berth::client
