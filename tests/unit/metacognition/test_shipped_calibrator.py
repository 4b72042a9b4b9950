"""Calibrators shipped with a model: read only when their bytes are the ones the manifest pins,
used for answers that model served until the site fits its own; every model in the manifest
ships one, fitted on labels committed beside it."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from sutazai.lib.confidence import AnswerFeatures
from sutazai.lib.models.manifest import load_manifest, manifest_path
from sutazai.metacognition.calibration import PRIOR, Calibrator
from sutazai.metacognition.confidence import ConfidenceBook
from sutazai.metacognition.shipped import ShippedCalibratorInvalid, load_shipped

ENTRY = """[[model]]
name = "tiny"
title = "Tiny"
family = "T"
publisher = "P"
parameters = "1M"
quantization = "Q4"
context_length = 2048
licence = "Apache-2.0"
licence_file = "licenses/Apache-2.0.txt"
size = 1
sha256 = "{model_digest}"
suits = ["extract"]
ollama = "tiny:1m"

[model.source]
package = "tiny==1"
member = "tiny.gguf"
parts = 1
{calibrator}"""


def manifest(tmp_path: Path, body: dict[str, object] | None, *, digest: str | None = None) -> Path:
    calibrator = ""
    if body is not None:
        data = json.dumps(body).encode()
        (tmp_path / "calibrators").mkdir(exist_ok=True)
        (tmp_path / "calibrators" / "tiny.json").write_bytes(data)
        calibrator = (f'\n[model.calibrator]\nfile = "calibrators/tiny.json"\n'
                      f'sha256 = "{digest or hashlib.sha256(data).hexdigest()}"\n')
    path = tmp_path / "manifest.toml"
    path.write_text(ENTRY.format(model_digest="0" * 64, calibrator=calibrator))
    return path


ISOTONIC = {"method": "isotonic", "params": {"x": [0.0, 1.0], "y": [0.2, 0.7]}}


def test_a_shipped_calibrator_is_used_only_with_the_manifests_digest(tmp_path: Path) -> None:
    found = load_shipped(load_manifest(manifest(tmp_path, ISOTONIC)), "tiny:1m")  # by its Ollama name too
    assert found is not None and found[1].startswith("shipped with tiny (calibrators/tiny.json, sha256 ")
    calibrator, _ = found
    assert calibrator.probability(AnswerFeatures(agreement=1.0, supported_fraction=1.0)) == 0.7
    with pytest.raises(ShippedCalibratorInvalid, match="not the manifest's"):
        load_shipped(load_manifest(manifest(tmp_path, ISOTONIC, digest="f" * 64)), "tiny")
    with pytest.raises(ShippedCalibratorInvalid, match="unknown method"):
        load_shipped(load_manifest(manifest(tmp_path, {"method": "magic", "params": {}})), "tiny")
    assert load_shipped(load_manifest(manifest(tmp_path, None)), "tiny") is None  # ships none: the prior
    assert load_shipped(load_manifest(manifest(tmp_path, ISOTONIC)), "unknown-model") is None


def test_every_model_in_the_manifest_ships_a_calibrator_fitted_on_labels_committed_beside_it() -> None:
    the_manifest = load_manifest(manifest_path())
    for entry in the_manifest.model:
        found = load_shipped(the_manifest, entry.name)  # the digest is checked here
        assert found is not None, f"{entry.name} ships no calibrator"
        body = json.loads((manifest_path().parent / entry.calibrator.file).read_text())  # type: ignore[union-attr]
        labels = manifest_path().parent / "calibrators" / body["fitted_on"]["labels"]
        assert hashlib.sha256(labels.read_bytes()).hexdigest() == body["fitted_on"]["sha256"]
        rows = [json.loads(line) for line in labels.read_text().splitlines()]
        assert len(rows) == body["fitted_on"]["count"] >= 40
        metrics = body["metrics"]
        for predictor in ("calibrator", "constant", "suite_base_rate", "prior"):
            assert {"auc", "brier", "ece_10", "ece_20", "confidently_wrong_rate"} <= set(metrics[predictor])
        assert metrics["calibrator"]["brier"] <= metrics["constant"]["brier"] + 0.02, entry.name


class FakeBook(ConfidenceBook):
    """The confidence book with its store of fitted calibrators faked (the boundary is the database)."""

    def __init__(self, fitted: Calibrator, *, shipped: bool = True) -> None:
        super().__init__(db=None, labels=None, threshold=None, target_risk=0.1, min_labels=40,  # type: ignore[arg-type]
                         shipped=shipped)
        self._fitted = fitted

    async def active(self) -> Calibrator:
        return self._fitted


async def test_an_answer_is_assessed_by_the_sites_calibrator_else_its_models_shipped_one_else_the_prior() -> None:
    smollm = AnswerFeatures(agreement=1.0, supported_fraction=None, strategy="general",
                            models=("SmolLM2-135M-Instruct.Q4_1",))
    calibrator, source = await FakeBook(PRIOR).for_answer(smollm)
    assert source.startswith("shipped with smollm2-135m (calibrators/smollm2-135m.json, sha256 ")
    assert calibrator.method in ("logistic", "isotonic")
    assert (await FakeBook(PRIOR, shipped=False).for_answer(smollm))[1] == "the documented prior"
    unknown = AnswerFeatures(agreement=1.0, supported_fraction=None, models=("someone-elses-model",))
    assert (await FakeBook(PRIOR).for_answer(unknown))[0] is PRIOR
    fitted = Calibrator(version=3, method="isotonic", params={"x": [0.0, 1.0], "y": [0.1, 0.9]})
    assert await FakeBook(fitted).for_answer(smollm) == (fitted, "fitted on this site's labels (version 3)")


async def test_an_exact_answer_is_not_second_guessed_by_a_calibrator() -> None:
    exact = AnswerFeatures(agreement=1.0, supported_fraction=None, computed=True, strategy="exact",
                           models=("SmolLM2-135M-Instruct.Q4_1",))
    fitted = Calibrator(version=3, method="isotonic", params={"x": [0.0, 1.0], "y": [0.1, 0.3]})
    calibrator, source = await FakeBook(fitted).for_answer(exact)
    assert calibrator is PRIOR and calibrator.probability(exact) == 1.0 and source.startswith("exact")
