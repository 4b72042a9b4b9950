"""The revocation contract: which cached principals a revocation covers, and that a malformed
message on the channel is ignored rather than taken as "forget everything" or a crash."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from sutazai.lib.access import Principal, Role
from sutazai.lib.contracts.identity import Revocation
from sutazai.lib.revocations import RevocationListener

pytestmark = pytest.mark.unit

ALICE_TOKEN = Principal(subject="user:alice", role=Role.user, credential="token", token_id="t1")
ALICE_KEY = Principal(subject="user:alice", role=Role.user, credential="api_key", key_id="k1")
BOT = Principal(subject="key:k2", role=Role.admin, credential="api_key", key_id="k2")


@pytest.mark.parametrize(("revocation", "covered"), [
    (Revocation(reason="password_changed", subject="user:alice"), {"t1", "k1"}),  # every credential of hers
    (Revocation(reason="key_revoked", key_id="k2"), {"k2"}),
    (Revocation(reason="signed_out", token_id="t1"), {"t1"}),
    (Revocation(reason="group_changed", everyone=True), {"t1", "k1", "k2"}),
    (Revocation(reason="grant_withdrawn", subject="user:bob"), set()),
])
def test_a_revocation_covers_exactly_its_credentials(revocation: Revocation, covered: set[str]) -> None:
    found = {p.token_id or p.key_id for p in (ALICE_TOKEN, ALICE_KEY, BOT) if revocation.matches(p)}
    assert found == covered


def test_an_unknown_reason_or_field_is_refused() -> None:
    with pytest.raises(ValidationError):
        Revocation.model_validate({"reason": "because"})
    with pytest.raises(ValidationError):
        Revocation.model_validate({"reason": "signed_out", "everything": True})


def test_the_listener_hands_on_valid_messages_and_ignores_malformed_ones() -> None:
    received: list[Revocation] = []
    listener = RevocationListener(redis=None, on_revocation=received.append)  # type: ignore[arg-type]
    listener._handle(b'{"reason": "key_revoked", "key_id": "k9"}')  # noqa: SLF001 - the message path alone
    listener._handle(b"not json")  # noqa: SLF001
    listener._handle(b'{"reason": "because", "everyone": true}')  # noqa: SLF001
    assert received == [Revocation(reason="key_revoked", key_id="k9")]
