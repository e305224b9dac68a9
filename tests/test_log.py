"""Lazy module loggers: no ``logging`` import until a message, then the standard logger."""

from __future__ import annotations

import logging
import subprocess
import sys

import pytest

from spec_kitty_telemetry._log import lazy_logger


def test_messages_reach_the_standard_logger_of_the_module(caplog: pytest.LogCaptureFixture):
    """A lazy logger's warning is a record of logging.getLogger(name), at its level."""
    logger = lazy_logger("spec_kitty_telemetry.some_module")
    with caplog.at_level(logging.DEBUG, logger="spec_kitty_telemetry.some_module"):
        logger.warning("%s: %d lines", "log", 3)
        logger.debug("detail")
        logger.info("note")
        logger.error("bad")
    assert [(r.name, r.levelname, r.getMessage()) for r in caplog.records] == [
        ("spec_kitty_telemetry.some_module", "WARNING", "log: 3 lines"),
        ("spec_kitty_telemetry.some_module", "DEBUG", "detail"),
        ("spec_kitty_telemetry.some_module", "INFO", "note"),
        ("spec_kitty_telemetry.some_module", "ERROR", "bad"),
    ]


def test_reading_modules_do_not_import_logging_until_they_log():
    """Importing the report's modules leaves logging unloaded; the first message loads it."""
    probe = (
        "import sys\n"
        "import spec_kitty_telemetry.cost, spec_kitty_telemetry.projection, "
        "spec_kitty_telemetry.query, spec_kitty_telemetry.jsonl_store\n"
        "before = 'logging' in sys.modules\n"
        "spec_kitty_telemetry.projection.logger.debug('x')\n"
        "print(before, 'logging' in sys.modules)\n"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert done.stdout.split() == ["False", "True"]
