#!/usr/bin/python3
"""Wire-compatibility check: Berth's protos vs the upstream contracts installed by Debian.

Compiles the untouched upstream containerd 1.6 / cgroups protos (with their gogoproto
imports, which protoc's descriptor output tolerates) and ours into descriptor sets, then
compares every upstream message, enum and service with ours: field names, numbers, labels,
types and type names; enum value names and numbers; method names, request/response types and
streaming. ttrpc is checked against the struct tags of ttrpc's Go types. Optionally, CRI is
checked against an upstream api.proto given with --cri-upstream.

Usage: /usr/bin/python3 proto/tools/check_compat.py [--cri-upstream PATH]
Exit status 0 when every difference is one of the documented ALLOWED ones, 1 on a mismatch,
77 (ctest's skip) when the Debian reference packages are not installed.
"""
import argparse, os, re, subprocess, sys, tempfile
from google.protobuf import descriptor_pb2

HERE = os.path.dirname(os.path.abspath(__file__))
OURS = os.path.dirname(HERE)
GOSRC = '/usr/share/gocode/src'
CTRD = GOSRC + '/github.com/containerd/containerd'
UPSTREAM_INCLUDES = [GOSRC, GOSRC + '/github.com/gogo/protobuf', GOSRC + '/github.com/gogo/googleapis',
                     '/usr/include']
# (upstream file relative to GOSRC, our file relative to proto/)
PAIRS = []
for f in ['descriptor', 'mount', 'platform', 'metrics']:
    PAIRS.append(('github.com/containerd/containerd/api/types/%s.proto' % f, 'containerd/types/%s.proto' % f))
PAIRS.append(('github.com/containerd/containerd/api/types/task/task.proto', 'containerd/types/task/task.proto'))
for svc, f in [('containers', 'containers'), ('content', 'content'), ('diff', 'diff'), ('events', 'events'),
               ('images', 'images'), ('introspection', 'introspection'), ('leases', 'leases'),
               ('namespaces', 'namespace'), ('snapshots', 'snapshots'), ('tasks', 'tasks'),
               ('version', 'version')]:
    PAIRS.append(('github.com/containerd/containerd/api/services/%s/v1/%s.proto' % (svc, f),
                  'containerd/services/%s/v1/%s.proto' % (svc, f)))
PAIRS.append(('github.com/containerd/containerd/api/services/ttrpc/events/v1/events.proto',
              'containerd/services/ttrpc/events/v1/events.proto'))
for f in ['container', 'content', 'image', 'namespace', 'snapshot', 'task']:
    PAIRS.append(('github.com/containerd/containerd/api/events/%s.proto' % f, 'containerd/events/%s.proto' % f))
PAIRS += [
    ('github.com/containerd/containerd/runtime/v2/task/shim.proto', 'containerd/runtime/v2/task/shim.proto'),
    ('github.com/containerd/containerd/runtime/v2/runc/options/oci.proto', 'containerd/runc/options/oci.proto'),
    ('github.com/containerd/cgroups/stats/v1/metrics.proto', 'cgroups/stats/v1/metrics.proto'),
    ('github.com/containerd/cgroups/v2/stats/metrics.proto', 'cgroups/v2/stats/metrics.proto'),
    ('google/rpc/status.proto', 'google/rpc/status.proto'),  # from gogo/googleapis
]
# Differences that are deliberate and do not touch the wire (name only, same number and type).
ALLOWED = {
    'containerd.services.introspection.v1.Plugin.requires: name requires -> requires_list',
}


def descriptor_set(includes, files):
    with tempfile.NamedTemporaryFile(suffix='.pb') as out:
        cmd = ['protoc'] + ['-I' + i for i in includes] + ['--include_imports',
                                                          '--descriptor_set_out=' + out.name] + files
        r = subprocess.run(cmd, capture_output=True, text=True)
        if r.returncode != 0:
            sys.exit('protoc failed: %s\n%s' % (' '.join(cmd), r.stderr))
        fds = descriptor_pb2.FileDescriptorSet()
        fds.ParseFromString(open(out.name, 'rb').read())
        return fds


def index(fds, wanted_files):
    """full name -> ('msg', DescriptorProto) | ('enum', ...) | ('svc', ...), for wanted files."""
    out = {}
    def walk_msg(prefix, m):
        name = prefix + '.' + m.name
        out[name] = ('msg', m)
        for n in m.nested_type:
            if not n.options.map_entry:
                walk_msg(name, n)
        for e in m.enum_type:
            out[name + '.' + e.name] = ('enum', e)
    for f in fds.file:
        if f.name not in wanted_files:
            continue
        pkg = '.' + f.package if f.package else ''
        for m in f.message_type:
            walk_msg(pkg, m)
        for e in f.enum_type:
            out[pkg + '.' + e.name] = ('enum', e)
        for s in f.service:
            out[pkg + '.' + s.name] = ('svc', s)
    return out


def map_entry_sig(fds, type_name):
    for f in fds.file:
        pkg = '.' + f.package
        def find(prefix, msgs):
            for m in msgs:
                if prefix + '.' + m.name == type_name:
                    return m
                r = find(prefix + '.' + m.name, m.nested_type)
                if r:
                    return r
        m = find(pkg, f.message_type)
        if m:
            return m
    return None


