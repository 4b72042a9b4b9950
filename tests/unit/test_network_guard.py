import socket

import pytest

from tests.conftest import NonLoopbackConnection


@pytest.mark.parametrize("address", [("10.255.255.1", 9), ("192.0.2.1", 80), ("example.com", 443)])
def test_non_loopback_connections_fail(address: tuple[str, int]) -> None:
    with socket.socket() as sock, pytest.raises(NonLoopbackConnection):
        sock.connect(address)


def test_loopback_is_allowed() -> None:
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        with socket.socket() as client:
            client.connect(server.getsockname())
