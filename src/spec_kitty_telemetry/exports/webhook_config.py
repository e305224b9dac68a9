"""The ``exports.webhooks:`` section of ``.kittify/telemetry.yaml``, validated.

The config file is committed, so a secret is never written in it: a webhook
names the environment variable that holds its secret (``secret_env``). A
mistake is a ConfigError naming the file and the key; the emitter turns it
into a warning, as every recording failure.

.. code-block:: yaml

    exports:
      webhooks:
        - url: https://ci.example.com/hooks/agent-runs
          records: [runs, alerts, daily_summary]   # default: [runs]
          secret_env: AGENT_RUNS_WEBHOOK_SECRET    # optional: HMAC-SHA256 signature
          timeout: 5                               # seconds per attempt (default 10)
          max_attempts: 8                          # before it is reported stuck (default 8)
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final
from urllib.parse import urlsplit

from ..config import CONFIG_PATH, load_config
from ..errors import ConfigError

__all__ = ["RECORD_KINDS", "WebhookTarget", "load_webhooks"]

#: What a webhook can be sent: each run, each alert, a summary of each UTC day.
RECORD_KINDS: Final = ("runs", "alerts", "daily_summary")
_KEYS: Final = frozenset({"url", "records", "secret_env", "timeout", "max_attempts"})


@dataclass(frozen=True)
class WebhookTarget:
    """One endpoint and what it gets."""

    url: str
    records: tuple[str, ...] = ("runs",)
    secret_env: str | None = None
    timeout: float = 10.0
    max_attempts: int = 8

    @property
    def target_id(self) -> str:
        """A short stable name for the endpoint: its spool folder (a new URL, a new folder)."""
        return hashlib.sha256(self.url.encode()).hexdigest()[:16]

    def secret(self) -> bytes | None:
        """Return the signing secret from the environment; None (unsigned) when not set."""
        if self.secret_env is None:
            return None
        value = os.environ.get(self.secret_env)
        return None if not value else value.encode()


def load_webhooks(root: str | Path) -> list[WebhookTarget]:
    """Return the project's webhooks (none without the section); raise ConfigError if invalid."""
    config = load_config(root)
    section = config.section("exports")
    where = config.path or Path(root) / CONFIG_PATH
    if section is None:
        return []
    if not isinstance(section, Mapping):
        raise ConfigError(f"{where}: exports: expected a mapping")
    hooks = section.get("webhooks")
    if hooks is None:
        return []
    if not isinstance(hooks, list):
        raise ConfigError(f"{where}: exports.webhooks: expected a list of webhooks")
    return [_target(where, f"exports.webhooks[{i}]", item) for i, item in enumerate(hooks)]


def _target(where: Path, key: str, item: Any) -> WebhookTarget:
    def fail(message: str) -> ConfigError:
        return ConfigError(f"{where}: {key}.{message}")

    if not isinstance(item, Mapping):
        raise ConfigError(f"{where}: {key}: expected a mapping with a url")
    unknown = sorted(str(k) for k in item if k not in _KEYS)
    if unknown:
        raise fail(f"{unknown[0]}: unknown key (known: {', '.join(sorted(_KEYS))})")
    url = item.get("url")
    parts = urlsplit(url) if isinstance(url, str) else None
    if parts is None or parts.scheme not in ("http", "https") or not parts.hostname:
        raise fail(f"url: expected an http:// or https:// URL, got {url!r}")
    records = item.get("records", ["runs"])
    if isinstance(records, str):
        records = [records]
    if not isinstance(records, list) or not records or any(r not in RECORD_KINDS for r in records):
        raise fail(f"records: expected a list of {', '.join(RECORD_KINDS)}, got {records!r}")
    secret_env = item.get("secret_env")
    if secret_env is not None and (not isinstance(secret_env, str) or not secret_env.strip()):
        raise fail(f"secret_env: expected an environment variable name, got {secret_env!r}")
    timeout = item.get("timeout", 10.0)
    if isinstance(timeout, bool) or not isinstance(timeout, int | float) or not 0 < timeout <= 300:
        raise fail(f"timeout: expected seconds between 0 and 300, got {timeout!r}")
    attempts = item.get("max_attempts", 8)
    if type(attempts) is not int or not 1 <= attempts <= 100:
        raise fail(f"max_attempts: expected a whole number from 1 to 100, got {attempts!r}")
    return WebhookTarget(
        url=str(url),
        records=tuple(dict.fromkeys(records)),
        secret_env=secret_env,
        timeout=float(timeout),
        max_attempts=attempts,
    )
