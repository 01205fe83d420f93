// berth-pull-test: a minimal client of berth.services.transfer.v1.Transfer for the
// integration test (berthctl is the real client). Prints one line per progress item and the
// resulting images; exits 0 on success, 1 with the gRPC error on stderr otherwise.
//
//   berth-pull-test --address SOCK [--namespace NS] import PATH [--base-name B] [--unpack]
//   berth-pull-test --address SOCK [--namespace NS] export PATH IMAGE...
//   berth-pull-test --address SOCK [--namespace NS] [--plain-http] [--user U:P]
//                   [--hosts-dir DIR] [--no-unpack] [--max-downloads N] [--quiet]
//                   [--platform OS/ARCH[/VARIANT]]... REF
#include <cstring>
#include <iostream>
#include <string>
#include <vector>

#include "berth/services/transfer/v1/transfer.grpc.pb.h"
#include "grpcpp/grpcpp.h"

namespace pb = ::berth::services::transfer::v1;

int main(int argc, char** argv) {
  std::string address, ns = "default", ref;
  pb::PullRequest req;
  req.set_unpack(true);
  bool quiet = false;
  std::string mode = "pull", base_name;
  bool import_unpack = false;
  std::vector<std::string> args;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) {
        std::cerr << a << " needs a value\n";
        std::exit(2);
      }
      return argv[++i];
    };
    if (a == "--address") address = next();
    else if (a == "--namespace") ns = next();
    else if (a == "--plain-http") req.set_plain_http(true);
    else if (a == "--hosts-dir") req.set_hosts_dir(next());
    else if (a == "--no-unpack") req.set_unpack(false);
    else if (a == "--quiet") quiet = true;
    else if (a == "--base-name") base_name = next();
    else if (a == "--unpack") import_unpack = true;
    else if (a == "--platform") {  // os/arch[/variant]
      std::string v = next();
      auto* p = req.add_platforms();
      size_t s1 = v.find('/'), s2 = v.find('/', s1 + 1);
      p->set_os(v.substr(0, s1));
      p->set_architecture(v.substr(s1 + 1, s2 == std::string::npos ? s2 : s2 - s1 - 1));
      if (s2 != std::string::npos) p->set_variant(v.substr(s2 + 1));
    } else if (a == "--max-downloads") req.set_max_concurrent_downloads(std::stoul(next()));
    else if (a == "--user") {
      std::string up = next();
      size_t c = up.find(':');
      req.mutable_auth()->set_username(up.substr(0, c));
      if (c != std::string::npos) req.mutable_auth()->set_password(up.substr(c + 1));
    } else if (!a.empty() && a[0] == '-') {
      std::cerr << "unknown flag " << a << "\n";
      return 2;
    } else if (args.empty() && ref.empty() && (a == "import" || a == "export")) {
      mode = a;
    } else {
      args.push_back(a);
    }
  }
  if (mode == "pull" && !args.empty()) ref = args.back();
  if (mode != "pull" && !args.empty()) ref = args[0];
  if (address.empty() || ref.empty()) {
    std::cerr << "usage: berth-pull-test --address SOCK [flags] REF\n";
    return 2;
  }
  req.set_reference(ref);
  auto channel = grpc::CreateChannel("unix:" + address, grpc::InsecureChannelCredentials());
  auto stub = pb::Transfer::NewStub(channel);
  grpc::ClientContext ctx;
  ctx.AddMetadata("containerd-namespace", ns);
  std::unique_ptr<grpc::ClientReader<pb::Progress>> reader;
  if (mode == "import") {
    pb::ImportRequest ir;
    ir.set_path(ref);
    ir.set_base_name(base_name);
    ir.set_unpack(import_unpack);
    reader = stub->Import(&ctx, ir);
  } else if (mode == "export") {
    pb::ExportRequest er;
    er.set_path(ref);
    for (size_t i = 1; i < args.size(); ++i) er.add_images(args[i]);
    reader = stub->Export(&ctx, er);
  } else {
    reader = stub->Pull(&ctx, req);
  }
  pb::Progress p;
  bool done = false;
  while (reader->Read(&p)) {
    for (const auto& it : p.items()) {
      if (quiet && it.state() == "downloading") continue;
      std::cout << it.ref() << " " << it.state() << " " << it.offset() << "/" << it.total()
                << (it.error().empty() ? "" : " error: " + it.error()) << "\n";
    }
    if (p.done()) {
      done = true;
      for (const auto& img : p.images()) {
        std::cout << "image " << img.name() << " " << img.target().digest() << "\n";
      }
    }
  }
  grpc::Status st = reader->Finish();
  if (!st.ok()) {
    std::cerr << "pull failed: " << st.error_code() << ": " << st.error_message() << "\n";
    return 1;
  }
  if (!done) {
    std::cerr << "pull ended without a final progress message\n";
    return 1;
  }
  return 0;
}
