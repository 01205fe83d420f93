// User and group names of an image resolved from its own /etc/passwd and /etc/group, as
// containerd's oci.WithUsername / WithUser do: CRI's run_as_username and an image config User
// such as "nobody" or "app:staff" need the container's rootfs, not the host's databases.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace berth::cri {

struct ResolvedUser {
  int64_t uid = 0;
  int64_t gid = 0;
};

// Looks `name` up in passwd text ("name:x:uid:gid:gecos:home:shell" lines; comments and
// malformed lines are skipped). NotFound: "no user \"name\" in /etc/passwd".
absl::StatusOr<ResolvedUser> LookupPasswd(absl::string_view passwd, absl::string_view name);

// The gid of group `name` in group text ("name:x:gid:members"). NotFound when absent.
absl::StatusOr<int64_t> LookupGroup(absl::string_view group, absl::string_view name);

// The gids of the groups listing `user` as a member (the image's supplementary groups).
std::vector<int64_t> GroupsOfUser(absl::string_view group, absl::string_view user);

// Reads <rootfs>/etc/<file> without following symlinks out of the rootfs (openat2
// RESOLVE_IN_ROOT: an absolute symlink resolves inside the rootfs). NotFound when absent.
absl::StatusOr<std::string> ReadRootfsFile(const std::string& rootfs, const std::string& rel);

// Resolves an image/CRI user spec "user[:group]" (names or numbers) against the rootfs's
// /etc/passwd and /etc/group. A numeric user that is not in passwd keeps gid 0 (docker).
// NotFound when a name is absent; InvalidArgument for an empty user.
absl::StatusOr<ResolvedUser> ResolveUserSpec(absl::string_view spec, absl::string_view passwd,
                                             absl::string_view group);

}  // namespace berth::cri
