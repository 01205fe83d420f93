// The example config.json of `runc spec` (runc 1.1, libcontainer/specconv/example.go).
#pragma once

#include <sys/types.h>

#include <string>

namespace berth::executor {

struct ExampleSpecOptions {
  // runc's ToRootless: a user namespace mapping container root to (uid, gid), no network
  // namespace, /sys as a read-only rbind, no uid=/gid= mount options, no linux.resources.
  bool rootless = false;
  uid_t uid = 0;  // host ids of the rootless mapping (runc: the caller's euid/egid)
  gid_t gid = 0;
};

// The spec as runc writes it: the same keys in the same order, tab-indented, no trailing
// newline. One intentional difference: "ociVersion" is the version this runtime implements
// ("1.1.0"), where runc 1.1 writes that of its vendored runtime-spec ("1.0.2-dev").
// Never fails.
std::string ExampleSpecJson(const ExampleSpecOptions& options);

}  // namespace berth::executor
