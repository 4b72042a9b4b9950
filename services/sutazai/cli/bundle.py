"""`sutazai bundle`: carry SutazAI to a host with no network. `export` writes one archive with the
wheels, the models, the project tree and the image list, every file's digest in its manifest;
`import` verifies every digest before installing anything, then installs with no package index
reachable (sutazai.runtime.bundle and sutazai.runtime.bundle_install)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

out = Console()
err = Console(stderr=True)
bundle_app = typer.Typer(no_args_is_help=True, help="Air-gap bundles: export on a connected host, import offline.")


def _fail(message: str) -> typer.Exit:
    err.print(f"[bold red]error:[/bold red] {message}", highlight=False, soft_wrap=True)
    return typer.Exit(1)


def _say(message: str) -> None:
    err.print(f"  [green]•[/green] {message}", highlight=False)


PythonVersion = Annotated[str | None, typer.Option(
    "--python-version", show_default=False, help="The offline host's Python, X.Y \\[default: this one's].")]
Platforms = Annotated[list[str] | None, typer.Option(
    "--platform", show_default=False,
    help="A wheel platform tag of the offline host (repeat), e.g. manylinux_2_28_x86_64 \\[default: this host's].")]
Wheelhouse = Annotated[Path | None, typer.Option(
    "--wheelhouse", show_default=False, file_okay=False, exists=True,
    help="Take every wheel from this folder (a mirror) instead of the package index.")]


@bundle_app.command("export")
def export_command(
    out_file: Annotated[Path | None, typer.Option(
        "--out", show_default=False,
        help="The bundle to write \\[default: sutazai-bundle-<version>.tar here].")] = None,
    model: Annotated[list[str] | None, typer.Option(
        "--model", show_default=False, help="A model to carry (repeat) \\[default: the default model].")] = None,
    no_models: Annotated[bool, typer.Option("--no-models", help="Carry no model.")] = False,
    python_version: PythonVersion = None,
    platform: Platforms = None,
    wheelhouse: Wheelhouse = None,
    data_dir: Annotated[Path | None, typer.Option(
        "--data-dir", envvar="SUTAZAI_DATA_DIR", show_default=False,
        help="Whose installed models to take (others are fetched).")] = None,
    with_images: Annotated[bool, typer.Option(
        "--with-images", help="Carry the container images `sutazai images build` made (docker save, each ID in the "
                              "manifest), for a host with no registry and no Debian mirror.")] = False,
) -> None:
    """Write everything an offline host needs into one archive: every locked wheel for its Python
    (with the prebuilt llama.cpp wheel), the models with their digests, the project tree with
    the Compose files, and the list of container images. Run it from a source checkout after
    `make install`."""
    from sutazai import __version__
    from sutazai.lib.models.installer import models_dir
    from sutazai.lib.models.manifest import DEFAULT_MODEL, ManifestError, load_manifest
    from sutazai.runtime.bundle import export
    from sutazai.runtime.bundle_install import BundleError
    from sutazai.runtime.stack import resolve_data_dir

    if no_models and model:
        raise _fail("--model and --no-models contradict each other; name models, or none")
    try:
        manifest = load_manifest()
        names = [] if no_models else (model or [DEFAULT_MODEL])
        entries = [manifest.get(n) for n in dict.fromkeys(names)]
    except ManifestError as exc:
        raise _fail(str(exc)) from None
    target = out_file or Path(f"sutazai-bundle-{__version__}.tar")
    import tempfile

    from sutazai.runtime.images import ImageError, save

    try:
        with tempfile.TemporaryDirectory(prefix=".images-", dir=target.resolve().parent) as scratch:
            saved = None
            if with_images:
                saved = Path(scratch) / "images.tar"
                save(saved, say=_say)
            done = export(target, models=entries, models_dir=models_dir(resolve_data_dir(data_dir)),
                          python_version=python_version, platforms=tuple(platform or ()), wheelhouse=wheelhouse,
                          container_images=saved, progress=_say)
    except (BundleError, ImageError) as exc:
        raise _fail(str(exc)) from None
    wheels = sum(1 for m in done.manifest["members"] if m.startswith("wheels/"))
    out.print(f"wrote {done.path} ({done.size / 1e6:,.0f} MB): {wheels} wheels for Python "
              f"{done.manifest['python']['version']}, {len(entries)} model(s), {len(done.manifest['images'])} images "
              f"listed, {len(done.manifest['container_images'])} carried", highlight=False)
    out.print(f"manifest sha256: [bold]{done.manifest_sha256}[/bold]", highlight=False)
    out.print(f"carry that digest separately; on the offline host: tar -xf {done.path.name} install.py && "
              f"python3 install.py {done.path.name} --expect {done.manifest_sha256} --into /opt/sutazai",
              highlight=False, soft_wrap=True)


@bundle_app.command("import")
def import_command(
    bundle: Annotated[Path, typer.Argument(help="A `sutazai bundle export` archive.", exists=True, dir_okay=False)],
    into: Annotated[Path | None, typer.Option(
        "--into", show_default=False, help="A new folder to install into (source tree, virtualenv, wheels).")] = None,
    expect: Annotated[str | None, typer.Option(
        "--expect", show_default=False, help="The manifest sha256 the exporting host printed.")] = None,
    python: Annotated[str | None, typer.Option(
        "--python", show_default=False, help="The Python for the virtualenv \\[default: this one].")] = None,
    data_dir: Annotated[Path | None, typer.Option(
        "--data-dir", show_default=False, help="Whose model store gets the models \\[default: SutazAI's].")] = None,
    check: Annotated[bool, typer.Option("--check", help="Only verify every digest; install nothing.")] = False,
    load_images: Annotated[bool, typer.Option(
        "--load-images", help="Also `docker load` the container images the bundle carries, each ID checked.")] = False,
) -> None:
    """Verify every file of a bundle against its manifest, then install it into a new folder with
    no package index reachable. The same as the bundle's own `python3 install.py`."""
    from sutazai.runtime.bundle_install import BundleError, install, unpack

    try:
        if check:
            verified = unpack(bundle, None, expect=expect, progress=_say)
            out.print(f"{bundle}: {verified.members:,} files, {verified.size / 1e6:,.0f} MB, every digest matches; "
                      f"manifest sha256 {verified.manifest_sha256}", highlight=False)
            return
        if into is None:
            raise _fail("name the folder to install into with --into (or use --check)")
        if expect is None:
            _say("no --expect given: the files are checked against the bundle's own manifest only")
        manifest = install(bundle, into, python=python, data_dir=data_dir, expect=expect, progress=_say,
                           images=load_images)
    except BundleError as exc:
        raise _fail(str(exc)) from None
    from sutazai.runtime.bundle_install import next_steps

    out.print(next_steps(manifest, into, data_dir), highlight=False, soft_wrap=True)


@bundle_app.command("wheels")
def wheels_command(
    folder: Annotated[Path, typer.Argument(help="The folder to fill (created if missing).", file_okay=False)],
    python_version: PythonVersion = None,
    platform: Platforms = None,
) -> None:
    """Fill a folder with every wheel an install needs, from the package index (a mirror for
    `sutazai bundle export --wheelhouse`); wheels already there are kept."""
    import sys

    from sutazai.runtime.bundle import fetch_wheels, project_root
    from sutazai.runtime.bundle_install import BundleError

    version = python_version or "{}.{}".format(*sys.version_info[:2])
    try:
        wheels = fetch_wheels(folder, root=project_root(), python_version=version, platforms=tuple(platform or ()),
                              progress=_say)
    except BundleError as exc:
        raise _fail(str(exc)) from None
    out.print(f"{folder}: {len(wheels)} wheels for Python {version}", highlight=False)
