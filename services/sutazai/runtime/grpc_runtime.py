"""The embedded stack serves gRPC from the same process as HTTP, on its own port: started when
the HTTP app has started (so its calls have something to reach), stopped before it stops."""

from __future__ import annotations

from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send


class WithGrpc:
    """`app`, with the gRPC server on `address` in front of it for the lifespan of `app`."""

    def __init__(self, app: ASGIApp, *, http_url: str, address: str) -> None:
        self.app, self.http_url, self.address = app, http_url, address
        self.server: Any = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "lifespan":
            await self.app(scope, receive, send)
            return

        async def receiving() -> Message:
            message = await receive()
            if message["type"] == "lifespan.shutdown" and self.server is not None:
                await self.server.stop()
                self.server = None
            return message

        async def sending(message: Message) -> None:
            if message["type"] == "lifespan.startup.complete":
                from sutazai.grpc_api.server import GrpcServer  # noqa: PLC0415 - generated code loads here

                try:
                    self.server = GrpcServer(http_url=self.http_url, address=self.address)
                    await self.server.start()
                except (RuntimeError, OSError) as exc:
                    await send({"type": "lifespan.startup.failed",
                                "message": f"the gRPC server could not start on {self.address}: {exc}"})
                    return
            await send(message)

        await self.app(scope, receiving, sending)
