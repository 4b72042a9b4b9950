"""`sutazai images`: build the Compose stack's container images with no registry, and carry them
(sutazai.runtime.images)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

out = Console()
err = Console(stderr=True)
images_app = typer.Typer(no_args_is_help=True, help="Container images for `docker compose up`, built with no registry.")


def _fail(message: str) -> typer.Exit:
    err.print(f"[bold red]error:[/bold red] {message}", highlight=False, soft_wrap=True)
    return typer.Exit(1)


def _say(message: str) -> None:
    err.print(f"  [green]•[/green] {message}", highlight=False)


def _default_wheels() -> Path:
    import os

    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return cache / "sutazai" / "wheelhouse"


@images_app.command("build")
def build_command(
    wheels: Annotated[Path | None, typer.Option(
        "--wheels", file_okay=False, show_default=False,
        help="The wheels to install in the images \\[default: ~/.cache/sutazai/wheelhouse, filled from the package "
             "index when empty; an air-gap bundle's wheels/ offline].")] = None,
    rootfs: Annotated[Path | None, typer.Option(
        "--rootfs", dir_okay=False, exists=True, show_default=False,
        help="Make the base from this rootfs tar (a bundle's) instead of running debootstrap.")] = None,
    mirror: Annotated[str, typer.Option("--mirror", help="The Debian mirror debootstrap reads.")]
        = "http://deb.debian.org/debian",
    only: Annotated[list[str] | None, typer.Option(
        "--only", show_default=False, help="Build only this image (repeat): sutazai, postgres, redis, openbao, etcd, "
                                          "haproxy.")] = None,
) -> None:
    """Build every image the Compose stack runs: a Debian base by debootstrap, then SutazAI,
    PostgreSQL + pgvector under Patroni, Redis + FalkorDB (and Sentinel), OpenBao, etcd and
    HAProxy FROM it. Nothing is pulled from a registry; needs Docker and root (for debootstrap)."""
    import sys

    from sutazai.runtime.bundle import fetch_wheels, project_root
    from sutazai.runtime.bundle_install import BundleError
    from sutazai.runtime.images import ImageError, build

    folder = wheels or _default_wheels()
    try:
        if wheels is None and not any(folder.glob("*.whl")):
            _say(f"filling {folder} from the package index (once)")
            fetch_wheels(folder, root=project_root(), python_version="{}.{}".format(*sys.version_info[:2]),
                         progress=_say)
        built = build(wheels=folder, rootfs=rootfs, mirror=mirror, only=only or (), say=_say)
    except (ImageError, BundleError) as exc:
        raise _fail(str(exc)) from None
    for image in built:
        out.print(f"{image.tag}  {image.image_id}", highlight=False)


@images_app.command("list")
def list_command(as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False) -> None:
    """The images the Compose stack runs, and whether each is built here (its ID)."""
    from sutazai.runtime.images import Docker, ImageError, tags

    docker = Docker()
    try:
        found = {tag: docker.image_id(tag) for tag in tags()}
    except ImageError as exc:
        raise _fail(str(exc)) from None
    if as_json:
        out.print_json(json.dumps(found))
        return
    for tag, image_id in found.items():
        out.print(f"{tag:40} {image_id or 'not built: run `sutazai images build`'}", highlight=False)


@images_app.command("save")
def save_command(
    out_file: Annotated[Path, typer.Argument(
        dir_okay=False, help="The tar to write (images.json is written beside it).")],
) -> None:
    """Write every image into one tar (`docker save`) with each image's ID in images.json, for a host
    with no registry: there `sutazai images load` checks every ID."""
    from sutazai.runtime.images import ImageError, save

    try:
        manifest = save(out_file, say=_say)
    except ImageError as exc:
        raise _fail(str(exc)) from None
    out.print(f"{out_file}: {len(manifest['images'])} images", highlight=False)


@images_app.command("load")
def load_command(
    archive: Annotated[Path, typer.Argument(dir_okay=False, help="The images tar `sutazai images save` wrote.")],
    manifest: Annotated[Path | None, typer.Option(
        "--manifest", dir_okay=False, show_default=False,
        help="The IDs to check \\[default: images.json beside the tar].")] = None,
) -> None:
    """Load the images and check each one's ID against the manifest; a missing image or a different
    ID is refused."""
    from sutazai.runtime.images import MANIFEST, ImageError, load

    path = manifest or archive.with_name(MANIFEST)
    try:
        expected = json.loads(path.read_text())["images"]
    except (OSError, ValueError, KeyError) as exc:
        raise _fail(f"cannot read the image IDs from {path} ({exc}); give --manifest") from None
    try:
        found = load(archive, expected=expected, say=_say)
    except ImageError as exc:
        raise _fail(str(exc)) from None
    out.print(f"{len(found)} images loaded, every ID as the manifest names", highlight=False)
