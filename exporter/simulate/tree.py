"""Writing the simulated tree: pooled files at build time, atomic replacement afterwards.

Paths are relative to the host root (`sys/...`, `proc/...`). Before `built` is set (the build),
files go through `write()`; afterwards `put()` replaces changed files atomically, so a reader
scanning the tree sees the old or the new content, never a partial one, and no temporary name
ever appears in a scanned directory (temporaries live under `<root>/.simtmp/`).
"""

from __future__ import annotations

import errno
import os
import shutil

_TOP_DIRS = ("proc", "sys", "dev", ".simtmp")


class Tree:
    """The files under one simulated host root and what was last written to each."""

    def __init__(self, root: str) -> None:
        self.root = root
        self.built = False
        self._tmpdir = os.path.join(root, ".simtmp")
        self._written: dict[str, str] = {}
        self._pool: dict[str, str] = {}
        self._tmp_seq = 0

    def abs(self, rel: str) -> str:
        return os.path.join(self.root, rel)

    def reset(self, dirs: tuple[str, ...]) -> None:
        """Remove an earlier tree, forget what it held, and create `dirs` (start of a build)."""
        for d in _TOP_DIRS:
            path = self.abs(d)
            if os.path.isdir(path):
                shutil.rmtree(path)
        self._written.clear()
        self._pool.clear()
        self.built = False
        for d in (*dirs, ".simtmp/pool"):
            self.mkdir(d)

    def write(self, rel: str, content: str) -> None:
        """Write a file at build time (no reader yet) and remember its content.

        Files with equal content are hard links to one pool file under `<root>/.simtmp/pool`:
        creating an inode costs ~20x a link on ext4, and a large host has ~100k small files,
        most of them `0` or `1`. Later changes never write in place (see `update`), so the
        shared inodes never change."""
        dst = self.abs(rel)
        src = self._pool.get(content)
        if src is not None:
            try:
                os.link(src, dst)
            except OSError as exc:
                if exc.errno != errno.EMLINK:
                    raise
            else:
                self._written[rel] = content
                return
        self._tmp_seq += 1
        src = os.path.join(self._tmpdir, "pool", f"p{self._tmp_seq}")
        write_file(src, content)
        os.link(src, dst)
        self._pool[content] = src
        self._written[rel] = content

    def write_special(self, rel: str, content: str, mode: int) -> None:
        """A file with its own inode and mode (write-only attributes)."""
        write_file(self.abs(rel), content)
        os.chmod(self.abs(rel), mode)

    def update(self, rel: str, content: str) -> None:
        """Atomically replace a file if its content changed (temp file outside the tree)."""
        if self._written.get(rel) == content:
            return
        self._tmp_seq += 1
        tmp = os.path.join(self._tmpdir, f"w{self._tmp_seq}")
        write_file(tmp, content)
        os.replace(tmp, self.abs(rel))
        self._written[rel] = content

    def put_bytes(self, rel: str, data: bytes, mode: int = 0o644) -> None:
        """A binary file (sysfs bin attributes), replaced atomically when its content changed."""
        key = "bytes:" + data.hex()
        if self._written.get(rel) == key:
            return
        self._tmp_seq += 1
        tmp = os.path.join(self._tmpdir, f"b{self._tmp_seq}")
        write_file(tmp, data)
        os.chmod(tmp, mode)
        os.replace(tmp, self.abs(rel))
        self._written[rel] = key

    def put(self, rel: str, content: str) -> None:
        if self.built:
            self.update(rel, content)
        else:
            self.write(rel, content)

    def mkdir(self, rel: str) -> None:
        os.makedirs(self.abs(rel), exist_ok=True)

    def files(self, rel_dir: str, files: dict[str, str]) -> None:
        self.mkdir(rel_dir)
        for name, content in files.items():
            self.put(f"{rel_dir}/{name}", content)

    def symlink(self, rel: str, target: str) -> None:
        path = self.abs(rel)
        if os.path.lexists(path):
            os.unlink(path)
        os.symlink(target, path)

    def unlink(self, rel: str) -> None:
        """Remove one file if it exists (a kernel attribute that went away)."""
        if os.path.lexists(self.abs(rel)):
            os.unlink(self.abs(rel))
        self._written.pop(rel, None)

    def remove(self, rel: str) -> None:
        """Remove a file or a whole directory and forget what it held."""
        path = self.abs(rel)
        if os.path.islink(path) or os.path.isfile(path):
            os.unlink(path)
        elif os.path.isdir(path):
            shutil.rmtree(path)
        prefix = rel + "/"
        for k in [k for k in self._written if k == rel or k.startswith(prefix)]:
            del self._written[k]


def write_file(path: str, content: str | bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        raw = content.encode("utf-8") if isinstance(content, str) else content
        data = memoryview(raw)
        while data:
            data = data[os.write(fd, data) :]
    finally:
        os.close(fd)
