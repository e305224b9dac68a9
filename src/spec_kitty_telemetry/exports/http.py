"""One JSON POST over HTTP(S), for the OTLP export and the webhook sender.

The standard library's client is enough for a POST with a timeout; it keeps
the emit path and the detached sender free of a third-party HTTP stack.
"""

from __future__ import annotations

import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

from .errors import ExportError

__all__ = ["HttpReply", "check_url", "post_json"]


@dataclass(frozen=True)
class HttpReply:
    """What the receiver answered."""

    status: int
    body: bytes


def check_url(url: str, parameter: str) -> str:
    """Return ``url`` if it is an http(s) URL with a host, else raise ExportError."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ExportError(f"{url!r} is not an http:// or https:// URL", parameter=parameter)
    return url


def post_json(
    url: str, body: bytes, *, headers: Mapping[str, str] | None = None, timeout: float = 10.0
) -> HttpReply:
    """POST ``body`` as JSON; return the reply, raising ExportError unless it is a 2xx."""
    request = urllib.request.Request(
        url,
        data=body,
        method="POST",
        headers={"Content-Type": "application/json", **(headers or {})},
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return HttpReply(response.status, response.read())
    except urllib.error.HTTPError as exc:
        raise ExportError(f"{url} answered HTTP {exc.code} {exc.reason}") from None
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        raise ExportError(f"{url} could not be reached: {reason}") from None
