"""Raw figures a test measures (failover and recovery times), for the documents that quote them.

No timing is asserted by a test; when `SUTAZAI_TEST_FIGURES` names a folder, a test that measures
one writes what it measured there as `<name>.json` (bench/failover_bench.py runs the tests with it
set and keeps every run's file in bench/results/). Without it, nothing is written."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any


def record_figures(name: str, figures: dict[str, Any]) -> Path | None:
    """Write `figures` to `$SUTAZAI_TEST_FIGURES/<name>.json` (merged into what an earlier test of
    the same run wrote there); the path, or None when the variable is not set."""
    folder = os.environ.get("SUTAZAI_TEST_FIGURES")
    if not folder:
        return None
    path = Path(folder) / f"{name}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    earlier = json.loads(path.read_text()) if path.exists() else {}
    path.write_text(json.dumps({**earlier, **figures}, indent=2) + "\n")
    return path
