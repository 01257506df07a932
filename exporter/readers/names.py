"""Directory-entry names as label values: always valid UTF-8, escaped rather than dropped.

Linux names are bytes; Python hands a name that is not UTF-8 over with its bad bytes as lone
surrogates (PEP 383 `surrogateescape`), which the exposition cannot encode. Readers pass every
name that becomes a label through `label_name`: a bad byte becomes the four characters `\\xNN`
(`disk\\xff`), the rest of the name is kept, and the reader counts the name so that the
collector's `*_escaped_names_total` says it happened. Files are still opened by the raw name.
"""

from __future__ import annotations


def label_name(name: str) -> tuple[str, bool]:
    """`name` made valid UTF-8, and whether it had to be escaped."""
    if name.isascii():
        return name, False
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        pass
    else:
        return name, False
    try:
        raw = name.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:  # a surrogate no file system decode produces
        return name.encode("utf-8", "backslashreplace").decode("utf-8"), True
    return raw.decode("utf-8", "backslashreplace"), True
