// berth-cri-bench: a tiny CRI v1 client for bench/cri.sh (there is no crictl in Debian 12).
// It speaks runtime.v1 to any CRI socket (berthd or containerd 1.6), so both daemons are timed
// by the same code. Results are JSON lines on stdout: {"name","unit","median","samples"}.
//
//   berth-cri-bench -a SOCK pull IMAGE...
//   berth-cri-bench -a SOCK latency  --image IMG [--reps N] [--hostnet] [--logs DIR]
//   berth-cri-bench -a SOCK density  --image IMG [--pods N] [--parallel P] [--hostnet] [--logs DIR]
//   berth-cri-bench -a SOCK cleanup  (removes every pod labelled berth-bench=<this tool>)
//
// latency: N x (RunPodSandbox + CreateContainer + StartContainer of `sleep`), each pod torn
// down after its sample (untimed). density: N pods of one container started (P at a time),
// left running for the caller to measure memory; `cleanup` removes them.
#include <sys/stat.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "grpcpp/grpcpp.h"
#include "proto/cri_api.h"

namespace {

namespace v1 = ::runtime::v1;
using Clock = std::chrono::steady_clock;
constexpr char kLabel[] = "berth-bench";

struct Options {
  std::string address, command, image, logs = "/tmp/berth-cri-bench-logs";
  std::vector<std::string> images;
  int reps = 10, pods = 50, parallel = 1;
  bool hostnet = false;
};

std::unique_ptr<grpc::ClientContext> Ctx() {
  auto c = std::make_unique<grpc::ClientContext>();
  c->set_deadline(std::chrono::system_clock::now() + std::chrono::minutes(5));
  return c;
}

double Ms(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double, std::milli>(b - a).count();
}

void Emit(const std::string& name, const std::string& unit, std::vector<double> v) {
  std::sort(v.begin(), v.end());
  double med = v.empty() ? 0 : (v.size() % 2 ? v[v.size() / 2] : (v[v.size() / 2 - 1] + v[v.size() / 2]) / 2);
  std::printf("{\"name\":\"%s\",\"unit\":\"%s\",\"median\":%.3f,\"samples\":[", name.c_str(), unit.c_str(), med);
  for (size_t i = 0; i < v.size(); ++i) std::printf("%s%.3f", i ? "," : "", v[i]);
  std::printf("]}\n");
  std::fflush(stdout);
}

std::string RandomHex() {
  static std::mt19937_64 rng{std::random_device{}()};
  char b[17];
  std::snprintf(b, sizeof(b), "%016llx", static_cast<unsigned long long>(rng()));
  return b;
}

class Bench {
 public:
  explicit Bench(const Options& o) : o_(o) {
    auto ch = grpc::CreateChannel("unix:" + o.address, grpc::InsecureChannelCredentials());
    rt_ = v1::RuntimeService::NewStub(ch);
    img_ = v1::ImageService::NewStub(ch);
  }

  bool Pull() {
    for (const auto& i : o_.images) {
      v1::PullImageRequest req;
      req.mutable_image()->set_image(i);
      v1::PullImageResponse resp;
      auto t0 = Clock::now();
      auto st = img_->PullImage(Ctx().get(), req, &resp);
      if (!st.ok()) return Fail("PullImage " + i, st);
      std::fprintf(stderr, "pulled %s -> %s in %.0f ms\n", i.c_str(), resp.image_ref().c_str(), Ms(t0, Clock::now()));
    }
    return true;
  }

  // One pod + one running container; the three phases' durations in ms in `phases`.
  bool RunOne(const std::string& name, double phases[3], std::string* pod_id) {
    v1::PodSandboxConfig pod = PodConfig(name);
    ::mkdir(pod.log_directory().c_str(), 0755);
    auto t0 = Clock::now();
    v1::RunPodSandboxRequest rreq;
    *rreq.mutable_config() = pod;
    v1::RunPodSandboxResponse rresp;
    auto st = rt_->RunPodSandbox(Ctx().get(), rreq, &rresp);
    if (!st.ok()) return Fail("RunPodSandbox " + name, st);
    *pod_id = rresp.pod_sandbox_id();
    auto t1 = Clock::now();
    v1::CreateContainerRequest creq;
    creq.set_pod_sandbox_id(*pod_id);
    *creq.mutable_sandbox_config() = pod;
    auto* cc = creq.mutable_config();
    cc->mutable_metadata()->set_name("sleep");
    cc->mutable_image()->set_image(o_.image);
    cc->add_command("sleep");
    cc->add_args("3600");
    cc->set_log_path("sleep.log");
    cc->mutable_linux()->mutable_security_context()->mutable_namespace_options()->set_pid(v1::CONTAINER);
    v1::CreateContainerResponse cresp;
    st = rt_->CreateContainer(Ctx().get(), creq, &cresp);
    if (!st.ok()) return Fail("CreateContainer in " + name, st);
    auto t2 = Clock::now();
    v1::StartContainerRequest sreq;
    sreq.set_container_id(cresp.container_id());
    v1::StartContainerResponse sresp;
    st = rt_->StartContainer(Ctx().get(), sreq, &sresp);
    if (!st.ok()) return Fail("StartContainer in " + name, st);
    auto t3 = Clock::now();
    phases[0] = Ms(t0, t1);
    phases[1] = Ms(t1, t2);
    phases[2] = Ms(t2, t3);
    return true;
  }

