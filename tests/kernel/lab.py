"""Boot Debian's own Linux 6.1 kernel in QEMU (TCG) with LIO, run a script in it, collect files.

The guest gets the host's /usr and /etc over virtio-9p (read-only, with tmpfs overlays, so the
real targetcli, open-iscsi and Debian's python3 run inside), this checkout at /src and the
exporter's pure-Python dependencies at /site. A script in /xchg runs as PID 1's child; its
outputs land in /xchg/out, read on the host after the guest powers off. KVM is not usable on
this machine (see shared/reference/lio-in-qemu/NOTES.md), so everything runs under TCG: every
step has a timeout.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
CACHE = HERE / ".cache"
GUEST = HERE / "guest"

# Modules the guest loads at boot (with their dependencies): 9p for the shared userland, LIO
# core and backends, the loopback and iSCSI fabrics, the iSCSI initiator and brd for a RAM
# block device behind the iblock backstore.
MODULES = (
    "virtio_pci", "virtio_rng", "9pnet_virtio", "9p", "overlay", "configfs", "crc32c_generic",
    "target_core_mod", "target_core_file", "target_core_iblock", "target_core_pscsi", "tcm_loop",
    "iscsi_target_mod", "sd_mod", "iscsi_tcp", "brd",
)  # fmt: skip

# Runtime dependencies the exporter imports (rtslib-fb only for --check: not needed here).
GUEST_DEPS = ("prometheus-client", "aiohttp", "PyYAML", "psutil", "pyudev", "bcrypt", "aiofiles")


class LabError(RuntimeError):
    """The real-kernel lab could not be prepared or run."""


def _run(
    cmd: list[str], timeout: float, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    try:
        r = subprocess.run(
            cmd, capture_output=True, text=True, timeout=timeout, check=False, cwd=cwd
        )
    except subprocess.TimeoutExpired as exc:
        raise LabError(f"timed out after {timeout}s: {' '.join(cmd)}") from exc
    except FileNotFoundError as exc:
        raise LabError(f"{cmd[0]} is missing (make test installs it): {exc}") from exc
    if r.returncode != 0:
        raise LabError(f"{' '.join(cmd)} failed ({r.returncode}): {r.stderr[-2000:]}")
    return r


def kernel_package() -> str:
    r = subprocess.run(
        ["apt-cache", "depends", "linux-image-amd64"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    for line in r.stdout.splitlines():
        dep = line.strip().removeprefix("Depends: ")
        if dep.startswith("linux-image-6.1"):
            return dep
    raise LabError("apt-cache names no linux-image-6.1 package behind linux-image-amd64")


def current_kernel_package() -> str:
    """kernel_package(), refreshing the package lists once if they name none (not fetched
    yet on this machine)."""
    try:
        return kernel_package()
    except LabError:
        _run(["apt-get", "update", "-qq"], 600)
        return kernel_package()


@dataclass(frozen=True)
class Kernel:
    version: str
    root: Path  # unpacked package: boot/vmlinuz-*, lib/modules/<version>

    @property
    def vmlinuz(self) -> Path:
        return self.root / "boot" / f"vmlinuz-{self.version}"

    @property
    def modules(self) -> Path:
        return self.root / "lib" / "modules"


def prepare_kernel(lists_refreshed: bool = False) -> Kernel:
    """Download and unpack the kernel package into the cache (never into /boot)."""
    pkg = current_kernel_package()
    version = pkg.removeprefix("linux-image-")
    root = CACHE / "kernel" / version
    k = Kernel(version, root)
    if k.vmlinuz.exists() and (k.modules / version / "modules.dep").exists():
        return k
    debs = CACHE / "deb"
    debs.mkdir(parents=True, exist_ok=True)
    if not list(debs.glob(f"{pkg}_*.deb")):
        try:
            _run(["apt-get", "download", pkg], 600, cwd=debs)
        except LabError:
            if lists_refreshed:
                raise
            # stale lists: a security update replaced the package on the mirror
            _run(["apt-get", "update", "-qq"], 600)
            return prepare_kernel(lists_refreshed=True)
    (deb,) = debs.glob(f"{pkg}_*.deb")
    shutil.rmtree(root, ignore_errors=True)
    root.mkdir(parents=True)
    _run(["dpkg-deb", "-x", str(deb), str(root)], 300)
    _run(["depmod", "-b", str(root), version], 300)
    return k


def prepare_initramfs(k: Kernel) -> Path:
    out = CACHE / f"initramfs-{k.version}.cpio.gz"
    stamp = (GUEST / "init").read_bytes() + " ".join(MODULES).encode()
    stamp_file = out.with_suffix(".stamp")
    if out.exists() and stamp_file.exists() and stamp_file.read_bytes() == stamp:
        return out
    tree = CACHE / "initramfs"
    shutil.rmtree(tree, ignore_errors=True)
    for d in ("bbin", "kmod", "dev", "proc", "sys", "etc", "tmp", "run", "var", "root", "mnt"):
        (tree / d).mkdir(parents=True)
    shutil.copy2("/bin/busybox", tree / "bbin" / "busybox")
    applets = _run(["/bin/busybox", "--list"], 30).stdout.split()
    for a in applets:
        if a != "busybox":  # a self-link would replace the binary (ELOOP at boot)
            (tree / "bbin" / a).symlink_to("busybox")
    for d in ("bin", "sbin", "lib", "lib64"):
        (tree / d).symlink_to(f"usr/{d}")
    shutil.copy2(GUEST / "init", tree / "init")
    (tree / "init").chmod(0o755)
    mods: list[str] = []
    for m in MODULES:
        deps = _run(
            ["modprobe", "-d", str(k.root), "-S", k.version, "--show-depends", m], 60
        ).stdout
        for line in deps.splitlines():
            parts = line.split()
            if parts and parts[0] == "insmod" and parts[1] not in mods:
                mods.append(parts[1])
    prefix = str(k.modules / k.version) + "/"
    with open(tree / "kmod" / "load.list", "w") as f:
        for ko in mods:
            rel = ko.removeprefix(prefix)
            dst = tree / "kmod" / rel
            dst.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ko, dst)
            f.write(rel + "\n")
    # device nodes need root: busybox cpio records them from the tree
    _run(["mknod", "-m", "600", str(tree / "dev" / "console"), "c", "5", "1"], 10)
    _run(["mknod", "-m", "666", str(tree / "dev" / "null"), "c", "1", "3"], 10)
    listing = _run(["find", "."], 60, cwd=tree).stdout
    cpio = subprocess.run(
        ["/bin/busybox", "cpio", "-o", "-H", "newc"],
        input=listing.encode(),
        capture_output=True,
        cwd=tree,
        timeout=120,
        check=True,
    ).stdout
    tmp = out.with_suffix(".tmp")
    with open(tmp, "wb") as f:
        f.write(
            subprocess.run(
                ["gzip", "-1"], input=cpio, capture_output=True, check=True, timeout=120
            ).stdout
        )
    os.replace(tmp, out)
    stamp_file.write_bytes(stamp)
    return out


def guest_python_version() -> str:
    """Major.minor of Debian's /usr/bin/python3, which the guest runs (it sees the host's /usr)."""
    out = _run(["/usr/bin/python3", "-c", "import sys; print('%d.%d' % sys.version_info[:2])"], 60)
    return out.stdout.strip()


def prepare_site() -> Path:
    """The exporter's dependencies for the guest's Debian python3, pinned to the versions in
    this virtualenv, as wheels for that interpreter's version (this venv may be another)."""
    site = CACHE / "guest-site"
    pyver = guest_python_version()
    wanted = [f"# python {pyver}"]
    for name in GUEST_DEPS:
        r = subprocess.run(
            [sys.executable, "-m", "pip", "show", name], capture_output=True, text=True, check=False
        )
        version = next(
            (
                ln.split(":", 1)[1].strip()
                for ln in r.stdout.splitlines()
                if ln.startswith("Version:")
            ),
            None,
        )
        wanted.append(f"{name}=={version}" if version else name)
    stamp = site / ".wanted"
    if stamp.exists() and stamp.read_text() == "\n".join(wanted):
        return site
    shutil.rmtree(site, ignore_errors=True)
    _run(
        [
            sys.executable, "-m", "pip", "install", "--quiet", "--target", str(site),
            "--python-version", pyver, "--only-binary=:all:", *wanted[1:],
        ],
        900,
    )  # fmt: skip
    stamp.write_text("\n".join(wanted))
    return site


