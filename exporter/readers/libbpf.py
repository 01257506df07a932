"""A minimal ctypes binding of libbpf.so.1 (Debian package libbpf1, >= 1.0: error returns are
-errno and NULL with errno set): open a compiled CO-RE object, set map bounds, load it (libbpf
relocates it against the running kernel's BTF, module BTF included), attach its programs by
their section names, read its maps, detach and close.

No Python dependency: the exporter loads libbpf only when the scsi_latency collector is enabled.
"""

from __future__ import annotations

import ctypes
import errno
import os
from collections.abc import Iterator

LIBBPF = "libbpf.so.1"


class BpfError(OSError):
    """A libbpf call failed; `errno` is set, `what` names the step."""

    def __init__(self, err: int, what: str) -> None:
        super().__init__(err, f"{what}: {os.strerror(err)}")
        self.what = what


_cache: dict[str, ctypes.CDLL] = {}


def library() -> ctypes.CDLL:
    """libbpf.so.1, loaded once; OSError when it is not installed."""
    if LIBBPF not in _cache:
        lib = ctypes.CDLL(LIBBPF, use_errno=True)
        vp, ci, cp, sz = ctypes.c_void_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_size_t
        sigs: dict[str, tuple[object, list[object]]] = {
            "bpf_object__open_file": (vp, [cp, vp]),
            "bpf_object__load": (ci, [vp]),
            "bpf_object__close": (None, [vp]),
            "bpf_object__next_program": (vp, [vp, vp]),
            "bpf_program__attach": (vp, [vp]),
            "bpf_program__name": (cp, [vp]),
            "bpf_program__fd": (ci, [vp]),
            "bpf_link__destroy": (ci, [vp]),
            "bpf_object__find_map_by_name": (vp, [vp, cp]),
            "bpf_map__fd": (ci, [vp]),
            "bpf_map__set_max_entries": (ci, [vp, ctypes.c_uint32]),
            "bpf_map__key_size": (ctypes.c_uint32, [vp]),
            "bpf_map__value_size": (ctypes.c_uint32, [vp]),
            "bpf_map_get_next_key": (ci, [ci, vp, vp]),
            "bpf_map_lookup_elem": (ci, [ci, vp, vp]),
            "libbpf_set_print": (vp, [vp]),
            "libbpf_major_version": (ctypes.c_uint32, []),
            "libbpf_minor_version": (ctypes.c_uint32, []),
        }
        for name, (res, args) in sigs.items():
            fn = getattr(lib, name)
            fn.restype, fn.argtypes = res, args
        del sz
        _cache[LIBBPF] = lib
    return _cache[LIBBPF]


def version() -> tuple[int, int]:
    lib = library()
    return int(lib.libbpf_major_version()), int(lib.libbpf_minor_version())


def _errno(rc: int | None = None) -> int:
    if rc is not None and rc < 0:
        return -rc
    return ctypes.get_errno() or errno.EINVAL


# libbpf's log callback: int (*)(enum libbpf_print_level, const char *fmt, va_list) — the
# va_list cannot be formatted from Python, so the loader keeps libbpf quiet and reports errno.
_PRINT = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_int, ctypes.c_char_p, ctypes.c_void_p)


def _silent_print(level: int, fmt: bytes, args: int) -> int:
    return 0


_silent = _PRINT(_silent_print)


class BpfObject:
    """One opened object file; `load()`, `attach_all()`, read maps, `close()`."""

    def __init__(self, path: str, quiet: bool = True) -> None:
        self.lib = library()
        if quiet:
            self.lib.libbpf_set_print(ctypes.cast(_silent, ctypes.c_void_p))
        ctypes.set_errno(0)
        obj = self.lib.bpf_object__open_file(os.fsencode(path), None)
        if not obj:
            raise BpfError(_errno(), f"open {path}")
        self.obj: int | None = obj
        self.links: list[int] = []

    def map_ptr(self, name: str) -> int:
        m = self.lib.bpf_object__find_map_by_name(self.obj, name.encode())
        if not m:
            raise BpfError(errno.ENOENT, f"map {name}")
        return int(m)

    def set_max_entries(self, name: str, n: int) -> None:
        rc = self.lib.bpf_map__set_max_entries(self.map_ptr(name), n)
        if rc < 0:
            raise BpfError(-rc, f"max_entries of {name}")

    def load(self) -> None:
        ctypes.set_errno(0)
        rc = self.lib.bpf_object__load(self.obj)
        if rc < 0:
            raise BpfError(_errno(rc), "load")

    def programs(self) -> Iterator[tuple[str, int]]:
        prog = self.lib.bpf_object__next_program(self.obj, None)
        while prog:
            yield self.lib.bpf_program__name(prog).decode(), int(prog)
            prog = self.lib.bpf_object__next_program(self.obj, prog)

    def attach_all(self) -> list[str]:
        """Attach every program (tp_btf/<event> from its section name); names attached."""
        names = []
        for name, prog in self.programs():
            ctypes.set_errno(0)
            link = self.lib.bpf_program__attach(prog)
            if not link:
                raise BpfError(_errno(), f"attach {name}")
            self.links.append(int(link))
            names.append(name)
        return names

    def program_ids(self) -> list[int]:
        """Kernel ids of the loaded programs (as bpftool prog list shows them)."""
        ids = []
        for _name, prog in self.programs():
            fd = self.lib.bpf_program__fd(prog)
            if fd >= 0:
                ids.append(_prog_id(fd))
        return ids

    def dump(self, name: str, limit: int) -> list[tuple[bytes, bytes]]:
        """Every (key, value) of a map (at most `limit`), raw bytes."""
        m = self.map_ptr(name)
        fd = self.lib.bpf_map__fd(m)
        ksz, vsz = self.lib.bpf_map__key_size(m), self.lib.bpf_map__value_size(m)
        key, nxt, val = (ctypes.create_string_buffer(n) for n in (ksz, ksz, vsz))
        out: list[tuple[bytes, bytes]] = []
        prev = None
        while len(out) < limit:
            rc = self.lib.bpf_map_get_next_key(fd, prev, nxt)
            if rc < 0:
                if -rc == errno.ENOENT:
                    break
                raise BpfError(-rc, f"iterate {name}")
            ctypes.memmove(key, nxt, ksz)
            prev = key
            rc = self.lib.bpf_map_lookup_elem(fd, key, val)
            if rc == 0:  # else deleted between the two calls
                out.append((key.raw, val.raw))
        return out

    def close(self) -> None:
        """Detach (destroy the links) and free the object; idempotent."""
        links, self.links = self.links, []
        for link in links:
            self.lib.bpf_link__destroy(link)
        obj, self.obj = self.obj, None
        if obj:
            self.lib.bpf_object__close(obj)


class _ProgInfo(ctypes.Structure):
    _fields_ = [("type", ctypes.c_uint32), ("id", ctypes.c_uint32), ("rest", ctypes.c_ubyte * 216)]


def _prog_id(fd: int) -> int:
    lib = library()
    fn = lib.bpf_obj_get_info_by_fd
    fn.restype = ctypes.c_int
    fn.argtypes = [ctypes.c_int, ctypes.c_void_p, ctypes.POINTER(ctypes.c_uint32)]
    info = _ProgInfo()
    size = ctypes.c_uint32(ctypes.sizeof(info))
    if fn(fd, ctypes.byref(info), ctypes.byref(size)) < 0:
        return -1
    return int(info.id)
