"""argparse types for numeric flags: a NaN, an infinity or a value out of range is one clear
error line (exit 2) instead of a busy loop or a timer that never fires."""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable


def seconds(*, allow_zero: bool) -> Callable[[str], float]:
    """A finite number of seconds, > 0 (or >= 0 with `allow_zero`)."""
    bound = "zero or more" if allow_zero else "more than zero"

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
        if not math.isfinite(value) or value < 0 or (value == 0 and not allow_zero):
            raise argparse.ArgumentTypeError(f"{text!r}: seconds must be finite and {bound}")
        return value

    parse.__name__ = "seconds"  # argparse names the type in its messages
    return parse


positive_seconds = seconds(allow_zero=False)
nonnegative_seconds = seconds(allow_zero=True)


def count(text: str) -> int:
    """A whole number, 0 or more."""
    if not text.strip().isdigit():
        raise argparse.ArgumentTypeError(f"{text!r}: expected a whole number, 0 or more")
    return int(text)
