#!/usr/bin/python3
"""Adds a layer with /etc/passwd and /etc/group to an OCI image layout made by
integration/make-busybox-image.sh (one manifest), so CRI tests have an image with a non-root
user to resolve (run_as_username). Usage: add_user_layer.py OCI_DIR PASSWD_TEXT GROUP_TEXT"""
import gzip, hashlib, io, json, os, sys, tarfile

# The texts come through a shell: a literal "\\n" in them is a newline.
oci, passwd, group = sys.argv[1], sys.argv[2].replace("\\n", "\n"), sys.argv[3].replace("\\n", "\n")
blobs = os.path.join(oci, "blobs", "sha256")


def put(data):
    d = hashlib.sha256(data).hexdigest()
    with open(os.path.join(blobs, d), "wb") as f:
        f.write(data)
    return "sha256:" + d, len(data)


def get(digest):
    with open(os.path.join(blobs, digest.split(":")[1]), "rb") as f:
        return f.read()


raw = io.BytesIO()
with tarfile.open(fileobj=raw, mode="w", format=tarfile.GNU_FORMAT) as t:
    for name, text in (("etc/passwd", passwd), ("etc/group", group)):
        info = tarfile.TarInfo(name)
        data = text.encode()
        info.size, info.mode, info.mtime = len(data), 0o644, 0
        t.addfile(info, io.BytesIO(data))
layer = raw.getvalue()
diff_id = "sha256:" + hashlib.sha256(layer).hexdigest()
layer_digest, layer_size = put(gzip.compress(layer, mtime=0))

with open(os.path.join(oci, "index.json")) as f:
    index = json.load(f)
desc = index["manifests"][0]
manifest = json.loads(get(desc["digest"]))
config = json.loads(get(manifest["config"]["digest"]))
config["rootfs"]["diff_ids"].append(diff_id)
config.setdefault("history", []).append({"created_by": "add_user_layer.py"})
manifest["config"]["digest"], manifest["config"]["size"] = put(json.dumps(config).encode())
manifest["layers"].append({"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
                           "digest": layer_digest, "size": layer_size})
desc["digest"], desc["size"] = put(json.dumps(manifest).encode())
with open(os.path.join(oci, "index.json"), "w") as f:
    json.dump(index, f)
