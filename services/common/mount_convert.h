// mount::Mount <-> containerd.types.Mount.
#pragma once

#include <vector>

#include "containerd/types/mount.pb.h"
#include "core/mount/mount.h"
#include "google/protobuf/repeated_ptr_field.h"

namespace berth::services {

inline void MountsToProto(const std::vector<mount::Mount>& in,
                          google::protobuf::RepeatedPtrField<containerd::types::Mount>* out) {
  for (const auto& m : in) {
    auto* p = out->Add();
    p->set_type(m.type);
    p->set_source(m.source);
    p->set_target(m.target);
    for (const auto& o : m.options) p->add_options(o);
  }
}

inline std::vector<mount::Mount> MountsFromProto(
    const google::protobuf::RepeatedPtrField<containerd::types::Mount>& in) {
  std::vector<mount::Mount> out;
  for (const auto& p : in) {
    out.push_back(mount::Mount{p.type(), p.source(), p.target(), {p.options().begin(), p.options().end()}});
  }
  return out;
}

}  // namespace berth::services