@dataclass
class GuestRun:
    qemu_rc: int
    guest_rc: int | None
    wall_s: float
    console: str
    out: Path  # the guest's /xchg/out


def run_in_guest(
    script: Path, workdir: Path, timeout: float = 420, smp: int = 2, mem_mb: int = 1024
) -> GuestRun:
    """Boot once, run `script` (copied to /xchg/cmd.sh) as root, return its results."""
    if shutil.which("qemu-system-x86_64") is None:
        raise LabError("qemu-system-x86_64 is missing (make test installs qemu-system-x86)")
    k = prepare_kernel()
    initrd = prepare_initramfs(k)
    site = prepare_site()
    xchg = workdir / "xchg"
    shutil.rmtree(xchg, ignore_errors=True)
    (xchg / "out").mkdir(parents=True)
    for f in GUEST.iterdir():
        if f.is_file() and f.name != "init":
            shutil.copy2(f, xchg / f.name)
    shutil.copy2(script, xchg / "cmd.sh")
    console = workdir / "console.log"
    guest_timeout = int(timeout - 30)

    def share(path: Path | str, tag: str, ro: bool = True) -> list[str]:
        opts = f"local,path={path},mount_tag={tag},security_model=none,multidevs=remap"
        return ["-virtfs", opts + (",readonly=on" if ro else "")]

    cmd = [
        "qemu-system-x86_64",
        "-nodefaults",
        "-no-user-config",
        "-display",
        "none",
        "-no-reboot",
        "-M",
        "pc",
        "-accel",
        "tcg,thread=multi",
        "-cpu",
        "max",
        "-m",
        str(mem_mb),
        "-smp",
        str(smp),
        "-kernel",
        str(k.vmlinuz),
        "-initrd",
        str(initrd),
        "-append",
        f"console=ttyS0 panic=-1 loglevel=4 rdinit=/init lab.timeout={guest_timeout}",
        "-serial",
        f"file:{console}",
        "-device",
        "virtio-rng-pci",
        *share("/usr", "hostusr"),
        *share("/etc", "hostetc"),
        *share(k.modules, "modules"),
        *share(REPO, "src"),
        *share(site, "site"),
        *share(xchg, "xchg", ro=False),
    ]
    t0 = time.monotonic()
    try:
        q = subprocess.run(
            cmd,
            capture_output=True,
            text=True,
            timeout=timeout,
            stdin=subprocess.DEVNULL,
            check=False,
        )
        qemu_rc = q.returncode
    except subprocess.TimeoutExpired:
        qemu_rc = -9
    wall = time.monotonic() - t0
    rc_file = xchg / "rc"
    guest_rc = int(rc_file.read_text().strip()) if rc_file.exists() else None
    text = console.read_text(errors="replace") if console.exists() else ""
    return GuestRun(qemu_rc, guest_rc, wall, text, xchg / "out")
