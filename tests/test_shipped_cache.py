"""The shipped price table's JSON copy: used when it matches the YAML, never when it does not."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import spec_kitty_telemetry

_PRINT_TABLE = """
import json, sys
from spec_kitty_telemetry.pricing import shipped_table
table = shipped_table()
rates = {name: [str(r.input), str(r.output), str(r.cache_read), str(r.cache_write),
                [str(t.input) for t in r.tiers]] for name, r in table.models.items()}
print(json.dumps({"date": str(table.last_updated), "rates": rates, "yaml": "yaml" in sys.modules}))
"""


@pytest.fixture
def package(tmp_path: Path) -> Path:
    """A copy of the installed package, so its YAML table can be edited."""
    copy = tmp_path / "src" / "spec_kitty_telemetry"
    shutil.copytree(
        Path(spec_kitty_telemetry.__file__).parent,
        copy,
        ignore=shutil.ignore_patterns("__pycache__"),
    )
    return copy


def _table(package: Path, cache: Path) -> dict[str, object]:
    env = {"PYTHONPATH": str(package.parent), "XDG_CACHE_HOME": str(cache), "PATH": "/usr/bin"}
    done = subprocess.run(
        [sys.executable, "-c", _PRINT_TABLE], env=env, capture_output=True, text=True, check=True
    )
    result: dict[str, object] = json.loads(done.stdout)
    return result


def _copies(cache: Path) -> list[Path]:
    return sorted((cache / "spec-kitty-telemetry").glob("shipped-prices-*.json"))


def test_the_second_process_reads_the_copy_and_gets_the_same_table(package: Path, tmp_path: Path):
    """First process: parses the YAML and saves a copy; second: same table, YAML never imported."""
    cache = tmp_path / "cache"
    first = _table(package, cache)
    assert first["yaml"] is True
    assert len(_copies(cache)) == 1
    second = _table(package, cache)
    assert second["yaml"] is False
    assert second["rates"] == first["rates"]
    assert second["date"] == first["date"]


def test_an_edited_yaml_table_is_read_again(package: Path, tmp_path: Path):
    """A rate changed in _pricing.yaml after the copy was made: the new rate is what is priced."""
    cache = tmp_path / "cache"
    before = _table(package, cache)
    assert before["rates"]["claude-opus-4-1"][0] == "15"  # type: ignore[index]
    yaml_file = package / "_pricing.yaml"
    text = yaml_file.read_text()
    yaml_file.write_text(text.replace("    input: 15\n", "    input: 16\n", 1))
    stat = yaml_file.stat()
    os.utime(yaml_file, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
    after = _table(package, cache)
    assert after["yaml"] is True
    assert after["rates"]["claude-opus-4-1"][0] == "16"  # type: ignore[index]


@pytest.mark.parametrize(
    "damage",
    [
        b"\x00garbage",
        b"[]",
        b'{"stamp": 1}',
        None,  # the right stamp, a rate that is not a number
    ],
)
def test_a_damaged_copy_is_ignored_and_replaced(
    package: Path, tmp_path: Path, damage: bytes | None
):
    """Garbage, the wrong shape, or a bad rate under the right stamp: the YAML is parsed again."""
    cache = tmp_path / "cache"
    good = _table(package, cache)
    [copy] = _copies(cache)
    if damage is None:
        saved = json.loads(copy.read_bytes())
        saved["document"]["models"]["claude-opus-4-1"]["input"] = "lots"
        copy.write_text(json.dumps(saved))
    else:
        copy.write_bytes(damage)
    again = _table(package, cache)
    assert again["yaml"] is True
    assert again["rates"] == good["rates"]
    assert _table(package, cache)["yaml"] is False  # rewritten by the run that parsed the YAML


def test_an_unwritable_cache_folder_still_prices(package: Path, tmp_path: Path):
    """The cache folder is a file: no copy is kept, and every process reads the YAML."""
    cache = tmp_path / "cache"
    cache.write_text("not a folder")
    first = _table(package, cache)
    second = _table(package, cache)
    assert first["yaml"] is second["yaml"] is True
    assert first["rates"] == second["rates"]
