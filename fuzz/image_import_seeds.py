#!/usr/bin/env python3
"""Writes the seed corpus of image_import_fuzz (and of client_archive_fuzz, which reads the
same archives with the C++ client's own tar reader): small image archives, valid and hostile.

  python3 fuzz/image_import_seeds.py fuzz/corpus/image_import fuzz/corpus/client_archive

Valid: an OCI image layout of a one-layer image (plain, gzip, gzip of gzip, with an index of
two platforms), a `docker save` archive (old layout and Docker 25's OCI-style one). Hostile:
truncated and corrupt archives, path traversal in entry and JSON names, blobs under a wrong
digest, sizes that lie (header, pax, descriptor), deep JSON, JSON of the wrong types, names
that are not references. Every file stays far below 64 KiB. Deterministic (fixed mtimes).
"""
import gzip
import hashlib
import io
import json
import os
import sys
import tarfile


def sha(b):
    return "sha256:" + hashlib.sha256(b).hexdigest()


def tar(entries, fmt=tarfile.PAX_FORMAT):
    """entries: (name, bytes) or (name, bytes, dict of TarInfo attributes)."""
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w", format=fmt) as t:
        for e in entries:
            name, data = e[0], e[1]
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mtime = 1700000000
            info.mode = 0o644
            for k, v in (e[2] if len(e) > 2 else {}).items():
                setattr(info, k, v)
            t.addfile(info, io.BytesIO(data) if info.isreg() else None)
        end = t.offset + 1024  # two zero blocks end the archive; no padding to 10 KiB records
    return out.getvalue()[:end]


def rechecksum(archive, header=0):
    """The header at block `header` with its checksum recomputed after an edit."""
    b = bytearray(archive)
    h = header * 512
    b[h + 148:h + 156] = b" " * 8
    b[h + 148:h + 156] = b"%06o\0 " % sum(b[h:h + 512])
    return bytes(b)


def gz(b):
    return gzip.compress(b, mtime=0)


def js(v):
    return json.dumps(v, separators=(",", ":")).encode()


LAYER = tar([("etc/", b"", {"type": tarfile.DIRTYPE, "mode": 0o755}),
             ("etc/hello", b"hello from an imported layer\n")], fmt=tarfile.USTAR_FORMAT)
LAYER_GZ = gz(LAYER)
CONFIG = js({"architecture": "amd64", "os": "linux",
             "config": {"Cmd": ["/bin/sh"], "Env": ["PATH=/bin"]},
             "rootfs": {"type": "layers", "diff_ids": [sha(LAYER)]}})
ARM_CONFIG = js({"architecture": "arm64", "os": "linux",
                 "rootfs": {"type": "layers", "diff_ids": [sha(LAYER)]}})
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"


def desc(media, data, **extra):
    d = {"mediaType": media, "digest": sha(data), "size": len(data)}
    d.update(extra)
    return d


def manifest(config=CONFIG, layer=LAYER_GZ, layer_type="application/vnd.oci.image.layer.v1.tar+gzip",
             **layer_extra):
    return js({"schemaVersion": 2, "mediaType": OCI_MANIFEST,
               "config": desc("application/vnd.oci.image.config.v1+json", config),
               "layers": [desc(layer_type, layer, **layer_extra)]})


MANIFEST = manifest()


def blob(data):
    return ("blobs/sha256/" + hashlib.sha256(data).hexdigest(), data)


def oci(index, blobs=(CONFIG, LAYER_GZ, MANIFEST), extra=()):
    return tar([("oci-layout", js({"imageLayoutVersion": "1.0.0"})),
                ("index.json", index if isinstance(index, bytes) else js(index))]
               + [blob(b) for b in blobs] + list(extra))


def index(*descs):
    return {"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": list(descs)}


NAMED = desc(OCI_MANIFEST, MANIFEST, annotations={
    "io.containerd.image.name": "docker.io/library/hello:v1",
    "org.opencontainers.image.ref.name": "v1"})
TAGGED = desc(OCI_MANIFEST, MANIFEST, annotations={"org.opencontainers.image.ref.name": "v1"})
VALID = oci(index(NAMED))


def docker_save(manifest_json, files, repositories=None):
    entries = [(p, d) for p, d in files]
    entries.append(("manifest.json", manifest_json if isinstance(manifest_json, bytes)
                    else js(manifest_json)))
    if repositories is not None:
        entries.append(("repositories", js(repositories)))
    return tar(entries)


