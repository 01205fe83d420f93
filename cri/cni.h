// CNI (spec 1.0) executed directly: the network config is the first file in conf_dir (sorted by
// name, *.conf / *.conflist / *.json, as libcni's ConfFiles + containerd's go-cni pick it); each
// plugin of the list is exec'd from bin_dir with CNI_COMMAND, CNI_CONTAINERID, CNI_NETNS,
// CNI_IFNAME, CNI_PATH in its environment and its config (name, cniVersion, prevResult,
// runtimeConfig) on stdin. ADD runs the list in order, DEL in reverse.
#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "nlohmann/json.hpp"

namespace berth::cri {

struct CniNetwork {
  std::string file;  // where it came from
  std::string name;
  std::string cni_version;
  std::vector<nlohmann::json> plugins;
  bool disable_check = false;  // the list's "disableCheck" (CNI spec 1.0)
};

// Parses one .conf (a single plugin) or .conflist. InvalidArgument naming the file.
absl::StatusOr<CniNetwork> ParseCniConfig(const std::string& file, const std::string& text);

// The network to use: the first valid file in `conf_dir`. FailedPrecondition ("no network
// config found in <dir>") when there is none, which Status reports as NetworkPluginNotReady.
absl::StatusOr<CniNetwork> LoadCniNetwork(const std::string& conf_dir);

struct PortMapping {
  int host_port = 0;
  int container_port = 0;
  std::string protocol = "tcp";
  std::string host_ip;
};

struct CniAttachment {
  std::string container_id;
  std::string netns;
  std::string ifname = "eth0";
  std::vector<PortMapping> port_mappings;  // given to plugins with the portMappings capability
};

// Runs ADD through the list; returns the final result. Errors: NotFound for a missing plugin
// binary, Internal with the plugin's CNI error (code, msg, details) otherwise; a failed ADD runs
// DEL for what was added.
absl::StatusOr<nlohmann::json> CniAdd(const CniNetwork& net, const std::string& bin_dir,
                                      const CniAttachment& att);
// Runs DEL in reverse (prevResult = the ADD result when known). Like containerd, a missing
// netns is not an error for DEL.
absl::Status CniDel(const CniNetwork& net, const std::string& bin_dir, const CniAttachment& att,
                    const nlohmann::json& prev_result);

// Runs CHECK through the list in order, every plugin given the ADD result as prevResult (CNI
// spec 1.0, libcni's CheckNetworkList). OK without running anything when the list sets
// disableCheck or its cniVersion is older than 0.4.0 (CHECK did not exist). Errors as CniAdd:
// NotFound for a missing plugin binary, Internal with the plugin's CNI error.
absl::Status CniCheck(const CniNetwork& net, const std::string& bin_dir, const CniAttachment& att,
                      const nlohmann::json& prev_result);

// What a plugin's exit code and stdout mean (CNI spec 1.0, Result and Error): a non-zero exit is
// Internal with the plugin's error msg and details; ADD gives the result it printed (Internal
// when that is not a JSON object); DEL and CHECK give null. `type` and `network` name it in
// messages.
absl::StatusOr<nlohmann::json> CniPluginResult(const std::string& command, const std::string& type,
                                               const std::string& network, int exit_code,
                                               const std::string& out);

// The IP addresses (without prefix length) of a CNI result, IPv4 first.
std::vector<std::string> CniResultIps(const nlohmann::json& result);

// The stdin config of plugin `i` of `net` for `command` (exposed for tests).
nlohmann::json CniPluginConfig(const CniNetwork& net, size_t i, const CniAttachment& att,
                               const nlohmann::json& prev_result);

}  // namespace berth::cri
