"""Data, logs and sockets are readable by the server's own user only, and starting the
embedded servers changes no parent folder's mode (the review found the graph's AOF, dump.rdb
and logs at 0644 and o+x added to every parent of the data directory, $HOME included)."""

from __future__ import annotations

import stat
from pathlib import Path

import redis

from tests.servers import running_postgres, running_redis


def _modes(paths: list[Path]) -> dict[Path, int]:
    return {p: stat.S_IMODE(p.stat().st_mode) for p in paths}


def test_servers_keep_their_files_private_and_leave_parents_alone(tmp_path: Path) -> None:
    home = tmp_path / "home" / "someone"
    home.mkdir(parents=True)
    home.chmod(0o700)
    data = home / "data"
    data.mkdir(mode=0o700)
    parents_before = _modes([home, *home.parents])
    with running_redis(data) as rd, running_postgres(data) as pg:
        client = redis.Redis(host="127.0.0.1", port=rd.port, password=rd.password())
        client.execute_command("GRAPH.QUERY", "g", "CREATE (:Passage {text: 'confidential'})")
        client.save()
        client.close()
        assert _modes([home, *home.parents]) == parents_before
        for root in (rd.root, pg.home):
            assert stat.S_IMODE(root.stat().st_mode) == 0o700, root
        for path in [*rd.root.rglob("*"), pg.log]:
            mode = stat.S_IMODE(path.stat().st_mode)
            assert mode & 0o077 == 0, f"{path} is {oct(mode)}"
        assert stat.S_IMODE(pg.socket_dir.stat().st_mode) == 0o700
    assert _modes([home, *home.parents]) == parents_before
