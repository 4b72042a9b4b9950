"""No service imports another service's code; the shared library imports no service."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_import_contracts_hold() -> None:
    result = subprocess.run(
        [str(Path(sys.executable).parent / "lint-imports"), "--no-cache"],
        cwd=ROOT, capture_output=True, text=True, check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Contracts: 2 kept, 0 broken" in result.stdout


def test_layout_has_what_the_design_card_names() -> None:
    for name in ("services", "compose", "vault", "haproxy", "models", "docs", "tests",
                 "docker-compose.yml", ".env.example", "README.md", "Makefile", "pyproject.toml",
                 "requirements.lock", ".ci/run"):
        assert (ROOT / name).exists(), name
    assert (ROOT / ".ci/run").read_text().strip().endswith("make test")
