"""What the property-based fuzz tests (tests/test_fuzz_*.py) share.

The contract every parser module states (docs/DESIGN.md): bytes/str in, a result out, garbage
raises `ValueError` and nothing else, in time linear in the input. Each fuzz test feeds a parser
three kinds of input: hypothesis' own text/bytes, real inputs (tests/fixtures and the
simulator's formats) with hostile edits spliced in, and for each drawn example `FANOUT` cheap
mutations of it (truncations, a byte flipped, a hostile token inserted), so that the long run
reaches a million inputs per parser without a million hypothesis examples.

Profiles: `ci` (the default, `make test`: derandomized, so every run sees the same inputs, and
small enough for all the fuzz tests together to stay well under a minute) and `fuzz`
(`make fuzz`, `FCTARGET_FUZZ=1`: `FUZZ_EXAMPLES` examples per test, random seeds). With
`FUZZ_REPORT=<file>`, the number of inputs each parser saw is appended to that file at exit.
"""

from __future__ import annotations

import atexit
import contextlib
import dataclasses
import functools
import os
import random
import shutil
import tempfile
import time
import zlib
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

FIXTURES = Path(__file__).parent / "fixtures"
LONG_RUN = bool(os.environ.get("FCTARGET_FUZZ"))

settings.register_profile(
    "ci",
    max_examples=int(os.environ.get("FUZZ_CI_EXAMPLES", "400")),
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.register_profile(
    "fuzz",
    max_examples=int(os.environ.get("FUZZ_EXAMPLES", "20000")),
    derandomize=False,
    deadline=None,
    database=None,
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.filter_too_much,
        HealthCheck.large_base_example,
    ],
)
PROFILE = settings.get_profile("fuzz" if LONG_RUN else "ci")
FANOUT = int(os.environ.get("FUZZ_FANOUT", "50" if LONG_RUN else "8"))

# A parser given 1 MB must be done within this (a quadratic one takes minutes).
LINEAR_BUDGET = 2.0
MB = 1 << 20

# Spliced into real inputs: what the tracker's reports were made of, and the usual suspects.
HOSTILE: tuple[str, ...] = (
    "9" * 400,
    "7" * 5000,
    "18446744073709551616",
    "-1",
    "0x",
    "0x" + "f" * 17,
    "\xff",
    "\udcff",
    "\x00",
    "\n",
    "\r",
    " ",
    "  ",
    "\t",
    ",",
    "-",
    ":",
    "*",
    "²",
    "١",
    "Size: ",
    "File: ",
    "  Size: ",
    " Gbit",
    "0-65535",
    "CPU",
    "lun_",
    "host",
    "qla2xxx ",
    "+i+",
    "\\x",
    "é",
)

COUNTS: Counter[str] = Counter()


def _report() -> None:
    path = os.environ.get("FUZZ_REPORT")
    if path and COUNTS:
        with open(path, "a") as f:
            for name, n in sorted(COUNTS.items()):
                f.write(f"{name} {n}\n")


atexit.register(_report)


def fixture_texts(*globs: str) -> list[str]:
    """The text of the fixture files matching `globs` (under tests/fixtures), split into
    pieces of at most 4 KB so that a mutation lands somewhere interesting."""
    out: list[str] = []
    for pattern in globs:
        for path in sorted(FIXTURES.glob(pattern)):
            if path.is_file():
                text = path.read_bytes().decode("utf-8", "surrogateescape")
                out.extend(text[i : i + 4096] for i in range(0, len(text), 4096))
    return out


def dump_values(glob: str, name_suffixes: tuple[str, ...]) -> list[str]:
    """Attribute contents from the `path<TAB>content` dumps (tests/fixtures/fc_host, lio) whose
    path ends in one of `name_suffixes`."""
    out = []
    for path in sorted(FIXTURES.glob(glob)):
        for line in path.read_text(errors="surrogateescape").splitlines():
            name, tab, content = line.partition("\t")
            if tab and name.rstrip("/").endswith(name_suffixes) and not content.startswith("<"):
                out.append(content.replace("\\n", "\n") + "\n")
    return out


