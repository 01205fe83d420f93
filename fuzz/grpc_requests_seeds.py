# Writes the seed corpus of grpc_requests_fuzz (fuzz/corpus/grpc_requests): sequences of
# [selector][length LE16][request bytes], the requests encoded by protoc from text format.
# Run from the repository root: python3 fuzz/grpc_requests_seeds.py
import struct
import subprocess
PROTO = "proto"
FILES = {"ns": "containerd/services/namespaces/v1/namespace.proto",
         "ct": "containerd/services/containers/v1/containers.proto",
         "im": "containerd/services/images/v1/images.proto",
         "ls": "containerd/services/leases/v1/leases.proto"}
PKG = {k: "containerd.services.%s.v1" % n for k, n in
       {"ns": "namespaces", "ct": "containers", "im": "images", "ls": "leases"}.items()}
METHODS = [("ns","GetNamespaceRequest"),("ns","ListNamespacesRequest"),("ns","CreateNamespaceRequest"),
  ("ns","UpdateNamespaceRequest"),("ns","DeleteNamespaceRequest"),
  ("ct","GetContainerRequest"),("ct","ListContainersRequest"),("ct","CreateContainerRequest"),
  ("ct","UpdateContainerRequest"),("ct","DeleteContainerRequest"),
  ("im","GetImageRequest"),("im","ListImagesRequest"),("im","CreateImageRequest"),
  ("im","UpdateImageRequest"),("im","DeleteImageRequest"),
  ("ls","CreateRequest"),("ls","DeleteRequest"),("ls","ListRequest"),("ls","AddResourceRequest"),
  ("ls","DeleteResourceRequest"),("ls","ListResourcesRequest")]
NS = {None: 0, "default": 1, "k8s.io": 2, "bad": 3}
def enc(svc, msg, text):
    return subprocess.run(["protoc", "--encode=%s.%s" % (PKG[svc], msg), "-I", PROTO, "-I", "/usr/include",
                           FILES[svc]], input=text.encode(), capture_output=True, check=True).stdout
def call(method, text, ns="default"):
    i = [m for _, m in METHODS].index(method) if isinstance(method, str) else method
    svc, msg = METHODS[i]
    body = enc(svc, msg, text)
    return bytes([i + 21 * NS[ns]]) + struct.pack("<H", len(body)) + body
def seq(name, *calls):
    open("fuzz/corpus/grpc_requests/" + name, "wb").write(b"".join(calls))
SPEC = 'type_url: "types.containerd.io/opencontainers/runtime-spec/1/Spec" value: "{\\"ociVersion\\":\\"1.0.2\\",\\"process\\":{\\"args\\":[\\"sh\\"]}}"'
CT = 'container { id: "c1" labels { key: "app" value: "web" } image: "docker.io/library/busybox:latest" runtime { name: "io.containerd.runc.v2" } spec { %s } snapshotter: "native" snapshot_key: "c1" }' % SPEC
IMG = 'image { name: "docker.io/library/busybox:latest" labels { key: "containerd.io/gc.ref.content.m" value: "sha256:0000000000000000000000000000000000000000000000000000000000000000" } target { media_type: "application/vnd.oci.image.index.v1+json" digest: "sha256:%s" size: 9218 annotations { key: "org.opencontainers.image.ref.name" value: "latest" } } }' % ("ab" * 32)
seq("namespaces-lifecycle",
    call("CreateNamespaceRequest", 'namespace { name: "team-a" labels { key: "containerd.io/defaults/snapshotter" value: "native" } }'),
    call("GetNamespaceRequest", 'name: "team-a"'),
    call("ListNamespacesRequest", 'filter: "name~=team,labels.\\"containerd.io/defaults/snapshotter\\"==native"'),
    call("UpdateNamespaceRequest", 'namespace { name: "team-a" labels { key: "x" value: "" } labels { key: "y" value: "2" } } update_mask { paths: "labels.x" paths: "labels.y" }'),
    call("DeleteNamespaceRequest", 'name: "team-a"'),
    call("GetNamespaceRequest", 'name: "team-a"'))
