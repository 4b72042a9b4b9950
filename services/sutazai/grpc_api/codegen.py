"""Generate the Python code of proto/sutazaipb/v1/*.proto into sutazai/grpc_api/generated (run by
`make install`; `ensure()` runs it when the generated code is missing or older than the proto)."""

from __future__ import annotations

import sys
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent
OUT = PACKAGE / "generated"
PROTO_ROOT = PACKAGE.parents[2] / "proto"
PROTOS = sorted(PROTO_ROOT.glob("sutazaipb/v1/*.proto")) if PROTO_ROOT.exists() else []


class CodegenError(RuntimeError):
    """protoc refused the proto files."""


def current() -> bool:
    made = OUT / "sutazaipb" / "v1" / "sutazai_pb2_grpc.py"
    return made.exists() and all(made.stat().st_mtime >= p.stat().st_mtime for p in PROTOS)


def generate() -> None:
    from grpc_tools import protoc  # noqa: PLC0415 - a build tool, loaded only to build

    if not PROTOS:
        raise CodegenError(f"no .proto files under {PROTO_ROOT}")
    OUT.mkdir(exist_ok=True)
    include = Path(protoc.__file__).parent / "_proto"
    args = ["grpc_tools.protoc", f"-I{PROTO_ROOT}", f"-I{include}", f"--python_out={OUT}", f"--pyi_out={OUT}",
            f"--grpc_python_out={OUT}", *map(str, PROTOS)]
    if protoc.main(args) != 0:
        raise CodegenError("protoc failed on " + ", ".join(p.name for p in PROTOS))
    for folder in (OUT, OUT / "sutazaipb", OUT / "sutazaipb" / "v1"):
        (folder / "__init__.py").touch()


def ensure() -> None:
    """The generated modules importable as `sutazaipb.v1.sutazai_pb2` (generated first if needed)."""
    if PROTOS and not current():
        generate()
    if str(OUT) not in sys.path:
        sys.path.insert(0, str(OUT))


if __name__ == "__main__":
    generate()
    print(f"generated {', '.join(p.name for p in PROTOS)} into {OUT}")  # noqa: T201
