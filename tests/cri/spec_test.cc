#include "cri/spec.h"

#include <algorithm>

#include "gtest/gtest.h"

namespace berth::cri {
namespace {

using json = nlohmann::json;
namespace v1 = ::runtime::v1;

json Image() {
  return json::parse(R"({"config":{"Entrypoint":["/entry"],"Cmd":["default"],
      "Env":["PATH=/bin","A=image"],"WorkingDir":"/w","User":"1000:1001"}})");
}

struct Fixture {
  v1::ContainerConfig c;
  v1::PodSandboxConfig pod;
  SpecInputs in;
  Fixture() {
    c.mutable_metadata()->set_name("c");
    pod.set_hostname("pod-host");
    in.id = "cid";
    in.config = &c;
    in.sandbox = &pod;
    in.image_config = Image();
    in.pod_ns = {"/run/x/net", "/run/x/ipc", "/run/x/uts"};
    in.sandbox_id = "sid";
    in.sandbox_files_dir = "/run/x";
  }
};

bool HasCap(const json& spec, const std::string& cap) {
  const auto& caps = spec["process"]["capabilities"]["bounding"];
  return std::find(caps.begin(), caps.end(), cap) != caps.end();
}

TEST(ProcessArgs, MergesWithImage) {
  v1::ContainerConfig c;
  EXPECT_EQ(ProcessArgs(c, Image()), (std::vector<std::string>{"/entry", "default"}));
  c.add_args("x");
  EXPECT_EQ(ProcessArgs(c, Image()), (std::vector<std::string>{"/entry", "x"}));
  c.add_command("/cmd");
  EXPECT_EQ(ProcessArgs(c, Image()), (std::vector<std::string>{"/cmd", "x"}));
}

TEST(BuildSpec, ProcessEnvUserAndNamespaces) {
  Fixture f;
  auto* e = f.c.add_envs();
  e->set_key("A");
  e->set_value("config");
  auto spec = BuildSpec(f.in);
  ASSERT_TRUE(spec.ok()) << spec.status();
  const json& p = (*spec)["process"];
  EXPECT_EQ(p["cwd"], "/w");
  EXPECT_EQ(p["env"].back(), "A=config");
  EXPECT_EQ(p["user"]["uid"], 1000);
  EXPECT_EQ(p["user"]["gid"], 1001);
  EXPECT_EQ((*spec)["hostname"], "pod-host");
  bool net = false;
  for (const auto& n : (*spec)["linux"]["namespaces"]) {
    if (n["type"] == "network") net = n["path"] == "/run/x/net";
  }
  EXPECT_TRUE(net);
  EXPECT_FALSE((*spec)["linux"].contains("seccomp"));  // unset = unconfined
}

TEST(BuildSpec, SecurityContext) {
  Fixture f;
  auto* sc = f.c.mutable_linux()->mutable_security_context();
  sc->mutable_run_as_user()->set_value(42);
  sc->set_readonly_rootfs(true);
  sc->set_no_new_privs(true);
  sc->add_supplemental_groups(7);
  sc->mutable_capabilities()->add_drop_capabilities("ALL");
  sc->mutable_capabilities()->add_add_capabilities("NET_ADMIN");
  sc->mutable_seccomp()->set_profile_type(v1::SecurityProfile::RuntimeDefault);
  auto spec = BuildSpec(f.in);
  ASSERT_TRUE(spec.ok()) << spec.status();
  EXPECT_EQ((*spec)["process"]["user"]["uid"], 42);
  EXPECT_EQ((*spec)["process"]["user"]["additionalGids"][0], 7);
  EXPECT_TRUE((*spec)["root"]["readonly"].get<bool>());
  EXPECT_TRUE((*spec)["process"]["noNewPrivileges"].get<bool>());
  EXPECT_TRUE(HasCap(*spec, "CAP_NET_ADMIN"));
  EXPECT_FALSE(HasCap(*spec, "CAP_CHOWN"));
  EXPECT_EQ((*spec)["linux"]["seccomp"]["defaultAction"], "SCMP_ACT_ALLOW");
  EXPECT_TRUE((*spec)["linux"].contains("maskedPaths"));
}

TEST(BuildSpec, PrivilegedGetsAllCapsAndNoMasks) {
  Fixture f;
  f.c.mutable_linux()->mutable_security_context()->set_privileged(true);
  auto spec = BuildSpec(f.in);
  ASSERT_TRUE(spec.ok());
  EXPECT_TRUE(HasCap(*spec, "CAP_SYS_ADMIN"));
  EXPECT_FALSE((*spec)["linux"].contains("maskedPaths"));
}

TEST(BuildSpec, MountsWithPropagationAndOomClamp) {
  Fixture f;
  auto* m = f.c.add_mounts();
  m->set_container_path("/data");
  m->set_host_path("/tmp");
  m->set_readonly(true);
  m->set_propagation(v1::PROPAGATION_HOST_TO_CONTAINER);
  f.c.mutable_linux()->mutable_resources()->set_oom_score_adj(-999);
  f.c.mutable_linux()->mutable_resources()->set_memory_limit_in_bytes(1 << 20);
  f.in.daemon_oom_score_adj = -500;
  auto spec = BuildSpec(f.in);
  ASSERT_TRUE(spec.ok()) << spec.status();
  const json& last = (*spec)["mounts"].back();
  EXPECT_EQ(last["destination"], "/data");
  EXPECT_EQ(last["options"], json({"rbind", "rslave", "ro"}));
  EXPECT_EQ((*spec)["linux"]["rootfsPropagation"], "rslave");
  EXPECT_EQ((*spec)["process"]["oomScoreAdj"], -500);
  EXPECT_EQ((*spec)["linux"]["resources"]["memory"]["limit"], 1 << 20);
}

TEST(BuildSpec, Errors) {
  Fixture f;
  f.in.image_config = json::object();
  EXPECT_EQ(BuildSpec(f.in).status().code(), absl::StatusCode::kInvalidArgument);  // no command
  Fixture g;
  g.c.mutable_linux()->mutable_security_context()->mutable_seccomp()->set_profile_type(v1::SecurityProfile::Localhost);
  g.c.mutable_linux()->mutable_security_context()->mutable_seccomp()->set_localhost_ref("/nonexistent.json");
  EXPECT_EQ(BuildSpec(g.in).status().code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace berth::cri