seq("containers-lifecycle",
    call("CreateContainerRequest", CT, "k8s.io"),
    call("GetContainerRequest", 'id: "c1"', "k8s.io"),
    call("ListContainersRequest", 'filters: "labels.app==web" filters: "image~=busybox"', "k8s.io"),
    call("UpdateContainerRequest", 'container { id: "c1" labels { key: "app" value: "db" } image: "x" } update_mask { paths: "labels" paths: "image" }', "k8s.io"),
    call("DeleteNamespaceRequest", 'name: "k8s.io"'),
    call("DeleteContainerRequest", 'id: "c1"', "k8s.io"),
    call("DeleteContainerRequest", 'id: "c1"', "k8s.io"))
seq("containers-extensions",
    call("CreateContainerRequest", CT.replace('snapshot_key: "c1" }', 'snapshot_key: "c1" extensions { key: "berth/ext" value { type_url: "types.containerd.io/x" value: "\\001\\002" } } }'), None),
    call("UpdateContainerRequest", 'container { id: "c1" runtime { name: "other" } extensions { key: "e" value { type_url: "t" } } } update_mask { paths: "extensions.e" paths: "runtime" paths: "spec" }', None))
seq("images-lifecycle",
    call("CreateImageRequest", IMG),
    call("CreateImageRequest", IMG),
    call("GetImageRequest", 'name: "docker.io/library/busybox:latest"'),
    call("ListImagesRequest", 'filters: "name==docker.io/library/busybox:latest,target.mediatype~=index"'),
    call("UpdateImageRequest", IMG.replace("9218", "10") + ' update_mask { paths: "target" paths: "labels.containerd.io/gc.ref.content.m" }'),
    call("DeleteImageRequest", 'name: "docker.io/library/busybox:latest" sync: true'))
seq("images-bad",
    call("CreateImageRequest", 'image { name: "" }'),
    call("CreateImageRequest", 'image { name: "x" target { digest: "md5:abc" size: -1 } }'),
    call("UpdateImageRequest", 'image { name: "x" } update_mask { paths: "created_at" paths: "annotations" }'),
    call("ListImagesRequest", 'filters: "labels.\\"unterminated" filters: "name~=(" '))
seq("leases-lifecycle",
    call("CreateRequest", 'id: "pull-1" labels { key: "containerd.io/gc.expire" value: "2030-01-01T00:00:00Z" }'),
    call("CreateRequest", 'labels { key: "containerd.io/gc.flat" value: "1" }'),
    call("AddResourceRequest", 'id: "pull-1" resource { id: "sha256:%s" type: "content" }' % ("cd" * 32)),
    call("AddResourceRequest", 'id: "pull-1" resource { id: "layer-key" type: "snapshots/native" }'),
    call("ListResourcesRequest", 'id: "pull-1"'),
    call("ListRequest", 'filters: "id==pull-1" filters: "labels.\\"containerd.io/gc.expire\\""'),
    call("DeleteResourceRequest", 'id: "pull-1" resource { id: "layer-key" type: "snapshots/native" }'),
    call("DeleteRequest", 'id: "pull-1" sync: true'))
seq("leases-bad",
    call("AddResourceRequest", 'id: "missing" resource { id: "x" type: "unknown/type" }'),
    call("CreateRequest", 'id: "bad id with spaces" labels { key: "" value: "x" }'),
    call("CreateRequest", 'id: "l" labels { key: "containerd.io/gc.expire" value: "not a time" }'),
    call("DeleteRequest", 'id: ""'))
seq("bad-namespace-header",
    call("CreateContainerRequest", CT, "bad"),
    call("ListImagesRequest", '', "bad"),
    call("CreateRequest", 'id: "x"', "bad"))
seq("empty-requests", *[bytes([i, 0, 0]) for i in range(21)])
seq("truncated-length", bytes([7, 0xff, 0xff]) + enc("ct", "CreateContainerRequest", CT)[:40])
seq("not-a-proto", bytes([2, 5, 0]) + b"\xff\xff\xff\xff\xff", bytes([12, 3, 0]) + b"\x0a\x80\x01")
