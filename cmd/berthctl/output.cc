#include "cmd/berthctl/output.h"

#include <algorithm>
#include <iostream>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "client/progress.h"
#include "google/protobuf/timestamp.pb.h"

namespace berth::ctl {

std::string Table::Render() const {
  std::vector<size_t> width(header_.size(), 0);
  auto measure = [&](const std::vector<std::string>& row) {
    for (size_t i = 0; i < row.size() && i < width.size(); ++i) {
      width[i] = std::max(width[i], row[i].size());
    }
  };
  measure(header_);
  for (const auto& r : rows_) measure(r);
  std::string out;
  auto line = [&](const std::vector<std::string>& row) {
    std::string l;
    for (size_t i = 0; i < row.size() && i < width.size(); ++i) {
      l += row[i];
      if (i + 1 < row.size()) l += std::string(width[i] - row[i].size() + 2, ' ');
    }
    while (!l.empty() && l.back() == ' ') l.pop_back();
    out += l + "\n";
  };
  line(header_);
  for (const auto& r : rows_) line(r);
  return out;
}

void Emit(Format format, const Table& table, const nlohmann::json& json) {
  if (format == Format::kJson) {
    std::cout << json.dump(2) << "\n";
  } else {
    std::cout << table.Render();
  }
  std::cout.flush();
}

int ReportError(const absl::Status& status) {
  std::cerr << "berthctl: " << status.message() << "\n";
  std::string hint;
  if (absl::IsUnavailable(status) && absl::StrContains(status.message(), "connect")) {
    hint = "start berthd, or point --address / BERTH_ADDRESS at its socket";
  } else if (absl::IsNotFound(status) && absl::StrContains(status.message(), "image")) {
    hint = "list images with `berthctl images ls`; import or pull the image first";
  } else if (absl::IsNotFound(status) && absl::StrContains(status.message(), "container")) {
    hint = "list containers with `berthctl ps -a`";
  } else if (absl::IsAlreadyExists(status) && absl::StrContains(status.message(), "container")) {
    hint = "pick another --name, or remove the old one with `berthctl rm -f ID`";
  } else if (absl::IsUnimplemented(status) && absl::StartsWith(status.message(), "pull")) {
    hint = "this berthd has no transfer service yet; import an archive with `berthctl images "
           "import` instead";
  } else if (absl::IsPermissionDenied(status)) {
    hint = "berthd's socket needs root";
  }
  if (!hint.empty()) std::cerr << "hint: " << hint << "\n";
  return 1;
}

std::string Ago(absl::Time t, absl::Time now) {
  if (t == absl::UnixEpoch() || t == absl::InfinitePast()) return "-";
  absl::Duration d = now - t;
  if (d < absl::Seconds(1)) return "just now";
  return absl::StrCat(client::ProgressRenderer::HumanDuration(d), " ago");
}

std::string Rfc3339(absl::Time t) {
  return absl::FormatTime(absl::RFC3339_full, t, absl::UTCTimeZone());
}

absl::Time FromTimestamp(const google::protobuf::Timestamp& ts) {
  return absl::FromUnixSeconds(ts.seconds()) + absl::Nanoseconds(ts.nanos());
}

std::string Size(int64_t bytes) { return client::ProgressRenderer::HumanBytes(bytes); }

std::string ShortDigest(const std::string& digest) {
  size_t colon = digest.find(':');
  std::string hex = colon == std::string::npos ? digest : digest.substr(colon + 1);
  return hex.substr(0, 12);
}

}  // namespace berth::ctl
