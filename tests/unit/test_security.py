import pytest

from sutazai.lib.access import Principal, Role
from sutazai.lib.errors import Unauthenticated
from sutazai.lib.security import (
    Authenticator,
    TokenCodec,
    generate_api_key,
    parse_api_key,
    secret_matches,
)


def test_api_key_round_trip_and_only_hash_is_kept() -> None:
    new = generate_api_key()
    parsed = parse_api_key(new.plaintext)
    assert parsed is not None
    key_id, secret = parsed
    assert key_id == new.key_id
    assert secret not in new.secret_hash
    assert secret_matches(secret, new.secret_hash)
    assert not secret_matches(secret + "x", new.secret_hash)


@pytest.mark.parametrize("raw", ["", "szk_", "szk_zzzzzzzzzzzz_" + "a" * 40, "abc_0123456789ab_" + "a" * 40])
def test_malformed_keys_do_not_parse(raw: str) -> None:
    assert parse_api_key(raw) is None


def test_token_round_trip() -> None:
    codec = TokenCodec("s" * 40, 60)
    principal = Principal("key:abc", Role.admin, "api_key", "abc", ("hr",))
    token, ttl = codec.issue(principal)
    assert ttl == 60
    back = codec.verify(token)
    assert (back.subject, back.role, back.collections, back.credential) == ("key:abc", Role.admin, ("hr",), "token")


def test_tampered_and_expired_tokens_are_refused() -> None:
    codec = TokenCodec("s" * 40, 60)
    token, _ = codec.issue(Principal("key:abc", Role.user, "api_key"))
    with pytest.raises(Unauthenticated, match="invalid"):
        TokenCodec("t" * 40, 60).verify(token)
    expired, _ = TokenCodec("s" * 40, -10).issue(Principal("key:abc", Role.user, "api_key"))
    with pytest.raises(Unauthenticated, match="expired"):
        codec.verify(expired)


class FakeVerifier:
    """Fake ApiKeyVerifier: accepts exactly one key."""

    def __init__(self, key: str) -> None:
        self.key = key

    async def verify(self, raw_key: str) -> Principal:
        if raw_key != self.key:
            raise Unauthenticated("API key is not valid")
        return Principal("key:k", Role.user, "api_key", "k")


async def test_authenticator_explains_what_is_missing_or_wrong() -> None:
    key = generate_api_key().plaintext
    auth = Authenticator(verifier=FakeVerifier(key), codec=TokenCodec("s" * 40, 60))
    with pytest.raises(Unauthenticated, match="sutazai admin create-key"):
        await auth.authenticate(None)
    with pytest.raises(Unauthenticated, match="neither"):
        await auth.authenticate("hello")
    with pytest.raises(Unauthenticated, match="not valid"):
        await auth.authenticate(generate_api_key().plaintext)
    assert (await auth.authenticate(key)).subject == "key:k"
