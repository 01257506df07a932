"""Dump a configfs tree as `path<TAB>content` lines (runs in the guest with Debian's python3).

Directories `path/<TAB><dir>`, symlinks `path<TAB>-> target`, unreadable files
`path<TAB><error NAME>`; newlines, tabs and backslashes escaped as in the reference capture.
"""

from __future__ import annotations

import errno
import os
import stat
import sys


def esc(s: str) -> str:
    s = s.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n")
    return "".join(c if c >= " " else f"\\x{ord(c):02x}" for c in s)


def main(root: str) -> None:
    out = sys.stdout
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        dirnames.sort()
        out.write(f"{dirpath}/\t<dir>\n")
        for name in sorted(dirnames + filenames):
            p = os.path.join(dirpath, name)
            st = os.lstat(p)
            if stat.S_ISLNK(st.st_mode):
                out.write(f"{p}\t-> {os.readlink(p)}\n")
            elif not stat.S_ISDIR(st.st_mode):
                try:
                    with open(p, "rb", buffering=0) as f:
                        txt = f.read(65536).decode("utf-8", "replace")
                    out.write(f"{p}\t{esc(txt.removesuffix(chr(10)))}\n")
                except OSError as e:
                    out.write(f"{p}\t<error {errno.errorcode.get(e.errno or 0, e.errno)}>\n")


if __name__ == "__main__":
    main(sys.argv[1])
