#include "cri/passwd.h"

#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>

#include "absl/algorithm/container.h"
#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "core/status.h"

namespace berth::cri {
namespace {

// Splits the non-comment lines of a colon database; each kept line has at least `min` fields.
std::vector<std::vector<absl::string_view>> Entries(absl::string_view text, size_t min) {
  std::vector<std::vector<absl::string_view>> out;
  for (absl::string_view line : absl::StrSplit(text, '\n', absl::SkipEmpty())) {
    line = absl::StripAsciiWhitespace(line);
    if (line.empty() || line[0] == '#') continue;
    std::vector<absl::string_view> f = absl::StrSplit(line, ':');
    if (f.size() >= min && !f[0].empty()) out.push_back(std::move(f));
  }
  return out;
}

bool IsNumber(absl::string_view s, int64_t* v) {
  return !s.empty() && absl::c_all_of(s, [](char c) { return absl::ascii_isdigit(c); }) &&
         absl::SimpleAtoi(s, v);
}

}  // namespace

absl::StatusOr<ResolvedUser> LookupPasswd(absl::string_view passwd, absl::string_view name) {
  for (const auto& f : Entries(passwd, 4)) {
    ResolvedUser u;
    if (f[0] == name && absl::SimpleAtoi(f[2], &u.uid) && absl::SimpleAtoi(f[3], &u.gid)) return u;
  }
  return absl::NotFoundError(absl::StrCat("no user \"", name, "\" in /etc/passwd"));
}

absl::StatusOr<int64_t> LookupGroup(absl::string_view group, absl::string_view name) {
  for (const auto& f : Entries(group, 3)) {
    int64_t gid;
    if (f[0] == name && absl::SimpleAtoi(f[2], &gid)) return gid;
  }
  return absl::NotFoundError(absl::StrCat("no group \"", name, "\" in /etc/group"));
}

std::vector<int64_t> GroupsOfUser(absl::string_view group, absl::string_view user) {
  std::vector<int64_t> out;
  for (const auto& f : Entries(group, 4)) {
    int64_t gid;
    if (!absl::SimpleAtoi(f[2], &gid)) continue;
    for (absl::string_view m : absl::StrSplit(f[3], ',', absl::SkipEmpty())) {
      if (absl::StripAsciiWhitespace(m) == user) out.push_back(gid);
    }
  }
  return out;
}

absl::StatusOr<std::string> ReadRootfsFile(const std::string& rootfs, const std::string& rel) {
  int root = ::open(rootfs.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (root < 0) return ErrnoStatus(absl::StrCat("open ", rootfs));
  struct open_how how = {};
  how.flags = O_RDONLY | O_CLOEXEC;
  how.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS;
  int fd = static_cast<int>(::syscall(SYS_openat2, root, rel.c_str(), &how, sizeof(how)));
  int err = errno;
  ::close(root);
  if (fd < 0) return ErrnoStatus(err, absl::StrCat("open ", rel, " in the image"));
  std::string out;
  char buf[8192];
  ssize_t n;
  // Bounded: a user database is small; an image must not make the daemon read gigabytes.
  while ((n = ::read(fd, buf, sizeof(buf))) > 0 && out.size() < (4u << 20)) out.append(buf, n);
  err = errno;
  ::close(fd);
  if (n < 0) return ErrnoStatus(err, absl::StrCat("read ", rel, " in the image"));
  return out;
}

absl::StatusOr<ResolvedUser> ResolveUserSpec(absl::string_view spec, absl::string_view passwd,
                                             absl::string_view group) {
  std::vector<absl::string_view> ug = absl::StrSplit(spec, absl::MaxSplits(':', 1));
  absl::string_view user = ug[0];
  if (user.empty()) return absl::InvalidArgumentError("empty user name");
  ResolvedUser out;
  if (IsNumber(user, &out.uid)) {
    // A numeric uid takes its primary group from passwd when listed there.
    for (const auto& f : Entries(passwd, 4)) {
      int64_t uid, gid;
      if (absl::SimpleAtoi(f[2], &uid) && uid == out.uid && absl::SimpleAtoi(f[3], &gid)) {
        out.gid = gid;
        break;
      }
    }
  } else {
    auto u = LookupPasswd(passwd, user);
    // "root" is uid 0 even in an image without /etc/passwd (scratch images).
    if (!u.ok() && user != "root") return u.status();
    if (u.ok()) out = *u;
  }
  if (ug.size() == 2 && !ug[1].empty()) {
    int64_t gid;
    if (IsNumber(ug[1], &gid)) {
      out.gid = gid;
    } else {
      auto g = LookupGroup(group, ug[1]);
      if (!g.ok()) return g.status();
      out.gid = *g;
    }
  }
  return out;
}

}  // namespace berth::cri
