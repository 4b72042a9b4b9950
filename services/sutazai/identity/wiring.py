"""The identity service's components, built once per process from its settings and resources
(by the HTTP app's lifespan, or by the CLI's bootstrap)."""

from __future__ import annotations

import os
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass

from sutazai.identity.accounts import AccountPolicy, Accounts
from sutazai.identity.credentials import CredentialBook
from sutazai.identity.settings import IdentitySettings
from sutazai.identity.sso import Ldap, LdapConfig, Oidc, OidcConfig
from sutazai.identity.store import MIGRATIONS, SCHEMA
from sutazai.lib import wiring as lib_wiring
from sutazai.lib.field_crypto import field_cipher
from sutazai.lib.security import Authenticator
from sutazai.lib.wiring import Resources, ServiceComponents, auth_limits, token_codec


@dataclass(frozen=True, kw_only=True)
class IdentityComponents(ServiceComponents):
    settings: IdentitySettings
    core: CredentialBook


def ldap(settings: IdentitySettings) -> Ldap | None:
    """LDAP sign-in, when SUTAZAI_LDAP_URL and SUTAZAI_LDAP_USER_DN_TEMPLATE are set."""
    if not settings.ldap_url or not settings.ldap_user_dn_template:
        return None
    return Ldap(LdapConfig(url=settings.ldap_url, user_dn_template=settings.ldap_user_dn_template,
                           group_base=settings.ldap_group_base, group_filter=settings.ldap_group_filter,
                           timeout_seconds=settings.ldap_timeout_seconds))


def oidc(settings: IdentitySettings) -> Oidc | None:
    """OpenID Connect sign-in, when SUTAZAI_OIDC_ISSUER and SUTAZAI_OIDC_CLIENT_ID are set."""
    if not settings.oidc_issuer or not settings.oidc_client_id:
        return None
    secret = settings.oidc_client_secret.get_secret_value() if settings.oidc_client_secret else ""
    return Oidc(OidcConfig(issuer=settings.oidc_issuer, client_id=settings.oidc_client_id, client_secret=secret,
                           label=settings.oidc_label, groups_claim=settings.oidc_groups_claim,
                           username_claim=settings.oidc_username_claim),
                state_secret=settings.jwt_secret.get_secret_value())


async def build(settings: IdentitySettings, resources: Resources) -> IdentityComponents:
    """Identity verifies API keys itself, against its own table."""
    policy = AccountPolicy(lockout_threshold=settings.lockout_threshold, lockout_minutes=settings.lockout_minutes,
                           password_min_length=settings.password_min_length)
    accounts = Accounts(db=resources.db, policy=policy, cipher=field_cipher(dict(os.environ), "identity"))
    core = CredentialBook(db=resources.db, codec=token_codec(settings), accounts=accounts, ldap=ldap(settings),
                        oidc=oidc(settings))
    return IdentityComponents(resources=resources, settings=settings, core=core,
                              authenticator=Authenticator(verifier=core, codec=token_codec(settings),
                                                          limits=auth_limits(settings, resources)))


def started(settings: IdentitySettings) -> AbstractAsyncContextManager[IdentityComponents]:
    """The running service's components, until the block ends."""
    return lib_wiring.started(settings, schema=SCHEMA, migrations_dir=MIGRATIONS, build=build)
