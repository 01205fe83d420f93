#!/usr/bin/python3
"""Prints one line per entry of the trees given (sorted paths): type, mode, owner, size,
content hash, link target, device, xattrs (trusted.* included), hardlink group and mtime
(for directories only when --dir-mtimes). Two unpacks are identical when the outputs are.
Usage: tree_manifest.py [--dir-mtimes] DIR...
"""
import hashlib
import os
import stat
import sys

args = sys.argv[1:]
dir_mtimes = "--dir-mtimes" in args
for root in [a for a in args if a != "--dir-mtimes"]:
    inodes = {}
    paths = [root]
    for base, dirs, files in os.walk(root):
        for n in dirs + files:
            paths.append(os.path.join(base, n))
    print("== tree")
    for p in sorted(paths):
        st = os.lstat(p)
        rel = os.path.relpath(p, root)
        kind = stat.S_IFMT(st.st_mode)
        extra = ""
        if stat.S_ISREG(kind):
            with open(p, "rb") as f:
                extra = hashlib.sha256(f.read()).hexdigest()
        elif stat.S_ISLNK(kind):
            extra = "-> " + os.readlink(p)
        elif stat.S_ISCHR(kind) or stat.S_ISBLK(kind):
            extra = "dev %d,%d" % (os.major(st.st_rdev), os.minor(st.st_rdev))
        xa = []
        try:
            for k in sorted(os.listxattr(p, follow_symlinks=False)):
                xa.append("%s=%r" % (k, os.getxattr(p, k, follow_symlinks=False)))
        except OSError:
            pass
        link = ""
        if not stat.S_ISDIR(kind) and st.st_nlink > 1:
            link = "hardlink:" + inodes.setdefault(st.st_ino, rel)
        # A root the layer does not list gets the time of the apply: never compared.
        # So does an overlay whiteout (a 0/0 char device the applier makes, not the tar).
        whiteout = stat.S_ISCHR(kind) and st.st_rdev == 0
        show = not whiteout and (not stat.S_ISDIR(kind) or (dir_mtimes and rel != "."))
        mtime = str(st.st_mtime_ns) if show else ""
        print(rel, oct(st.st_mode), st.st_uid, st.st_gid, st.st_size if not stat.S_ISDIR(kind) else "",
              extra, " ".join(xa), link, mtime)
