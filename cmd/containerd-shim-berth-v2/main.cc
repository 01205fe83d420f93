// containerd-shim-berth-v2: the containerd v2 shim of runtime io.containerd.berth.v2.
#include "shim-v2/shim/shim.h"

int main(int argc, char** argv) { return berth::shim::RunShim(argc, argv); }