CFG_NAME = hashlib.sha256(CONFIG).hexdigest() + ".json"
LAYER_DIR = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
DOCKER_FILES = [(CFG_NAME, CONFIG), (LAYER_DIR + "/layer.tar", LAYER)]
DOCKER_IMG = {"Config": CFG_NAME, "RepoTags": ["fuzz.example/saved:v1"],
              "Layers": [LAYER_DIR + "/layer.tar"]}


def docker(**override):
    img = dict(DOCKER_IMG)
    img.update(override)
    return docker_save([img], DOCKER_FILES)


def seeds():
    s = {}
    # --- valid archives
    s["oci-named"] = VALID
    s["oci-named.gz"] = gz(VALID)
    s["oci-named.gz.gz"] = gz(gz(VALID))
    s["oci-tag-only"] = oci(index(TAGGED))  # named <base_name>:v1
    s["oci-unnamed"] = oci(index(desc(OCI_MANIFEST, MANIFEST)))  # named <base_name>@digest
    s["oci-dot-slash"] = tar([("./oci-layout", js({"imageLayoutVersion": "1.0.0"})),
                              ("./index.json", js(index(NAMED)))]
                             + [("./" + n, d) for n, d in map(blob, (CONFIG, LAYER_GZ, MANIFEST))])
    s["oci-gnu-format"] = tar([("index.json", js(index(NAMED)))] +
                              [blob(b) for b in (CONFIG, LAYER_GZ, MANIFEST)], fmt=tarfile.GNU_FORMAT)
    arm_manifest = manifest(config=ARM_CONFIG)
    nested = js(index(desc(OCI_MANIFEST, MANIFEST, platform={"architecture": "amd64", "os": "linux"}),
                      desc(OCI_MANIFEST, arm_manifest, platform={"architecture": "arm64", "os": "linux"})))
    s["oci-multi-platform"] = oci(index(desc(OCI_INDEX, nested, annotations={
        "io.containerd.image.name": "fuzz.example/multi:v1"})),
        blobs=(CONFIG, ARM_CONFIG, LAYER_GZ, MANIFEST, arm_manifest, nested))
    s["oci-partial-platforms"] = oci(index(desc(OCI_INDEX, nested, annotations={
        "org.opencontainers.image.ref.name": "fuzz.example/multi@" + sha(nested)})),
        blobs=(CONFIG, LAYER_GZ, MANIFEST, nested))
    plain = manifest(layer=LAYER, layer_type="application/vnd.oci.image.layer.v1.tar")
    s["oci-uncompressed-layer"] = oci(index(desc(OCI_MANIFEST, plain, annotations={
        "io.containerd.image.name": "fuzz.example/plain:v1"})), blobs=(CONFIG, LAYER, plain))
    s["docker-save"] = docker_save([DOCKER_IMG], DOCKER_FILES,
                                   {"fuzz.example/saved": {"v1": LAYER_DIR}})
    s["docker-save.gz"] = gz(s["docker-save"])
    s["docker-save-untagged"] = docker(RepoTags=None)
    s["docker-save-two-tags"] = docker(RepoTags=["fuzz.example/a:1", "fuzz.example/b:2"])
    # Docker 25+: an OCI layout whose manifest.json names blobs/sha256/... paths.
    s["docker-save-oci-style"] = tar(
        [("oci-layout", js({"imageLayoutVersion": "1.0.0"})),
         blob(CONFIG), blob(LAYER),
         ("manifest.json", js([{"Config": blob(CONFIG)[0], "RepoTags": ["fuzz.example/d25:v1"],
                                "Layers": [blob(LAYER)[0]]}]))])
    # --- truncated and corrupt archives
    s["truncated-in-blob"] = VALID[:len(VALID) // 2 + 100]
    s["truncated-in-header"] = VALID[:512 * 3 + 200]
    s["truncated.gz"] = gz(VALID)[:len(gz(VALID)) // 2]
    corrupt = bytearray(VALID)
    corrupt[148:156] = b"0000000\0"  # header checksum
    s["bad-checksum"] = bytes(corrupt)
    s["not-an-archive"] = b"this is not a tar archive\n" * 4
    s["empty"] = b""
    s["zero-blocks"] = b"\0" * 1024
    s["gzip-of-garbage"] = gz(b"\x01\x02garbage" * 50)
    # --- names that escape
    s["traversal-entry"] = oci(index(NAMED), extra=[("../x", b"escape"), ("/abs/x", b"abs"),
                                                    ("blobs/sha256/../../x", b"escape")])
    s["traversal-blob-name"] = tar([("index.json", js(index(NAMED))),
                                    ("blobs/sha256/../../etc/passwd", b"root:x:0:0::/:/bin/sh\n")]
                                   + [blob(b) for b in (CONFIG, LAYER_GZ, MANIFEST)])
    s["traversal-docker-paths"] = docker_save(
        [{"Config": "../" + CFG_NAME, "RepoTags": ["fuzz.example/t:1"],
          "Layers": ["blobs/sha256/../../" + LAYER_DIR + "/layer.tar"]}], DOCKER_FILES)
    s["traversal-image-name"] = oci(index(desc(OCI_MANIFEST, MANIFEST, annotations={
        "io.containerd.image.name": "../../etc/passwd"})))
    s["symlink-index"] = tar([("real.json", js(index(NAMED))),
                              ("index.json", b"", {"type": tarfile.SYMTYPE, "linkname": "real.json"})]
                             + [blob(b) for b in (CONFIG, LAYER_GZ, MANIFEST)])
    s["hardlink-blob"] = tar([("index.json", js(index(NAMED))), blob(CONFIG), blob(LAYER_GZ),
                              ("blobs/sha256/" + sha(MANIFEST)[7:], b"",
                               {"type": tarfile.LNKTYPE, "linkname": blob(CONFIG)[0]})])
    # --- digests that lie
    s["wrong-digest"] = tar([("index.json", js(index(NAMED))), blob(CONFIG), blob(LAYER_GZ),
                             ("blobs/sha256/" + sha(MANIFEST)[7:], MANIFEST + b" ")])
    s["bad-digest-name"] = oci(index(NAMED), extra=[("blobs/sha256/zzzz", b"x"),
                                                   ("blobs/sha256/" + "A" * 64, b"x")])
    s["other-algorithm"] = oci(index(NAMED), extra=[("blobs/sha512/" + "0" * 128, b"x")])
    s["missing-layer"] = oci(index(NAMED), blobs=(CONFIG, MANIFEST))
    s["missing-manifest"] = oci(index(NAMED), blobs=(CONFIG, LAYER_GZ))
    bad_config = CONFIG.replace(sha(LAYER).encode(), b"sha256:" + b"0" * 64)
    bad_manifest = manifest(config=bad_config)
    s["bad-diff-id"] = oci(index(desc(OCI_MANIFEST, bad_manifest, annotations={
        "io.containerd.image.name": "fuzz.example/diffid:v1"})),
        blobs=(bad_config, LAYER_GZ, bad_manifest))
    # --- sizes that lie
    s["descriptor-size-huge"] = oci(index(desc(OCI_MANIFEST, MANIFEST, size=1 << 62,
                                               annotations=NAMED["annotations"])))
    s["descriptor-size-negative"] = oci(index(desc(OCI_MANIFEST, MANIFEST, size=-1,
                                                   annotations=NAMED["annotations"])))
    s["pax-size-huge"] = tar([("index.json", js(index(NAMED)), {"pax_headers": {"size": "99999999999"}})])
    s["pax-size-negative"] = tar([("index.json", js(index(NAMED)), {"pax_headers": {"size": "-5"}})])
    hdr = bytearray(tar([("index.json", b"{}")], fmt=tarfile.USTAR_FORMAT))
    hdr[124:136] = b"77777777777\0"  # 8 GiB declared, 2 bytes present
    s["header-size-huge"] = rechecksum(hdr)
    neg = bytearray(tar([("index.json", b"{}")], fmt=tarfile.USTAR_FORMAT))
    neg[124:136] = b"\xff" * 12  # base-256: -1
    s["header-size-base256-negative"] = rechecksum(neg)
    neg_blob = bytearray(tar([blob(CONFIG)], fmt=tarfile.USTAR_FORMAT))
    neg_blob[124:136] = b"\xff" * 12
    s["blob-size-base256-negative"] = rechecksum(neg_blob)
    # A blob named twice: the second copy is skipped unread, its header size must not count.
    s["duplicate-blob-lying-size"] = tar(
        [blob(CONFIG), blob(LAYER), (blob(LAYER)[0], b"short"),
         ("manifest.json", js([{"Config": blob(CONFIG)[0], "RepoTags": ["fuzz.example/dup:v1"],
                                "Layers": [blob(LAYER)[0]]}]))])
    # 32 MiB of zeros as the config (gzip of gzip: 3 kB): more than a pull would read.
    huge = b"\0" * (32 << 20)
    huge_manifest = manifest(config=huge)
    s["config-huge.gz.gz"] = gz(gz(oci(index(desc(OCI_MANIFEST, huge_manifest, annotations={
        "io.containerd.image.name": "fuzz.example/huge:v1"})), blobs=(huge, LAYER_GZ, huge_manifest))))
    lying = manifest(size=len(LAYER_GZ) + 1000)
    s["layer-size-lies"] = oci(index(desc(OCI_MANIFEST, lying, annotations={
        "io.containerd.image.name": "fuzz.example/lies:v1"})), blobs=(CONFIG, LAYER_GZ, lying))
    # --- JSON that is deep or of the wrong types
    s["deep-index"] = oci(b"[" * 25000 + b"]" * 25000)
    s["deep-docker-manifest"] = docker_save(b"[" * 25000 + b"]" * 25000, DOCKER_FILES)
    s["deep-annotation"] = oci(b'{"schemaVersion":2,"manifests":[{"mediaType":"%s","digest":"%s",'
                               b'"size":%d,"annotations":{"a":%s}}]}' % (
                                   OCI_MANIFEST.encode(), sha(MANIFEST).encode(), len(MANIFEST),
                                   b"[" * 20000 + b"]" * 20000))
    for name, doc in {
        "index-not-object": [1, 2],
        "index-manifests-string": {"manifests": "x"},
        "index-entry-number": {"manifests": [5]},
        "index-digest-number": {"manifests": [{"mediaType": OCI_MANIFEST, "digest": 5, "size": 1}]},
        "index-size-string": {"manifests": [dict(NAMED, size="12")]},
        "index-annotations-array": {"manifests": [dict(NAMED, annotations=["a"])]},
        "index-annotation-number": {"manifests": [dict(NAMED, annotations={
            "io.containerd.image.name": 5})]},
        "index-platform-null": {"manifests": [dict(NAMED, platform=None)]},
        "index-media-type-number": {"manifests": [dict(NAMED, mediaType=5)]},
        "index-size-unsigned-huge": {"manifests": [dict(NAMED, size=(1 << 64) - 1)]},
        "index-tag-only-number": {"manifests": [dict(TAGGED, annotations={
            "org.opencontainers.image.ref.name": ["v1"]})]},
    }.items():
        s[name] = oci(doc)
    for name, doc in {
        "docker-not-array": {"Config": CFG_NAME},
        "docker-entry-string": ["x"],
        "docker-config-number": [dict(DOCKER_IMG, Config=5)],
        "docker-config-missing": [{"Layers": []}],
        "docker-layers-string": [dict(DOCKER_IMG, Layers=LAYER_DIR + "/layer.tar")],
        "docker-layers-object": [dict(DOCKER_IMG, Layers={"a": 1})],
        "docker-layer-number": [dict(DOCKER_IMG, Layers=[7])],
        "docker-repotags-number": [dict(DOCKER_IMG, RepoTags=[7])],
        "docker-repotags-bad-ref": [dict(DOCKER_IMG, RepoTags=["UPPER/Case:x", "a@sha256:zz"])],
        "docker-config-not-json": [dict(DOCKER_IMG, Config=LAYER_DIR + "/layer.tar")],
        "docker-missing-file": [dict(DOCKER_IMG, Layers=["nope/layer.tar"])],
        "docker-too-many-layers": [dict(DOCKER_IMG, Layers=[LAYER_DIR + "/layer.tar"] * 3)],
    }.items():
        s[name] = docker_save(doc, DOCKER_FILES)
    s["docker-invalid-json"] = docker_save(b'[{"Config": ', DOCKER_FILES)
    s["index-invalid-json"] = oci(b'{"manifests": [')
    # 1e300 does not fit an int64: reading it as one is undefined behaviour (UBSan).
    s["crash-index-size-float-huge"] = oci(
        js(index(NAMED)).replace(b'"size":%d' % len(MANIFEST), b'"size":1e300'))
    s["index-empty-file"] = oci(b"")
    s["two-index-files"] = tar([("index.json", js(index(NAMED))), ("index.json", b"{")]
                               + [blob(b) for b in (CONFIG, LAYER_GZ, MANIFEST)])
    s["neither-layout"] = tar([("hello.txt", b"hi")])
    return s


def main():
    for out in sys.argv[1:] or ["corpus/image_import"]:
        os.makedirs(out, exist_ok=True)
        for name, data in seeds().items():
            assert len(data) < 64 << 10, (name, len(data))
            with open(os.path.join(out, name), "wb") as f:
                f.write(data)


if __name__ == "__main__":
    main()
