#include "core/mount/mountinfo.h"

#include <limits.h>
#include <stdlib.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "core/fs.h"
#include "core/status.h"

namespace berth::mount {
namespace {

// Undoes the kernel's octal escapes ("\040" -> ' ').
std::string Unescape(absl::string_view in) {
  std::string out;
  out.reserve(in.size());
  for (size_t i = 0; i < in.size(); ++i) {
    if (in[i] == '\\' && i + 3 < in.size() && in[i + 1] >= '0' && in[i + 1] <= '3' &&
        in[i + 2] >= '0' && in[i + 2] <= '7' && in[i + 3] >= '0' && in[i + 3] <= '7') {
      out.push_back(static_cast<char>((in[i + 1] - '0') * 64 + (in[i + 2] - '0') * 8 +
                                      (in[i + 3] - '0')));
      i += 3;
    } else {
      out.push_back(in[i]);
    }
  }
  return out;
}

absl::Status ParseLine(absl::string_view line, MountInfo& info) {
  std::vector<absl::string_view> f = absl::StrSplit(line, ' ', absl::SkipEmpty());
  auto bad = [&](absl::string_view why) {
    return absl::InvalidArgumentError(absl::StrCat("mountinfo line \"", line, "\": ", why));
  };
  if (f.size() < 10) return bad("too few fields");
  if (!absl::SimpleAtoi(f[0], &info.id) || !absl::SimpleAtoi(f[1], &info.parent)) {
    return bad("bad mount id");
  }
  std::pair<absl::string_view, absl::string_view> mm = absl::StrSplit(f[2], ':');
  if (!absl::SimpleAtoi(mm.first, &info.major) || !absl::SimpleAtoi(mm.second, &info.minor)) {
    return bad("bad major:minor");
  }
  info.root = Unescape(f[3]);
  info.mount_point = Unescape(f[4]);
  info.options = std::string(f[5]);
  size_t i = 6;
  for (; i < f.size() && f[i] != "-"; ++i) info.optional.emplace_back(f[i]);
  if (i + 3 > f.size()) return bad("no separator or fields after it");
  info.fs_type = Unescape(f[i + 1]);
  info.source = Unescape(f[i + 2]);
  if (i + 3 < f.size()) info.super_options = Unescape(f[i + 3]);
  return absl::OkStatus();
}

bool IsUnder(absl::string_view path, absl::string_view prefix) {
  if (prefix == "/") return true;
  while (prefix.size() > 1 && absl::EndsWith(prefix, "/")) prefix.remove_suffix(1);
  if (!absl::StartsWith(path, prefix)) return false;
  return path.size() == prefix.size() || path[prefix.size()] == '/';
}

std::string RealPathOr(const std::string& path) {
  char buf[PATH_MAX];
  if (::realpath(path.c_str(), buf) != nullptr) return buf;
  return path;
}

}  // namespace

absl::StatusOr<std::vector<MountInfo>> ParseMountInfo(absl::string_view text) {
  std::vector<MountInfo> out;
  for (absl::string_view line : absl::StrSplit(text, '\n', absl::SkipWhitespace())) {
    MountInfo info;
    absl::Status st = ParseLine(line, info);
    if (!st.ok()) return st;
    out.push_back(std::move(info));
  }
  return out;
}

absl::StatusOr<std::vector<MountInfo>> ReadSelfMountInfo() {
  auto text = fs::ReadFile("/proc/self/mountinfo");
  if (!text.ok()) return text.status();
  return ParseMountInfo(*text);
}

absl::StatusOr<bool> IsMountPoint(const std::string& path) {
  char buf[PATH_MAX];
  if (::realpath(path.c_str(), buf) == nullptr) {
    return ErrnoStatus(absl::StrCat("resolve ", path));
  }
  auto mounts = ReadSelfMountInfo();
  if (!mounts.ok()) return mounts.status();
  return std::any_of(mounts->begin(), mounts->end(),
                     [&](const MountInfo& m) { return m.mount_point == buf; });
}

std::vector<MountInfo> MountsUnder(const std::vector<MountInfo>& mounts,
                                   const std::string& prefix) {
  std::vector<MountInfo> out;
  for (const auto& m : mounts) {
    if (IsUnder(m.mount_point, prefix)) out.push_back(m);
  }
  // Deepest first, so children are gone before their parents (UnmountAll handles stacks).
  std::stable_sort(out.begin(), out.end(), [](const MountInfo& a, const MountInfo& b) {
    return std::count(a.mount_point.begin(), a.mount_point.end(), '/') >
           std::count(b.mount_point.begin(), b.mount_point.end(), '/');
  });
  return out;
}

absl::StatusOr<std::vector<MountInfo>> ListMountsUnder(const std::string& prefix) {
  auto mounts = ReadSelfMountInfo();
  if (!mounts.ok()) return mounts.status();
  return MountsUnder(*mounts, RealPathOr(prefix));
}

absl::Status UnmountRecursive(const std::string& prefix, const UnmountOptions& opts) {
  auto mounts = ListMountsUnder(prefix);
  if (!mounts.ok()) return mounts.status();
  for (const auto& m : *mounts) {
    absl::Status st = UnmountAll(m.mount_point, opts);
    if (!st.ok()) return st;
  }
  return absl::OkStatus();
}

}  // namespace berth::mount
