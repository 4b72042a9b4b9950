"""Serve the platform: every service in one process (`all`), or one service alone (Compose)."""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence

from fastapi import FastAPI
from starlette.types import ASGIApp

from sutazai.lib.logging import configure_logging
from sutazai.runtime.gateway import Gateway

SERVICES = ("identity", "reasoning", "knowledge", "learning", "metacognition", "web")


def _factories() -> dict[str, tuple[Callable[[], FastAPI], Sequence[str]]]:
    from sutazai.identity import app as identity
    from sutazai.knowledge import app as knowledge
    from sutazai.learning import app as learning
    from sutazai.metacognition import app as metacognition
    from sutazai.reasoning import app as reasoning
    from sutazai.web import app as web

    return {
        "identity": (identity.create_app, identity.PREFIXES),
        "reasoning": (reasoning.create_app, reasoning.PREFIXES),
        "knowledge": (knowledge.create_app, knowledge.PREFIXES),
        "learning": (learning.create_app, learning.PREFIXES),
        "metacognition": (metacognition.create_app, metacognition.PREFIXES),
        "web": (web.create_app, web.PREFIXES),
    }


def probe_prefix(service: str) -> str:
    """Where a service answers /healthz and /readyz."""
    return "/web" if service == "web" else f"/api/{service}"


def build_app(service: str = "all") -> ASGIApp:
    """The ASGI app for one service, or the gateway over all of them."""
    factories = _factories()
    if service != "all":
        if service not in factories:
            raise ValueError(f"unknown service {service!r}; choose one of {', '.join(SERVICES)} or all")
        return factories[service][0]()
    gateway = Gateway([(name, prefixes, make()) for name, (make, prefixes) in factories.items()], fallback="web")
    grpc_port = int(os.environ.get("SUTAZAI_GRPC_PORT", "0") or 0)
    if not grpc_port:
        return gateway
    from sutazai.runtime.grpc_runtime import WithGrpc  # noqa: PLC0415 - only when gRPC is served

    host = os.environ.get("SUTAZAI_HOST", "127.0.0.1")
    return WithGrpc(gateway, http_url=f"http://{host}:{os.environ.get('SUTAZAI_PORT', '8080')}",
                    address=f"{host}:{grpc_port}")


def serve(service: str, host: str, port: int, log_level: str, *, tls_cert: str | None = None,
          tls_key: str | None = None) -> None:
    """Serve over HTTPS when a certificate and key are given (Compose: issued by Vault's PKI to
    each service by vault/init.sh), else plain HTTP (the embedded stack, loopback only)."""
    import uvicorn

    configure_logging(log_level)
    if bool(tls_cert) != bool(tls_key):
        raise SystemExit("error: give both SUTAZAI_TLS_CERT_FILE and SUTAZAI_TLS_KEY_FILE, or neither")
    uvicorn.run(
        build_app(service), host=host, port=port, log_config=None, access_log=False,
        lifespan="on", timeout_graceful_shutdown=20, ssl_certfile=tls_cert, ssl_keyfile=tls_key,
    )


def main() -> None:
    serve(
        os.environ.get("SUTAZAI_SERVE", "all"),
        os.environ.get("SUTAZAI_HOST", "127.0.0.1"),
        int(os.environ.get("SUTAZAI_PORT", "8080")),
        os.environ.get("SUTAZAI_LOG_LEVEL", "INFO"),
        tls_cert=os.environ.get("SUTAZAI_TLS_CERT_FILE"), tls_key=os.environ.get("SUTAZAI_TLS_KEY_FILE"),
    )


if __name__ == "__main__":
    main()
