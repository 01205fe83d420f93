// Image archives into Transfer.Import (`ctr images import`, `berthctl images import`): the
// input is the archive file, an OCI image layout tar or a `docker save` tar, plain or gzip.
// It goes through Puller::Import as the transfer plugin builds it, over the plugins berthd
// runs (metadata in RocksDB, content store, the native snapshotter), set up once per process
// in a temporary directory: libarchive's reading, index.json / manifest.json, blob names and
// digests, image names (OciName, RepoTags), the manifests and configs they point at, and the
// unpack of the layers into snapshots.
//
// After each import every blob in the store must hash to its digest (the archive names blobs;
// a wrong name must be refused, never stored), and every descriptor of the images created must
// give the size of the blob it names. Then the snapshots, blobs, ingests and the
// metadata are removed, so every input starts from an empty daemon (and a crash replays).
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "content-store/digest.h"
#include "core/fs.h"
#include "core/log.h"
#include "fuzz/plugin_daemon.h"
#include "plugins/content/plugin.h"
#include "plugins/metadata/plugin.h"
#include "plugins/registry/registry.h"
#include "plugins/snapshots/plugin.h"
#include "plugins/transfer/manifest.h"
#include "plugins/transfer/plugin.h"
#include "plugins/transfer/puller.h"

namespace {

constexpr char kNamespace[] = "default";

// BERTH_FUZZ_VERBOSE=1 prints each import's result (to check what seeds reach).
const bool kVerbose = std::getenv("BERTH_FUZZ_VERBOSE") != nullptr;

struct Daemon {
  std::string dir;
  std::string archive;  // where each input is written
  berth::plugin::Registry registry;
  std::shared_ptr<berth::metadata::Metadata> md;
  std::shared_ptr<berth::transfer::Puller> puller;
};

Daemon* Start() {
  (void)berth::log::Init("error");
  auto* d = new Daemon;  // lives as long as the process
  d->dir = berth::fuzz::MakeScratchDir("import");
  d->archive = d->dir + "/input.tar";
  berth::fuzz::StartPlugins(
      d->registry, d->dir,
      {&berth::content::RegisterContentPlugin, &berth::snapshotter::RegisterNative,
       &berth::metadata::RegisterMetadata, &berth::transfer::RegisterTransferPlugin});
  d->md = d->registry.Find<berth::metadata::Metadata>(berth::plugin::kMetadata, "rocksdb");
  d->puller = d->registry.Find<berth::transfer::Puller>(berth::plugin::kTransfer, "berth");
  if (d->md == nullptr || d->puller == nullptr || d->md->snapshotters.count("native") == 0) {
    std::abort();
  }
  return d;
}

void Check(const absl::Status& st, const char* what) {
  if (st.ok()) return;
  std::fprintf(stderr, "image_import: %s: %s\n", what, st.ToString().c_str());
  std::abort();
}

// Every committed blob hashes to its name: an import never stores bytes under another digest.
void CheckBlobs(Daemon& d) {
  Check(d.md->blobs->Walk([&](const berth::content::BlobInfo& info) -> absl::Status {
    auto r = d.md->blobs->OpenReader(info.digest);
    if (!r.ok()) return r.status();
    berth::content::Sha256Hasher hasher;
    std::string buf(64 << 10, '\0');
    for (int64_t off = 0; off < (*r)->Size();) {
      auto n = (*r)->ReadAt(off, absl::MakeSpan(buf));
      if (!n.ok()) return n.status();
      if (*n == 0) break;
      hasher.Update(absl::string_view(buf.data(), *n));
      off += static_cast<int64_t>(*n);
    }
    if (hasher.Current() != info.digest) {
      std::fprintf(stderr, "image_import: blob %s holds %s\n", info.digest.str().c_str(),
                   hasher.Current().str().c_str());
      std::abort();
    }
    return absl::OkStatus();
  }),
        "walk blobs");
}

// A descriptor an imported image holds (its target, an index's children, a manifest's config
// and layers) gives the size of the blob it names when that blob is in the store: image records
// and manifests outlive the archive, and a wrong size breaks whoever reads them (export, push).
void CheckDescriptor(Daemon& d, const berth::transfer::Descriptor& desc, const std::string& where,
                     int depth) {
  auto digest = berth::content::Digest::Parse(desc.digest);
  if (!digest.ok()) return;
  auto info = d.md->content->GetInfo(kNamespace, *digest);
  if (!info.ok()) return;  // a child the archive lacks (a partial multi-platform export)
  if (info->size != desc.size) {
    std::fprintf(stderr, "image_import: %s: %s is %lld bytes, its descriptor says %lld\n",
                 where.c_str(), desc.digest.c_str(), static_cast<long long>(info->size),
                 static_cast<long long>(desc.size));
    std::abort();
  }
  bool index = berth::transfer::IsIndexType(desc.media_type);
  if (depth > 2 || !(index || berth::transfer::IsManifestType(desc.media_type))) return;
  auto reader = d.md->content->OpenReader(kNamespace, *digest);
  Check(reader.status(), "open document");
  auto bytes = (*reader)->Read(0, static_cast<size_t>((*reader)->Size()));
  Check(bytes.status(), "read document");
  if (index) {
    auto children = berth::transfer::ParseIndex(*bytes);
    if (!children.ok()) return;
    for (const auto& c : *children) CheckDescriptor(d, c, where + " > index", depth + 1);
  } else if (auto m = berth::transfer::ParseManifest(*bytes); m.ok()) {
    CheckDescriptor(d, m->config, where + " > config", depth + 1);
    for (const auto& l : m->layers) CheckDescriptor(d, l, where + " > layer", depth + 1);
  }
}

void CheckImages(Daemon& d) {
  auto images = d.md->images->List(kNamespace, {});
  Check(images.status(), "list images");
  for (const auto& img : *images) {
    CheckDescriptor(d, {img.target.media_type, img.target.digest, img.target.size, {}, {}},
                    "image " + img.name, 0);
  }
}

// Back to an empty daemon: snapshots (children before parents), blobs, ingests, metadata.
void Reset(Daemon& d) {
  auto& sn = *d.md->snapshotters.at("native");
  for (bool removed = true; removed;) {
    std::vector<std::string> keys;
    Check(sn.Walk(kNamespace,
                  [&](const berth::snapshotter::Info& info) {
                    keys.push_back(info.name);
                    return absl::OkStatus();
                  }),
          "walk snapshots");
    removed = false;
    for (const std::string& k : keys) removed |= sn.Remove(kNamespace, k).ok();
    if (!keys.empty() && !removed) Check(absl::InternalError("snapshots left"), "remove");
  }
  Check(sn.Cleanup(), "snapshot cleanup");
  std::vector<berth::content::Digest> blobs;
  Check(d.md->blobs->Walk([&](const berth::content::BlobInfo& info) {
    blobs.push_back(info.digest);
    return absl::OkStatus();
  }),
        "walk blobs");
  for (const auto& b : blobs) Check(d.md->blobs->Delete(b), "delete blob");
  auto ingests = d.md->blobs->ListStatuses();
  Check(ingests.status(), "list ingests");
  for (const auto& s : *ingests) Check(d.md->blobs->Abort(s.ref), "abort ingest");
  Check(d.md->db->Update([](berth::metadata::Txn& txn) -> absl::Status {
    if (absl::Status s = txn.DeletePrefix("namespaces/"); !s.ok()) return s;
    return txn.DeletePrefix("ns/");
  }),
        "empty metadata");
}

bool WriteFile(const std::string& path, const uint8_t* data, size_t size) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return false;
  bool ok = true;
  while (ok && size > 0) {
    ssize_t n = ::write(fd, data, size);
    ok = n > 0;
    if (ok) {
      data += n;
      size -= static_cast<size_t>(n);
    }
  }
  return ::close(fd) == 0 && ok;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static Daemon* d = Start();
  if (!WriteFile(d->archive, data, size)) std::abort();
  berth::transfer::ImportOptions o;
  o.path = d->archive;
  o.base_name = "fuzz.example/import";  // names what the archive leaves unnamed
  o.unpack = true;
  o.snapshotter = "native";
  auto result = d->puller->Import(kNamespace, o, [](const auto&) { return absl::OkStatus(); });
  if (kVerbose) {
    if (result.ok()) {
      for (const auto& r : *result) {
        std::fprintf(stderr, "imported %s -> %s\n", r.name.c_str(), r.target.digest.c_str());
      }
    } else {
      std::fprintf(stderr, "import: %s\n", result.status().ToString().c_str());
    }
  }
  CheckBlobs(*d);
  CheckImages(*d);
  Reset(*d);
  return 0;
}
