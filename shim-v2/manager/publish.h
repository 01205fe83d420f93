// `berthd publish --address A --topic T --namespace N`: the -publish-binary command of shims
// (containerd 1.6's `containerd publish`). Reads a serialized google.protobuf.Any event from
// stdin and forwards it, stamped now, to the daemon's ttrpc events endpoint "<A>.ttrpc"
// (containerd.services.events.ttrpc.v1.Events/Forward).
#pragma once

namespace berth::runtime {

// argv[0] is "publish". Returns the exit code (0 ok, 1 error with a message on stderr).
int RunPublish(int argc, char** argv);

}  // namespace berth::runtime
