"""Logging in logfmt or JSON (node_exporter's --log.format), and rate-limited error logging."""

from __future__ import annotations

import json
import logging
import sys
import threading
import time

LOG = logging.getLogger("fctarget_exporter")


def _logfmt_value(value: str) -> str:
    if value == "" or any(c in value for c in ' ="\\\n'):
        escaped = value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
        return f'"{escaped}"'
    return value


def _source(record: logging.LogRecord) -> str:
    # A reader's problem is logged far from where it was met: it carries its own origin.
    origin = getattr(record, "origin", "")
    return origin if isinstance(origin, str) and origin else f"{record.module}.py:{record.lineno}"


class LogfmtFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        ts = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
        fields = [
            ("time", f"{ts}.{int(record.msecs):03d}Z"),
            ("level", record.levelname.lower()),
            ("source", _source(record)),
            ("msg", record.getMessage()),
        ]
        extra = getattr(record, "fields", None)
        if isinstance(extra, dict):
            fields.extend((str(k), str(v)) for k, v in extra.items())
        if record.exc_info:
            fields.append(("err", self.formatException(record.exc_info)))
        return " ".join(f"{k}={_logfmt_value(v)}" for k, v in fields)


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        ts = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
        obj: dict[str, str] = {
            "time": f"{ts}.{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "source": _source(record),
            "msg": record.getMessage(),
        }
        extra = getattr(record, "fields", None)
        if isinstance(extra, dict):
            obj.update({str(k): str(v) for k, v in extra.items()})
        if record.exc_info:
            obj["err"] = self.formatException(record.exc_info)
        return json.dumps(obj, sort_keys=False)


def setup_logging(level: str, fmt: str) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if fmt == "json" else LogfmtFormatter())
    root = logging.getLogger()
    handler.addFilter(LibraryLogFilter())
    root.handlers[:] = [handler]
    root.setLevel(getattr(logging, level.upper()))
    # aiohttp logs every request at info level; an exporter scraped every 15 s should not.
    logging.getLogger("aiohttp.access").setLevel(logging.WARNING)


class RateLimitedLog:
    """Logs each distinct error key once, then at most once per `interval` seconds.

    Collectors report the same broken file on every scrape; without this a host with one bad
    LUN would write a log line every 15 seconds forever.
    """

    def __init__(self, logger: logging.Logger, interval: float = 3600.0) -> None:
        self._logger = logger
        self._interval = interval
        self._last: dict[str, float] = {}
        self._suppressed: dict[str, int] = {}
        self._lock = threading.Lock()

    def allow(self, key: str) -> int | None:
        """None if `key` was let through within the interval (counted as suppressed); else the
        number of repeats suppressed since it was last let through."""
        now = time.monotonic()
        with self._lock:
            last = self._last.get(key)
            if last is not None and now - last < self._interval:
                self._suppressed[key] = self._suppressed.get(key, 0) + 1
                return None
            self._last[key] = now
            suppressed = self._suppressed.pop(key, 0)
            if len(self._last) > 10000:  # bound memory if keys are unbounded (e.g. per-file)
                self._last.clear()
                self._suppressed.clear()
        return suppressed

    def log(
        self,
        level: int,
        key: str,
        message: str,
        *,
        origin: str = "",
        stacklevel: int = 1,
        **fields: object,
    ) -> bool:
        """Log `message` unless `key` was logged within the interval; True if it was logged.

        The line's `source` is the caller's (`stacklevel` frames up from it), or `origin`."""
        return self._emit(level, key, message, fields, (origin, stacklevel))

    def error(
        self, key: str, message: str, *, origin: str = "", stacklevel: int = 1, **fields: object
    ) -> bool:
        return self._emit(logging.ERROR, key, message, fields, (origin, stacklevel))

    def warning(
        self, key: str, message: str, *, origin: str = "", stacklevel: int = 1, **fields: object
    ) -> bool:
        return self._emit(logging.WARNING, key, message, fields, (origin, stacklevel))

    def _emit(
        self, level: int, key: str, message: str, fields: dict[str, object], where: tuple[str, int]
    ) -> bool:
        suppressed = self.allow(key)
        if suppressed is None:
            return False
        extra = {k: str(v) for k, v in fields.items()}
        if suppressed:
            extra["suppressed_repeats"] = str(suppressed)
        origin, stacklevel = where
        # source= names the caller of log()/error()/warning() (or further up), not this module
        self._logger.log(
            level, message, extra={"fields": extra, "origin": origin}, stacklevel=stacklevel + 2
        )
        return True


def one_line(exc: BaseException | None) -> str:
    """An exception as `Type: message` on one line (no traceback)."""
    if exc is None:
        return ""
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


class LibraryLogFilter(logging.Filter):
    """aiohttp and asyncio log client garbage and resource errors with a traceback each time
    (thousands of lines from one unauthenticated client). Their records are let through once per
    `interval` per logger and message, on one line: the traceback becomes an `err` field."""

    PREFIXES = ("aiohttp", "asyncio")

    def __init__(self, interval: float = 60.0) -> None:
        super().__init__()
        self._limit = RateLimitedLog(LOG, interval)

    def filter(self, record: logging.LogRecord) -> bool:
        if not record.name.startswith(self.PREFIXES):
            return True
        template = str(record.msg).split("\n", 1)[0][:200]
        suppressed = self._limit.allow(f"{record.name}\0{record.levelno}\0{template}")
        if suppressed is None:
            return False
        fields = getattr(record, "fields", None)
        extra = dict(fields) if isinstance(fields, dict) else {}
        if record.exc_info:
            extra["err"] = one_line(record.exc_info[1])
            record.exc_info = None
            record.exc_text = None
        record.stack_info = None
        if suppressed:
            extra["suppressed_repeats"] = str(suppressed)
        # the message itself on one line too (asyncio appends "\nsocket: <...>" and the like)
        try:
            message = record.getMessage()
        except (TypeError, ValueError):  # arguments that do not fit: keep what there is
            message = str(record.msg)
        record.msg = " ".join(message.split())
        record.args = None
        record.fields = extra
        return True
