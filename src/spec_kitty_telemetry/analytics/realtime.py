"""The real-time check: each run scored against the frozen baseline as it is recorded.

With ``alerts.realtime: true`` in ``.kittify/telemetry.yaml``, the emitters
call :func:`check_recorded` after a successful append. The settings, the
latest frozen baseline and the pricing are read once per process and project;
a project without the setting costs one read of its config file (without
even parsing YAML unless the word ``realtime`` is in it) and then a dict
lookup per event. Anything that goes wrong is one warning: the event is
already recorded, and the check must never fail or block the emit.
"""

from __future__ import annotations

import atexit
import logging
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from .._emit_result import warn

if TYPE_CHECKING:
    from ..pricing import Pricing
    from .anomalies import AnomalyDetector
    from .settings import AlertSettings

__all__ = ["check_recorded", "reset"]

logger = logging.getLogger(__name__)

_EXECUTION_EVENT: Final = "ExecutionEvent"


class _Checker:
    """A project's settings, baseline and pricing, loaded once."""

    def __init__(
        self, root: Path, settings: AlertSettings, detector: AnomalyDetector, pricing: Pricing
    ) -> None:
        from .runs import priced_runs

        self.root, self.settings, self.detector, self.pricing = root, settings, detector, pricing
        self._priced_runs = priced_runs  # bound once: an import statement per emit shows up

    def check(self, record: Mapping[str, Any]) -> None:
        for run in self._priced_runs((record,), self.pricing):
            found = self.detector.check(run)
            if found:
                from .alerts import anomaly_alert, raise_alerts, wait_for_sinks

                raised = raise_alerts(self.root, [anomaly_alert(a) for a in found], self.settings)
                if raised:
                    atexit.register(wait_for_sinks, 2.0)


_BY_TARGET: dict[str, Path | None] = {}
_BY_ROOT: dict[Path, _Checker | None] = {}


def reset() -> None:
    """Forget what was loaded (for tests, and after freezing a new baseline in-process)."""
    _BY_TARGET.clear()
    _BY_ROOT.clear()


def _root_of(target: object) -> Path | None:
    key = str(target) if isinstance(target, str | Path) else ""
    if key not in _BY_TARGET:
        from ..config import find_project_root

        _BY_TARGET[key] = find_project_root(Path(key) if key else None)
    return _BY_TARGET[key]


def _load(root: Path) -> _Checker | None:
    from ..config import CONFIG_PATH

    try:
        text = (root / CONFIG_PATH).read_bytes()
    except OSError:
        return None
    if b"realtime" not in text:
        return None
    from ..config import load_config
    from ..pricing import load_pricing
    from .anomalies import AnomalyDetector
    from .baseline import frozen_weeks, load_baseline
    from .settings import alert_settings

    config = load_config(root)
    settings = alert_settings(config.section("alerts"), config.path)
    if not settings.realtime:
        return None
    weeks = frozen_weeks(root)
    if not weeks:
        warn(logger, f"telemetry: alerts.realtime is on but no baseline is frozen in {root}")
        return None
    detector = AnomalyDetector(load_baseline(root, weeks[-1]), settings.z_threshold, settings.alpha)
    return _Checker(root, settings, detector, load_pricing(root))


def check_recorded(target: object, record: Mapping[str, Any]) -> None:
    """Score a just-recorded event if its project asks for real-time checks; never raises.

    ``target`` is what the emitter wrote to: a feature folder, or a store (then
    the project around the working directory).
    """
    try:
        if record.get("event_type") != _EXECUTION_EVENT:
            return
        root = _root_of(target)
        if root is None:
            return
        if root not in _BY_ROOT:
            _BY_ROOT[root] = None  # a failed load is not retried on every event
            _BY_ROOT[root] = _load(root)
        checker = _BY_ROOT[root]
        if checker is not None:
            checker.check(record)
    except Exception as exc:  # noqa: BLE001 - the event is recorded; the check must not fail it
        warn(logger, f"telemetry: real-time check of {record.get('event_id')} skipped: {exc}")
