"""Logging as one JSON object per line, for the broker, gunicorn and the libraries alike.

A platform's log pipeline (Loggregator, then ELK, Splunk, ...) can parse every line without a
pattern, and a record's structured fields (an audit record's ids and outcome) stay fields.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from typing import Any

from broker import __version__

# Loggers that print secrets at DEBUG: openbrokerapi logs headers (basic auth) and bodies,
# botocore logs CreateAccessKey responses.
QUIET_LOGGERS = {
    "openbrokerapi": logging.INFO,
    "botocore": logging.WARNING,
    "boto3": logging.WARNING,
    "urllib3": logging.WARNING,
}
# Attributes every LogRecord has; anything else on a record came from `extra=` and is a field.
_RECORD_ATTRIBUTES = set(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message", "asctime", "taskName"}


# One encoder for every line: json.dumps with an argument (default=) builds a new one per call.
_ENCODER = json.JSONEncoder(default=str)


class JsonFormatter(logging.Formatter):
    """timestamp, level, logger, message, the broker's version, then the fields given with `extra=`;
    tracebacks as a field. The version says which release wrote a line in logs kept across upgrades."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "timestamp": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "version": __version__,
        }
        for name, value in vars(record).items():
            if name not in _RECORD_ATTRIBUTES and not name.startswith("_"):
                entry[name] = value
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return _ENCODER.encode(entry)


def gunicorn_logconfig() -> dict[str, Any]:
    """gunicorn's `logconfig_dict`: its own loggers and the root logger write JSON lines to stderr."""
    own = {"level": "INFO", "handlers": ["json"], "propagate": False}
    # No access log: an audit line per OSB request says more, and health checks would flood it.
    silent = {"level": "WARNING", "handlers": [], "propagate": False}
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"json": {"()": JsonFormatter}},
        "handlers": {"json": {"class": "logging.StreamHandler", "formatter": "json", "stream": "ext://sys.stderr"}},
        "loggers": {"gunicorn.error": own, "gunicorn.access": silent},
        "root": {"level": "INFO", "handlers": ["json"]},
    }


def configure_logging(level: str) -> None:
    """JSON lines on stderr (unless something, such as gunicorn, set handlers up already); `level` for ours."""
    root = logging.getLogger()
    if not root.handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(JsonFormatter())
        root.addHandler(handler)
    root.setLevel(level)
    # Process and thread names are looked up for every record (several calls each) and no line
    # shows them: the JSON lines carry timestamp, level, logger, message and the record's fields.
    logging.logProcesses = logging.logMultiprocessing = logging.logThreads = False
    logging.getLogger("broker").setLevel(level)
    for name, floor in QUIET_LOGGERS.items():
        logging.getLogger(name).setLevel(max(floor, logging.getLevelName(level)))
