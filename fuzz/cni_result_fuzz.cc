// What a CNI plugin prints on stdout, as RunPodSandbox, the network check and teardown use it:
// the exit code and output read as a result or a CNI error (CniPluginResult), the result's IPs,
// the result handed to the next plugin as prevResult, and the sandbox record that stores it.
// The same bytes are also read as a network config (a .conflist that network add-ons install).
//
// Input: byte 0 picks the command (ADD, DEL, CHECK) and the exit code; the rest is stdout.
#include <cstdint>
#include <string>

#include "cri/cni.h"

namespace cri = berth::cri;
using nlohmann::json;

namespace {

cri::CniAttachment Attachment() {
  cri::CniAttachment att{"0123456789abcdef", "/var/run/netns/cni-fuzz", "eth0", {}};
  att.port_mappings.push_back({8080, 80, "tcp", ""});
  att.port_mappings.push_back({5353, 53, "udp", "127.0.0.1"});
  return att;
}

void Result(const cri::CniNetwork& net, const std::string& command, int exit_code,
            const std::string& out) {
  auto result = cri::CniPluginResult(command, "bridge", net.name, exit_code, out);
  if (!result.ok() || command != "ADD") return;
  // CniAdd: the next plugin of the list gets it as prevResult.
  (void)cri::CniPluginConfig(net, 0, Attachment(), *result).dump();
  // RunPodSandbox: the pod's IPs, then the result is kept in the sandbox record.
  (void)cri::CniResultIps(*result);
  json record = *result;
  record["berth.network"] = net.file;
  (void)json({{"cni_result", record}}).dump();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  static const char* const kCommands[] = {"ADD", "DEL", "CHECK"};
  std::string command = kCommands[data[0] % 3];
  int exit_code = (data[0] / 3) % 4 == 0 ? 0 : (data[0] / 3) % 4;
  std::string out(reinterpret_cast<const char*>(data + 1), size - 1);

  cri::CniNetwork net;
  net.file = "/etc/cni/net.d/10-fuzz.conflist";
  net.name = "fuzz";
  net.cni_version = "1.0.0";
  net.plugins.push_back(json{{"type", "portmap"}, {"capabilities", {{"portMappings", true}}}});
  Result(net, command, exit_code, out);

  auto parsed = cri::ParseCniConfig("/etc/cni/net.d/fuzz.conflist", out);
  if (parsed.ok()) {
    for (size_t i = 0; i < parsed->plugins.size(); ++i) {
      (void)cri::CniPluginConfig(*parsed, i, Attachment(), json()).dump();
    }
  }
  return 0;
}
