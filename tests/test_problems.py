"""The one error path: reader problems keep their key scheme and their origin into the log."""

from __future__ import annotations

import errno
import inspect
import io
import logging

from exporter.collector import Output
from exporter.logsetup import LogfmtFormatter, RateLimitedLog
from exporter.readers.problems import Problems


def _log_to(stream: io.StringIO) -> logging.Logger:
    logger = logging.getLogger("fctarget_exporter.test_problems")
    logger.handlers[:] = []
    handler = logging.StreamHandler(stream)
    handler.setFormatter(LogfmtFormatter())
    logger.addHandler(handler)
    logger.propagate = False
    return logger


def test_problem_keys_and_origin_reach_the_log() -> None:
    stream = io.StringIO()
    out = Output("fc_host", RateLimitedLog(_log_to(stream)))
    problems = Problems("fc_host")
    here = inspect.currentframe()
    assert here is not None
    problems.os_error("host7/speed", "/sys/class/fc_host/host7/speed", OSError(errno.EIO, "I/O"))
    line_of_add = here.f_lineno - 1
    problems.add("host7/port_state", "parse", "garbled")
    out.report(problems)
    out.report(problems)  # the same keys again: rate-limited, still counted as errors
    assert [p.key for p in problems.items] == [
        "fc_host:host7/speed:EIO",
        "fc_host:host7/port_state:parse",
    ]
    assert out.errors == [p.key for p in problems.items] * 2
    lines = stream.getvalue().splitlines()
    assert len(lines) == 2
    assert f"source=test_problems.py:{line_of_add}" in lines[0]
    assert f"source=test_problems.py:{line_of_add + 2}" in lines[1]
    assert "collector=fc_host" in lines[0]


def test_direct_errors_name_the_caller_not_the_rate_limiter() -> None:
    stream = io.StringIO()
    out = Output("lio", RateLimitedLog(_log_to(stream)))
    out.error("lio:x:y", "boom")
    assert "source=test_problems.py:" in stream.getvalue()
    assert "logsetup.py" not in stream.getvalue()
