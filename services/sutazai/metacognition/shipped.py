"""Calibrators that ship with a model (models/calibrators/<model>.json, named and digest-pinned in
models/manifest.toml beside the model's own digest), so that a fresh install's confidence is
calibrated from its first answer. A calibrator fitted on the site's own labels replaces it; until
then the shipped one of the model that served the answer is used, and the prior for a model that
ships none. A file whose sha256 is not the manifest's is refused (and the prior used)."""

from __future__ import annotations

import hashlib
import json
import logging
from functools import lru_cache
from pathlib import Path

from sutazai.lib.models.manifest import Manifest, ManifestError, entry_for, load_manifest, manifest_path
from sutazai.metacognition.calibration import Calibrator

logger = logging.getLogger(__name__)


class ShippedCalibratorInvalid(Exception):
    """The shipped calibrator's bytes are not those the manifest pins, or not a calibrator."""


def load_shipped(manifest: Manifest, model: str) -> tuple[Calibrator, str] | None:
    """(calibrator, a description naming the model and digest) for the manifest model `model`, or
    None when it ships none; ShippedCalibratorInvalid when its file does not match the manifest."""
    entry = entry_for(model, manifest)
    if entry is None or entry.calibrator is None or manifest.path is None:
        return None
    path = manifest.path.parent / entry.calibrator.file
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ShippedCalibratorInvalid(f"{path} cannot be read ({exc.strerror})") from exc
    digest = hashlib.sha256(data).hexdigest()
    if digest != entry.calibrator.sha256:
        raise ShippedCalibratorInvalid(f"{path} has sha256 {digest}, not the manifest's {entry.calibrator.sha256}")
    try:
        body = json.loads(data)
        calibrator = Calibrator(version=0, method=str(body["method"]), params=dict(body["params"]))
    except (ValueError, KeyError, TypeError) as exc:
        raise ShippedCalibratorInvalid(f"{path} is not a calibrator: {exc}") from exc
    if calibrator.method not in ("logistic", "isotonic"):
        raise ShippedCalibratorInvalid(f"{path} names an unknown method {calibrator.method!r}")
    return calibrator, f"shipped with {entry.name} ({entry.calibrator.file}, sha256 {digest[:12]})"


@lru_cache(maxsize=32)
def shipped_for(models: tuple[str, ...], manifest_file: Path | None = None) -> tuple[Calibrator, str] | None:
    """The shipped calibrator for an answer served by `models` (one model: an ensemble's answers
    were never labelled as such), read and checked once per process."""
    if len(models) != 1:
        return None
    try:
        return load_shipped(load_manifest(manifest_file or manifest_path()), models[0])
    except (ManifestError, ShippedCalibratorInvalid) as exc:
        logger.warning("no shipped calibrator for %s: %s", models[0], exc)
        return None
