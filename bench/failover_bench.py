"""Failover and recovery times, measured by the HA and supervision tests themselves and kept as
raw files: the figures docs/operations.md quotes.

Each run starts pytest on the chosen drills with SUTAZAI_TEST_FIGURES set to a fresh folder; each
drill writes what it measured there (tests/figures.py: seconds until writes succeed again, what
was acknowledged, lost and refused, the errors seen). The runs are gathered into one file with the
command and the machine. The tests assert behaviour (nothing acknowledged is lost, only failover
errors, inside the failover), never a time; a run whose tests fail is recorded as failed.

Run: .venv/bin/python bench/failover_bench.py --runs 3 --drills postgres redis supervision
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DRILLS = {
    "postgres": "tests/ha/test_postgres_failover.py",
    "redis": "tests/ha/test_redis_failover.py",
    "platform": "tests/ha/test_platform_failover.py",
    "supervision": "tests/e2e/test_supervision.py",
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=3, help="how many times to run the drills")
    parser.add_argument("--drills", nargs="+", choices=sorted(DRILLS), default=["postgres", "redis", "supervision"])
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "failover.json")
    args = parser.parse_args()
    runs = []
    for i in range(1, args.runs + 1):
        with tempfile.TemporaryDirectory() as folder:
            started = time.monotonic()
            done = subprocess.run([sys.executable, "-m", "pytest", "-q",  # noqa: S603 - our own test files
                                   *(DRILLS[d] for d in args.drills)], cwd=ROOT, check=False,
                                  env={**os.environ, "SUTAZAI_TEST_FIGURES": folder})
            figures = {p.stem: json.loads(p.read_text()) for p in sorted(Path(folder).glob("*.json"))}
        runs.append({"run": i, "tests_passed": done.returncode == 0, "wall_s": round(time.monotonic() - started, 1),
                     "figures": figures})
        print(f"run {i}: tests {'passed' if done.returncode == 0 else 'FAILED'}; {json.dumps(figures)[:400]}",
              flush=True)
    args.out.write_text(json.dumps({
        "command": " ".join(["python", *sys.argv]),
        "machine": {"python": platform.python_version(), "cpu": platform.processor() or platform.machine(),
                    "cores": os.cpu_count()},
        "drills": args.drills, "runs": runs}, indent=1) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
