#!/usr/bin/env python3
"""Pages and functions (and constants) of a traced binary (core/text_trace.h), for lld's
--symbol-ordering-file.

  hot_functions.py pages PID EXE > FILE       page addresses (file-relative) of EXE's code and
                                              constants that PID touched since it was traced
                                              (its one-page VMAs with a resident page: "Rss");
                                              PID may also be a saved smaps file
                                              (text_trace::SaveSmaps)
  hot_functions.py functions EXE FILE [SEEN]  the functions and constants on those pages, in
                                              address order, leaving out those on any page
                                              listed in SEEN

A function counts as used when any page it spans was: the list is a superset of what ran.
"""
import subprocess
import sys

PAGE = 4096


def elf_is_pie(exe):
    with open(exe, "rb") as f:
        header = f.read(18)
    return int.from_bytes(header[16:18], "little") == 3  # ET_DYN


def used_pages(pid, exe):
    """Touched pages of EXE's code in PID, as addresses relative to EXE's load base."""
    maps = []
    for line in open(pid if not pid.isdigit() else f"/proc/{pid}/smaps"):
        f = line.split()
        if "-" in f[0] and len(f) >= 5 and len(f[1]) == 4:
            lo, hi = (int(x, 16) for x in f[0].split("-"))
            maps.append({"lo": lo, "hi": hi, "perms": f[1], "offset": int(f[2], 16),
                         "path": f[5] if len(f) >= 6 else "", "rss": 0})
        elif f[0] == "Rss:" and maps:
            maps[-1]["rss"] = int(f[1])
    mine = [m for m in maps if m["path"] == exe]
    base = 0
    if elf_is_pie(exe):
        base = min(m["lo"] - m["offset"] for m in mine)
    used = set()
    for m in mine:
        # Tracing split the code and the constants into one-page VMAs; a larger one is
        # writable (data, RELRO) or was never split.
        if m["hi"] - m["lo"] == PAGE and "w" not in m["perms"] and m["rss"] > 0:
            used.add(m["lo"] - base)
    return used


def functions(exe, used, seen):
    nm = subprocess.run(["nm", "--defined-only", "-S", exe], capture_output=True, text=True,
                        check=True).stdout
    rows = sorted(line.split() for line in nm.splitlines() if len(line.split()) == 4)
    for addr, size, kind, name in rows:
        if kind not in "tTwWrRvV":  # code and read-only data (lld orders both)
            continue
        a, s = int(addr, 16), int(size, 16)
        pages = range(a & ~(PAGE - 1), a + max(s, 1), PAGE)
        if any(p in used for p in pages) and not any(p in seen for p in pages):
            print(name)


def read_pages(path):
    return {int(line, 16) for line in open(path) if line.strip()}


def main(argv):
    if len(argv) == 4 and argv[1] == "pages":
        for p in sorted(used_pages(argv[2], argv[3])):
            print(f"{p:x}")
    elif len(argv) in (4, 5) and argv[1] == "functions":
        functions(argv[2], read_pages(argv[3]), read_pages(argv[4]) if len(argv) == 5 else set())
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main(sys.argv)
