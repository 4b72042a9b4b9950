"""The web UI ships every asset itself: the vendored library is the npm release the lock file
names, byte for byte, and no page, script or style refers to another host."""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

import sutazai.web

WEB = Path(sutazai.web.__file__).parent
STATIC = WEB / "static"


def test_vendored_files_match_their_manifest_and_the_locked_npm_versions() -> None:
    manifest = json.loads((STATIC / "vendor" / "manifest.json").read_text())
    lock = json.loads((WEB / "package-lock.json").read_text())
    wanted = json.loads((WEB / "package.json").read_text())["dependencies"]
    assert set(manifest) == set(wanted)
    for name, entry in manifest.items():
        shipped = STATIC / "vendor" / entry["file"]
        assert hashlib.sha256(shipped.read_bytes()).hexdigest() == entry["sha256"], f"{shipped} was edited"
        assert entry["version"] == wanted[name] == lock["packages"][f"node_modules/{name}"]["version"]
        assert (STATIC / "vendor" / entry["license"]).is_file()


def test_no_asset_of_ours_refers_to_another_host() -> None:
    ours = [p for p in STATIC.rglob("*") if p.is_file() and "vendor" not in p.parts and p.suffix != ".png"]
    assert {p.suffix for p in ours} >= {".html", ".js", ".css", ".svg"}
    for path in ours:
        text = path.read_text()
        urls = re.findall(r"(?:https?:)?//[a-z0-9.-]+\.[a-z]{2,}", text)
        outside = [u for u in urls if u != "http://www.w3.org"]  # the SVG namespace, never fetched
        assert not outside, f"{path.name} refers to {outside}"
        assert ".innerHTML" not in text, f"{path.name}: build DOM with textContent, never innerHTML"
