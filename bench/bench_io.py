"""Why collectors read their files in one worker-thread batch (`make bench`).

Creates N small files (sysfs-sized: a few bytes each) and reads them three ways from asyncio:
1. aiofiles, one file after another (each open/read/close is a thread hop);
2. one `asyncio.to_thread` call that reads all files with plain os calls;
3. aiofiles with `asyncio.gather` over all files at once (opens them all concurrently).
It also measures how long the event loop is blocked meanwhile (max gap of a 1 ms ticker), the
thing that would starve the kmsg follower.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import tempfile
import time
from collections.abc import Awaitable, Callable

import aiofiles


def make_files(root: str, n: int) -> list[str]:
    paths = []
    for i in range(n):
        d = os.path.join(root, f"d{i // 500}")
        os.makedirs(d, exist_ok=True)
        p = os.path.join(d, f"f{i}")
        with open(p, "w") as f:
            f.write(f"{i}\n")
        paths.append(p)
    return paths


async def aiofiles_sequential(paths: list[str]) -> int:
    total = 0
    for p in paths:
        async with aiofiles.open(p, "rb") as f:
            total += len(await f.read())
    return total


def _read_all(paths: list[str]) -> int:
    total = 0
    for p in paths:
        fd = os.open(p, os.O_RDONLY)
        try:
            total += len(os.read(fd, 65536))
        finally:
            os.close(fd)
    return total


async def thread_batch(paths: list[str]) -> int:
    return await asyncio.to_thread(_read_all, paths)


async def aiofiles_gather(paths: list[str]) -> int:
    async def one(p: str) -> int:
        async with aiofiles.open(p, "rb") as f:
            return len(await f.read())

    return sum(await asyncio.gather(*(one(p) for p in paths)))


async def measure(fn: Callable[[list[str]], Awaitable[int]], paths: list[str]) -> str:
    gaps = [0.0]
    stop = False

    async def ticker() -> None:
        last = time.perf_counter()
        while not stop:
            await asyncio.sleep(0.001)
            now = time.perf_counter()
            gaps[0] = max(gaps[0], now - last)
            last = now

    t = asyncio.ensure_future(ticker())
    t0 = time.perf_counter()
    try:
        await fn(paths)
        result = f"{time.perf_counter() - t0:8.3f} s   max loop stall {gaps[0] * 1e3:6.1f} ms"
    except OSError as exc:
        result = f"failed: {exc.strerror} (errno {exc.errno})"
    stop = True
    await t
    return result


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--files", type=int, default=20000)
    opts = ap.parse_args()
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    with tempfile.TemporaryDirectory(prefix="fctarget-bench-io-") as root:
        paths = make_files(root, opts.files)
        print(f"{opts.files} files, RLIMIT_NOFILE soft limit {soft}")
        for name, fn in (
            ("aiofiles one by one", aiofiles_sequential),
            ("one to_thread batch", thread_batch),
            ("aiofiles + gather", aiofiles_gather),
        ):
            print(f"  {name:22} {asyncio.run(measure(fn, paths))}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
