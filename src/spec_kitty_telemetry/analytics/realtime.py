"""The real-time check: each run scored against the frozen baseline as it is recorded.

With ``alerts.realtime: true`` in ``.kittify/telemetry.yaml``, the emitters
call :func:`check_recorded` after a successful append. The settings, the
latest frozen baseline and the pricing are read once per process and project,
and read again only when the config file or the baselines folder changed
(their size and modification time). Those two ``stat`` calls are made at most
once every :data:`RECHECK_SECONDS` per project, not per event: a long-running
host (the Python hooks) sees a new setting or a newly frozen week within a
second without restarting, and an emit in between pays a clock read. A
project without the setting costs one read of its config file per change of
it (without even parsing YAML unless the word ``realtime`` is in it).

Per event, the check does only what scoring needs: the run's group is looked
up from the record's fields first, so a run of a group the baseline has not
seen, or of one too small to alert on, is neither priced nor built; a group
whose baseline has no cost figure to compare with is not priced either.
Anything that goes wrong is one warning: the event is already recorded, and
the check must never fail or block the emit.
"""

from __future__ import annotations

import atexit
import logging
import math
import os
import time
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from .._emit_result import warn

if TYPE_CHECKING:
    from .anomalies import AnomalyDetector
    from .runs import RunMaker
    from .settings import AlertSettings

__all__ = ["RECHECK_SECONDS", "check_recorded", "reset"]

logger = logging.getLogger(__name__)

_EXECUTION_EVENT: Final = "ExecutionEvent"
#: How long a loaded check is trusted before the config and baselines are stat-ed again.
RECHECK_SECONDS: Final = 1.0
#: What a loaded check depends on: the config file and the baselines folder, by stat.
_Signature = tuple[tuple[int, int] | None, tuple[int, int] | None]


class _Checker:
    """A project's settings, baseline and run maker (with its pricing), loaded once."""

    def __init__(
        self, root: Path, settings: AlertSettings, detector: AnomalyDetector, maker: RunMaker
    ) -> None:
        from .anomalies import needs_price

        self.root, self.settings, self.detector, self.maker = root, settings, detector, maker
        self._fields = detector.baseline.group_by
        self._needs_price = needs_price

    def check(self, record: Mapping[str, Any]) -> None:
        detector = self.detector
        key = self.maker.group_key_of(record, self._fields)
        group = detector.scored_group(key)
        if group is None:
            return
        # What detector.check does, with the group already looked up from the record:
        run = self.maker.run(record, priced=self._needs_price(group))
        found = detector.score_figures(run, key, group)
        found.extend(detector.count_in_order(key, group, None if run.success else run))
        if found:
            from .alerts import anomaly_alert, raise_alerts, wait_for_sinks

            raised = raise_alerts(self.root, [anomaly_alert(a) for a in found], self.settings)
            if raised:
                atexit.register(wait_for_sinks, 2.0)


class _Loaded:
    """What was loaded for a project, and the stats of the files it was loaded from."""

    __slots__ = ("checked", "checker", "paths", "signature")

    def __init__(self, root: Path) -> None:
        from ..config import BASELINES_DIR, CONFIG_PATH

        self.paths = (root / CONFIG_PATH, root / BASELINES_DIR)
        self.signature: _Signature | None = None
        self.checker: _Checker | None = None
        #: When the stats were last taken (``time.monotonic``).
        self.checked = -math.inf

    def current(self) -> _Signature:
        """Return the stats of the config file and the baselines folder now."""
        config, baselines = self.paths
        return _stamp(config), _stamp(baselines)


_BY_ROOT: dict[Path, _Loaded] = {}


def reset() -> None:
    """Forget what was loaded (for tests; a changed config or baseline is noticed anyway)."""
    _BY_ROOT.clear()


def _root_of(target: object) -> Path | None:
    from ..config import emitting_project_root

    return emitting_project_root(target if isinstance(target, str | Path) else None)


def _stamp(path: Path) -> tuple[int, int] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return st.st_mtime_ns, st.st_size


def _checker(root: Path) -> _Checker | None:
    """Return the project's check, loading it again when its config or baselines changed.

    The stats are taken before the files are read: a change in between is
    seen at the next event, never missed.
    """
    loaded = _BY_ROOT.get(root)
    if loaded is None:
        loaded = _BY_ROOT[root] = _Loaded(root)
    now = time.monotonic()
    if now - loaded.checked < RECHECK_SECONDS:
        return loaded.checker
    loaded.checked = now
    signature = loaded.current()
    if signature != loaded.signature:
        loaded.signature, loaded.checker = signature, None  # a failed load waits for a change
        loaded.checker = _load(root)
    return loaded.checker


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
    from .runs import RunMaker
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
    return _Checker(root, settings, detector, RunMaker(load_pricing(root)))


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
        checker = _checker(root)
        if checker is not None:
            checker.check(record)
    except Exception as exc:  # noqa: BLE001 - the event is recorded; the check must not fail it
        warn(logger, f"telemetry: real-time check of {record.get('event_id')} skipped: {exc}")
