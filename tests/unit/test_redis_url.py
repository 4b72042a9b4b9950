import pytest

from sutazai.lib.redis_client import parse_sentinel_url


def test_sentinel_url_is_parsed() -> None:
    target = parse_sentinel_url("redis+sentinel://:p%40ss@s1:26379,s2:26380,s3:26381/sutazai/2")
    assert target.sentinels == [("s1", 26379), ("s2", 26380), ("s3", 26381)]
    assert (target.master, target.db, target.password) == ("sutazai", 2, "p@ss")


@pytest.mark.parametrize(("url", "fragment"), [
    ("redis+sentinel://s1:26379", "<master>"),
    ("redis+sentinel://:pw@s1/sutazai", "host:port"),
    ("redis://x:1/0", "not a redis+sentinel"),
])
def test_bad_sentinel_urls_say_what_is_wrong(url: str, fragment: str) -> None:
    with pytest.raises(ValueError, match=fragment.replace("+", r"\+")):
        parse_sentinel_url(url)