@functools.cache
def _sim_tree() -> dict[str, str]:
    from exporter.simulate import SimParams, SimulatedHost

    root = tempfile.mkdtemp(prefix="fuzz-sim-")
    atexit.register(shutil.rmtree, root, True)
    host = SimulatedHost(root, SimParams(dynamic_sessions=1))
    host.build()
    host.advance(30.0)
    out = {}
    for dirpath, _dirs, files in os.walk(root):
        for f in files:
            full = os.path.join(dirpath, f)
            try:
                with open(full, "rb") as fh:
                    out[os.path.relpath(full, root)] = fh.read(1 << 20).decode(
                        "utf-8", "surrogateescape"
                    )
            except OSError:
                continue
    return out


def sim_values(*name_suffixes: str) -> list[str]:
    """Contents of the simulated host's files whose path ends in one of `name_suffixes`
    (the simulator writes the kernel's byte formats)."""
    tree = _sim_tree()
    return sorted({v for k, v in tree.items() if k.endswith(name_suffixes)})


def seeded(seeds: Sequence[str]) -> st.SearchStrategy[str]:
    """Real inputs with up to four hostile edits, or plain hypothesis text."""
    edit = st.tuples(
        st.floats(0, 1), st.sampled_from(("insert", "replace", "cut")), st.sampled_from(HOSTILE)
    )

    def apply(base: str, edits: list[tuple[float, str, str]]) -> str:
        for where, op, token in edits:
            i = int(where * len(base))
            if op == "insert":
                base = base[:i] + token + base[i:]
            elif op == "replace":
                base = base[:i] + token + base[i + len(token) :]
            else:
                base = base[:i]
        return base

    mutated = st.builds(apply, st.sampled_from(list(seeds)), st.lists(edit, max_size=4))
    return st.one_of(mutated, mutated, st.text(max_size=200))


def variants(text: str, seed: int) -> Iterator[str]:
    """`FANOUT` cheap mutations of `text`: truncations, a character changed, a token spliced."""
    rnd = random.Random(seed)
    for _ in range(FANOUT):
        n = len(text)
        i = rnd.randrange(n + 1)
        op = rnd.randrange(4)
        if op == 0:
            yield text[:i]
        elif op == 1 and n:
            yield text[:i] + chr(rnd.choice((0, 9, 10, 32, 45, 48, 57, 0xFF, 0xDCFF))) + text[i:]
        elif op == 2:
            yield text[:i] + rnd.choice(HOSTILE) + text[i:]
        else:
            yield text[i:] + text[:i]


def float_safe(value: object, depth: int = 0) -> None:
    """Every number in a result must survive float(): the exposition converts them all."""
    if depth > 4:
        return
    if isinstance(value, bool):
        return
    if isinstance(value, int | float):
        float(value)
    elif isinstance(value, tuple | list | frozenset | set):
        for v in value:
            float_safe(v, depth + 1)
    elif isinstance(value, dict):
        for v in value.values():
            float_safe(v, depth + 1)
    elif dataclasses.is_dataclass(value) and not isinstance(value, type):
        for f in dataclasses.fields(value):
            float_safe(getattr(value, f.name), depth + 1)


def contract(name: str, fn: Callable[[str], object], text: str, *, may_raise: bool = True) -> None:
    """Call `fn(text)`: only ValueError may escape (none where `may_raise` is False), and the
    numbers in its result are floats' range."""
    COUNTS[name] += 1
    try:
        result = fn(text)
    except ValueError:
        if not may_raise:
            raise
        return
    float_safe(result)


def fan(name: str, fn: Callable[[str], object], text: str, *, may_raise: bool = True) -> None:
    """`contract` on `text` and on its `variants`."""
    contract(name, fn, text, may_raise=may_raise)
    for v in variants(text, zlib.crc32(text.encode("utf-8", "surrogatepass"))):
        contract(name, fn, v, may_raise=may_raise)


def linear(fn: Callable[[str], object], filler: str, prefix: str = "", suffix: str = "") -> float:
    """Seconds `fn` takes on about 1 MB: `prefix` + `filler` repeated + `suffix`; asserts the
    fixed budget (a quadratic parser takes minutes on this, a linear one milliseconds)."""
    text = prefix + filler * (MB // max(1, len(filler))) + suffix
    start = time.perf_counter()
    with contextlib.suppress(ValueError):
        fn(text)
    elapsed = time.perf_counter() - start
    assert elapsed < LINEAR_BUDGET, f"{elapsed:.2f} s for 1 MB of {filler[:20]!r}"
    return elapsed