def compare(up, ours, up_fds, our_fds, problems, allowed_hits):
    def note(msg):
        (allowed_hits if msg in ALLOWED else problems).append(msg)
    for name, (kind, u) in sorted(up.items()):
        if name not in ours:
            note('%s: missing (%s)' % (name[1:], kind))
            continue
        okind, o = ours[name]
        if okind != kind:
            note('%s: kind %s vs %s' % (name[1:], kind, okind))
            continue
        if kind == 'msg':
            ofields = {f.number: f for f in o.field}
            for f in u.field:
                of = ofields.pop(f.number, None)
                where = '%s.%s' % (name[1:], f.name)
                if of is None:
                    note('%s: field %d missing' % (where, f.number))
                    continue
                if of.name != f.name:
                    note('%s: name %s -> %s' % (where, f.name, of.name))
                for attr in ('label', 'type', 'type_name'):
                    if getattr(f, attr) != getattr(of, attr):
                        note('%s: %s %r vs %r' % (where, attr, getattr(f, attr), getattr(of, attr)))
                if f.HasField('oneof_index') != of.HasField('oneof_index'):
                    note('%s: oneof membership differs' % where)
            for num, of in ofields.items():
                note('%s.%s: extra field %d' % (name[1:], of.name, num))
        elif kind == 'enum':
            uv = {(v.name, v.number) for v in u.value}
            ov = {(v.name, v.number) for v in o.value}
            if uv != ov:
                note('%s: enum values differ: upstream-only %s ours-only %s' % (name[1:], sorted(uv - ov), sorted(ov - uv)))
        else:
            om = {m.name: m for m in o.method}
            for m in u.method:
                x = om.pop(m.name, None)
                if x is None:
                    note('%s/%s: method missing' % (name[1:], m.name))
                    continue
                for attr in ('input_type', 'output_type', 'client_streaming', 'server_streaming'):
                    if getattr(m, attr) != getattr(x, attr):
                        note('%s/%s: %s %r vs %r' % (name[1:], m.name, attr, getattr(m, attr), getattr(x, attr)))
            for mname in om:
                note('%s/%s: extra method' % (name[1:], mname))
    for name in sorted(set(ours) - set(up)):
        note('%s: extra %s' % (name[1:], ours[name][0]))


def check_ttrpc(problems):
    src = open(GOSRC + '/github.com/containerd/ttrpc/types.go').read()
    fds = descriptor_set([OURS, '/usr/include'], ['ttrpc/ttrpc.proto'])
    ours = index(fds, {'ttrpc/ttrpc.proto'})
    # Go field type -> descriptor type: string 9, []byte 12, message 11, int64 3.
    gotype = {'string': 9, '[]byte': 12, 'int64': 3}
    n = 0
    for struct, body in re.findall(r'type (\w+) struct \{(.*?)\n\}', src, re.S):
        for gtype, tag in re.findall(r'\w+\s+(\S+)\s+`protobuf:"([^"]+)"`', body):
            wire, num, lab, fname = tag.split(',')[:4]
            fname = fname.split('=')[1]
            want = gotype.get(gtype.lstrip('[]*') if gtype != '[]byte' else gtype, 11)
            msg = ours.get('.ttrpc.' + struct)
            f = msg and {x.number: x for x in msg[1].field}.get(int(num))
            n += 1
            if f is None or f.name != fname or f.type != want or \
               (lab == 'rep') != (f.label == f.LABEL_REPEATED):
                problems.append('ttrpc.%s.%s (%s %s): differs from Go tag' % (struct, fname, gtype, tag))
    return n


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--cri-upstream', help='an upstream k8s.io/cri-api runtime/v1/api.proto')
    ap.add_argument('--ours', help='our proto/ directory (default: this checkout)')
    args = ap.parse_args()
    global OURS
    OURS = args.ours or OURS
    if not os.path.isdir(CTRD + '/api'):
        print('SKIP: upstream references not installed (golang-github-containerd-containerd-dev)')
        return 77
    problems, allowed = [], []
    up_files = [u for u, _ in PAIRS]
    up_fds = descriptor_set(UPSTREAM_INCLUDES, up_files)
    our_fds = descriptor_set([OURS, '/usr/include'], [o for _, o in PAIRS])
    up = index(up_fds, {u for u, _ in PAIRS})
    ours = index(our_fds, {o for _, o in PAIRS})
    compare(up, ours, up_fds, our_fds, problems, allowed)
    print('containerd/cgroups/google.rpc: %d upstream definitions compared over %d files' % (len(up), len(PAIRS)))
    n = check_ttrpc(problems)
    print('ttrpc: %d Go struct tags compared' % n)
    if args.cri_upstream:
        d = tempfile.mkdtemp()
        os.makedirs(d + '/cri/runtime/v1')
        txt = re.sub(r',?\s*debug_redact\s*=\s*true', '', open(args.cri_upstream).read())
        txt = txt.replace('[]', '')
        open(d + '/cri/runtime/v1/api.proto', 'w').write(txt)
        ufd = descriptor_set([d, '/usr/include'], ['cri/runtime/v1/api.proto'])
        ofd = descriptor_set([OURS, '/usr/include'], ['cri/runtime/v1/api.proto'])
        u, o = index(ufd, {'cri/runtime/v1/api.proto'}), index(ofd, {'cri/runtime/v1/api.proto'})
        compare(u, o, ufd, ofd, problems, allowed)
        print('cri: %d upstream definitions compared' % len(u))
    for a in allowed:
        print('allowed (documented, not on the wire): ' + a)
    for p in problems:
        print('MISMATCH: ' + p)
    print('RESULT: %s (%d mismatches)' % ('OK' if not problems else 'FAIL', len(problems)))
    return 1 if problems else 0


if __name__ == '__main__':
    sys.exit(main())
