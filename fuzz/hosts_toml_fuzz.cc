// containerd's registry hosts.toml (<config_path>/<host>/hosts.toml): its own TOML reader,
// separate from berthd's config, for the mirrors, capabilities, CA paths and headers of a
// registry. Files are often dropped in by provisioning tools, so malformed ones must only fail.
#include <cstdint>
#include <string>

#include "absl/strings/string_view.h"
#include "plugins/transfer/hosts.h"

namespace tr = berth::transfer;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  absl::string_view text(reinterpret_cast<const char*>(data), size);
  tr::HostOptions plain{"/etc/berth/certs.d", /*plain_http=*/true, /*skip_verify=*/false};
  tr::HostOptions tls{"/etc/berth/certs.d", /*plain_http=*/false, /*skip_verify=*/true};
  for (const auto& [host, opts] :
       {std::pair{"docker.io", tls}, std::pair{"127.0.0.1:5000", plain}}) {
    auto hosts = tr::ParseHostsToml(text, host, opts, std::string("/etc/berth/certs.d/") + host);
    if (!hosts.ok()) continue;
    for (const tr::RegistryHost& h : *hosts) (void)h.BaseUrl();
  }
  return 0;
}
