// Filesystem helpers with crash-safety in mind.
#pragma once

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace berth::fs {

// Writes `data` to `path` so that a crash leaves either the old or the new file: temp file in the
// same directory, fsync, rename, fsync of the directory. `mode` applies to the new file.
absl::Status WriteFileAtomic(const std::string& path, absl::string_view data, int mode = 0644);

// Writes `data` to `path` so that a crash of this process leaves either the old or the new
// file: temp file in the same directory, rename; no fsync. For runtime state that does not
// outlive a reboot anyway (bundles and executor state under the state dir, /run): a power
// loss takes it with the machine's processes, and every fsync cost 0.2-4 ms of a container
// create on this VM's disk, as runc and containerd know (neither syncs these files).
absl::Status WriteFileReplace(const std::string& path, absl::string_view data, int mode = 0644);

// Writes all of `data` to `fd`, retrying short writes and EINTR. The error names `what` (the
// file or pipe written) and the errno.
absl::Status WriteAll(int fd, absl::string_view data, absl::string_view what);

// Reads a whole file. NotFound when it does not exist.
absl::StatusOr<std::string> ReadFile(const std::string& path);

// mkdir -p with `mode` for the directories it creates. OK if the directory exists.
absl::Status MkdirAll(const std::string& path, int mode = 0755);

// fsync of a directory (after a rename or unlink inside it).
absl::Status SyncDir(const std::string& dir);

// rm -rf --one-file-system: removes `path` and what is below it without following symlinks;
// a directory below it that is a mount point (another filesystem or a bind mount) is left alone
// and reported as FailedPrecondition, after everything else was removed. OK if absent.
absl::Status RemoveAll(const std::string& path);

// Asks the filesystem to spread the directories created directly under `dir` over its
// allocation groups, as it does for those under its root: ext4's "top of directory hierarchy"
// flag (chattr +T), so each one (a snapshot's tree, a task's bundle) goes to a group of its own
// rather than beside its siblings. Best effort: false where the filesystem has no such flag.
// Why: on ext4 without a journal a new inode skips every free inode of its group deleted in the
// last 60-360 s, reading each one's dtime. Directories created and removed per container in one
// parent pile those up in one group: a snapshot unpacked beside one just removed spent 2/3 of its
// CPU there (bench/README.md, "Pull figures on this VM"), and 100 sequential `ctr run`s after as
// many removed spent 11% of both CPUs there (~7.7 ms per container, bench/README.md "session 12").
bool SpreadSubdirectories(const std::string& dir);

// The parent directory of a path ("/a/b" -> "/a", "b" -> ".").
std::string Dirname(absl::string_view path);

}  // namespace berth::fs
