#!/usr/bin/python3
"""Writes an OCI layout (index.json, blobs/sha256) of a 3-layer gzip image whose layers use
every kind of entry an unpack must reproduce exactly: whiteouts, an opaque directory,
symlinks, hardlinks, setuid/sticky modes, owners, user.* xattrs (PAX SCHILY.xattr), a fifo, a
directory implied (not listed) by a later layer whose lower has odd attributes, and a root
"./" entry. Usage: make_layered_layout.py DIR
"""
import gzip
import hashlib
import io
import json
import os
import sys
import tarfile

out = sys.argv[1]
blobs = os.path.join(out, "blobs", "sha256")
os.makedirs(blobs, exist_ok=True)
MTIME = 1700000000


def put(data):
    d = hashlib.sha256(data).hexdigest()
    with open(os.path.join(blobs, d), "wb") as f:
        f.write(data)
    return "sha256:" + d, len(data)


def entry(t, name, kind=tarfile.REGTYPE, data=b"", mode=0o644, uid=0, gid=0, link="", xattrs=None):
    ti = tarfile.TarInfo(name)
    ti.type, ti.mode, ti.uid, ti.gid, ti.mtime, ti.linkname = kind, mode, uid, gid, MTIME, link
    if xattrs:
        ti.pax_headers = {"SCHILY.xattr." + k: v for k, v in xattrs.items()}
    if kind == tarfile.REGTYPE:
        ti.size = len(data)
        t.addfile(ti, io.BytesIO(data))
    else:
        t.addfile(ti)


def layer(build):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as t:
        build(t)
    tar = buf.getvalue()
    gz = gzip.compress(tar, mtime=0)
    return tar, gz


def l1(t):
    entry(t, "./", tarfile.DIRTYPE, mode=0o755)
    for d, m, u in [("bin", 0o755, 0), ("etc", 0o755, 0), ("tmp", 0o1777, 0), ("data", 0o750, 7),
                    ("data/replaced", 0o755, 0), ("data/replaced/sub", 0o700, 5),
                    ("opt", 0o711, 0), ("opt/deep", 0o2750, 3)]:
        entry(t, d, tarfile.DIRTYPE, mode=m, uid=u, gid=u)
    entry(t, "bin/tool", data=b"\x7fELF" + os.urandom(200000), mode=0o755)
    entry(t, "bin/sh", tarfile.SYMTYPE, link="tool")
    entry(t, "etc/passwd", data=b"root:x:0:0::/root:/bin/sh\n")
    entry(t, "data/deleteme", data=b"delete me\n")
    entry(t, "data/keep", data=b"keep\n", uid=1000, gid=1000)
    entry(t, "data/replaced/old1", data=b"old1\n")
    entry(t, "data/replaced/sub/old3", data=b"old3\n")
    entry(t, "opt/deep/file", data=b"deep\n")
    entry(t, "etc/fifo", tarfile.FIFOTYPE, mode=0o600)


def l2(t):
    entry(t, "data", tarfile.DIRTYPE, mode=0o750, uid=7, gid=7)
    entry(t, "data/big", data=os.urandom(3 << 20), mode=0o640)
    entry(t, "data/many", tarfile.DIRTYPE, mode=0o755)
    # opt/deep is implied (not listed): it must keep 02750 owner 3 from layer 1
    entry(t, "opt/deep/more", data=b"more\n", xattrs={"user.berth": "ahead"})
    for i in range(300):
        entry(t, "data/many/f%03d" % i, data=b"x" * i)


def l3(t):
    entry(t, "data", tarfile.DIRTYPE, mode=0o750, uid=7, gid=7)
    entry(t, "data/.wh.deleteme")
    entry(t, "data/replaced", tarfile.DIRTYPE, mode=0o755)
    entry(t, "data/replaced/.wh..wh..opq")
    entry(t, "data/replaced/new1", data=b"new1\n")
    entry(t, "data/target", data=b"link target\n")
    entry(t, "data/link", tarfile.SYMTYPE, link="target")
    entry(t, "data/hard1", data=b"hard\n")
    entry(t, "data/hard2", tarfile.LNKTYPE, link="data/hard1")
    entry(t, "data/suid", data=b"suid\n", mode=0o4755)
    entry(t, "data/xattr", data=b"xattr\n", xattrs={"user.acc": "hello"})


layers, diff_ids = [], []
for build in (l1, l2, l3):
    tar, gz = layer(build)
    dg, size = put(gz)
    layers.append({"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
                   "digest": dg, "size": size})
    diff_ids.append("sha256:" + hashlib.sha256(tar).hexdigest())
cfg = json.dumps({"architecture": "amd64", "os": "linux",
                  "config": {"Cmd": ["/bin/sh"]},
                  "rootfs": {"type": "layers", "diff_ids": diff_ids}}).encode()
cdg, csize = put(cfg)
man = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                  "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                             "digest": cdg, "size": csize},
                  "layers": layers}).encode()
mdg, msize = put(man)
with open(os.path.join(out, "oci-layout"), "w") as f:
    f.write('{"imageLayoutVersion":"1.0.0"}')
with open(os.path.join(out, "index.json"), "w") as f:
    json.dump({"schemaVersion": 2, "manifests": [{
        "mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": mdg, "size": msize,
        "annotations": {"org.opencontainers.image.ref.name": "latest"}}]}, f)
print(" ".join(l["digest"] for l in layers))