  bool Latency() {
    std::vector<double> total, run, create, start;
    for (int i = 0; i < o_.reps; ++i) {
      double p[3];
      std::string id;
      bool ok = RunOne("bench-lat-" + RandomHex(), p, &id);
      if (!id.empty()) RemovePod(id);
      if (!ok) return false;
      run.push_back(p[0]);
      create.push_back(p[1]);
      start.push_back(p[2]);
      total.push_back(p[0] + p[1] + p[2]);
    }
    Emit("cri_run_create_start", "ms", total);
    Emit("cri_run_pod_sandbox", "ms", run);
    Emit("cri_create_container", "ms", create);
    Emit("cri_start_container", "ms", start);
    return true;
  }

  bool Density() {
    std::atomic<int> next{0};
    std::atomic<bool> ok{true};
    std::mutex mu;
    std::vector<double> per_pod;
    auto t0 = Clock::now();
    std::vector<std::thread> workers;
    for (int w = 0; w < std::max(1, o_.parallel); ++w) {
      workers.emplace_back([&] {
        for (int i = next++; i < o_.pods && ok; i = next++) {
          double p[3];
          std::string id;
          if (!RunOne("bench-dens-" + std::to_string(i) + "-" + RandomHex(), p, &id)) {
            ok = false;
            return;
          }
          std::lock_guard<std::mutex> l(mu);
          per_pod.push_back(p[0] + p[1] + p[2]);
        }
      });
    }
    for (auto& t : workers) t.join();
    double total = Ms(t0, Clock::now());
    if (!ok) return false;
    Emit("cri_density_" + std::to_string(o_.pods) + "_pods", "s", {total / 1000});
    Emit("cri_density_per_pod", "ms", per_pod);
    return true;
  }

  // Removes the pods this tool labelled; other pods on the daemon are left alone.
  bool Cleanup() {
    v1::ListPodSandboxRequest req;
    (*req.mutable_filter()->mutable_label_selector())[kLabel] = "1";
    v1::ListPodSandboxResponse resp;
    auto st = rt_->ListPodSandbox(Ctx().get(), req, &resp);
    if (!st.ok()) return Fail("ListPodSandbox", st);
    for (const auto& p : resp.items()) RemovePod(p.id());
    std::fprintf(stderr, "removed %d pods\n", resp.items_size());
    return true;
  }

 private:
  v1::PodSandboxConfig PodConfig(const std::string& name) {
    v1::PodSandboxConfig c;
    c.mutable_metadata()->set_name(name);
    c.mutable_metadata()->set_namespace_("bench");
    c.mutable_metadata()->set_uid(name + "-uid");
    c.set_hostname(name.substr(0, 63));
    c.set_log_directory(o_.logs + "/" + name);
    (*c.mutable_labels())[kLabel] = "1";
    auto* nso = c.mutable_linux()->mutable_security_context()->mutable_namespace_options();
    nso->set_pid(v1::CONTAINER);  // as kubelet sets it (POD, the proto default, shares one)
    if (o_.hostnet) nso->set_network(v1::NODE);
    return c;
  }

  void RemovePod(const std::string& id) {
    v1::StopPodSandboxRequest s;
    s.set_pod_sandbox_id(id);
    v1::StopPodSandboxResponse sr;
    auto st = rt_->StopPodSandbox(Ctx().get(), s, &sr);
    if (!st.ok()) Fail("StopPodSandbox " + id, st);
    v1::RemovePodSandboxRequest r;
    r.set_pod_sandbox_id(id);
    v1::RemovePodSandboxResponse rr;
    st = rt_->RemovePodSandbox(Ctx().get(), r, &rr);
    if (!st.ok()) Fail("RemovePodSandbox " + id, st);
  }

  static bool Fail(const std::string& what, const grpc::Status& st) {
    std::fprintf(stderr, "berth-cri-bench: %s: %s (code %d)\n", what.c_str(), st.error_message().c_str(),
                 static_cast<int>(st.error_code()));
    return false;
  }

  Options o_;
  std::unique_ptr<v1::RuntimeService::Stub> rt_;
  std::unique_ptr<v1::ImageService::Stub> img_;
};

int Usage() {
  std::fprintf(stderr,
               "usage: berth-cri-bench -a SOCK pull IMAGE... | latency --image IMG [--reps N] | "
               "density --image IMG [--pods N] [--parallel P] | cleanup  [--hostnet] [--logs DIR]\n");
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto val = [&]() -> std::string { return i + 1 < argc ? argv[++i] : ""; };
    if (a == "-a" || a == "--address") o.address = val();
    else if (a == "--image") o.image = val();
    else if (a == "--logs") o.logs = val();
    else if (a == "--reps") o.reps = std::atoi(val().c_str());
    else if (a == "--pods") o.pods = std::atoi(val().c_str());
    else if (a == "--parallel") o.parallel = std::atoi(val().c_str());
    else if (a == "--hostnet") o.hostnet = true;
    else if (o.command.empty()) o.command = a;
    else o.images.push_back(a);
  }
  if (o.address.empty() || o.command.empty()) return Usage();
  if (o.command == "latency" || o.command == "density") ::mkdir(o.logs.c_str(), 0755);
  Bench b(o);
  bool ok = false;
  if (o.command == "pull") ok = b.Pull();
  else if (o.command == "latency" && !o.image.empty()) ok = b.Latency();
  else if (o.command == "density" && !o.image.empty()) ok = b.Density();
  else if (o.command == "cleanup") ok = b.Cleanup();
  else return Usage();
  return ok ? 0 : 1;
}
