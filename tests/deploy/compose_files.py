"""Load Compose files the way `docker compose config` does: interpolate ${VAR} from an env
file, resolve YAML anchors and merge keys, and merge overlays onto the base file."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
_VAR = re.compile(r"\$\$|\$\{(\w+)(?:(:?[-?])([^}]*))?\}|\$(\w+)")


class InterpolationError(ValueError):
    """A required variable (${VAR:?message}) is unset."""


def read_env_file(path: Path, fill_required: str | None = None) -> dict[str, str]:
    env: dict[str, str] = {}
    for line in path.read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            key, _, value = line.partition("=")
            env[key] = value if value or fill_required is None else fill_required
    return env


def variables_used(text: str) -> set[str]:
    return {m.group(1) or m.group(4) for m in _VAR.finditer(text) if m.group(0) != "$$"}


def interpolate(text: str, env: dict[str, str]) -> str:
    def replace(match: re.Match[str]) -> str:
        if match.group(0) == "$$":
            return "$$"
        name = match.group(1) or match.group(4)
        op, arg = match.group(2), match.group(3) or ""
        value = env.get(name, "")
        if op and "-" in op:
            return value if value else arg
        if op and "?" in op and not value:
            raise InterpolationError(f"{name}: {arg}")
        return value

    return _VAR.sub(replace, text)


class _Loader(yaml.SafeLoader):
    """SafeLoader that understands Compose's !reset and !override tags."""


_Loader.add_constructor("!reset", lambda loader, node: _Reset(loader.construct_sequence(node)
                        if isinstance(node, yaml.SequenceNode) else None))
_Loader.add_constructor("!override", lambda loader, node: _Reset(
    loader.construct_sequence(node) if isinstance(node, yaml.SequenceNode) else loader.construct_mapping(node)))


class _Reset:
    def __init__(self, value: Any) -> None:
        self.value = value


def load(path: Path, env: dict[str, str]) -> dict[str, Any]:
    loaded = yaml.load(interpolate(path.read_text(), env), Loader=_Loader)  # noqa: S506 - SafeLoader subclass
    assert isinstance(loaded, dict)
    return loaded


def merge(base: Any, overlay: Any) -> Any:
    """Compose's merge: mappings merge key by key, sequences append, !reset replaces."""
    if isinstance(overlay, _Reset):
        return overlay.value
    if isinstance(base, dict) and isinstance(overlay, dict):
        merged = dict(base)
        for key, value in overlay.items():
            merged[key] = merge(base[key], value) if key in base else _strip(value)
        return merged
    if isinstance(base, list) and isinstance(overlay, list):
        return base + [v for v in overlay if v not in base]
    return _strip(overlay)


def _strip(value: Any) -> Any:
    if isinstance(value, _Reset):
        return value.value
    if isinstance(value, dict):
        return {k: _strip(v) for k, v in value.items()}
    return value


def project(*overlays: str, env: dict[str, str] | None = None) -> dict[str, Any]:
    env = env if env is not None else read_env_file(ROOT / ".env.example", fill_required="x" * 40)
    config = load(ROOT / "docker-compose.yml", env)
    for overlay in overlays:
        config = merge(config, load(ROOT / overlay, env))
    return config
