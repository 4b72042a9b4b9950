"""Identity service settings."""

from functools import lru_cache

from pydantic import Field, SecretStr

from sutazai.lib.settings import CommonSettings


class IdentitySettings(CommonSettings):
    service_name: str = "identity"
    lockout_threshold: int = Field(default=5, ge=1, le=100,
                                   description="consecutive failed sign-ins that lock an account")
    lockout_minutes: int = Field(default=15, ge=1, le=1440, description="how long a locked account stays locked")
    ldap_url: str | None = Field(default=None, description="LDAP server for sign-in, e.g. ldaps://ldap.corp:636")
    ldap_user_dn_template: str | None = Field(
        default=None, description="the DN a user binds as, e.g. uid={username},ou=people,dc=corp,dc=example")
    ldap_group_base: str | None = Field(default=None, description="where groups live, e.g. ou=groups,dc=corp")
    ldap_group_filter: str = Field(default="(|(member={dn})(uniqueMember={dn})(memberUid={username}))",
                                   description="finds the groups of a user ({dn}, {username} are escaped)")
    ldap_timeout_seconds: float = Field(default=5, gt=0, le=60)
    oidc_issuer: str | None = Field(default=None, description="OpenID provider's issuer URL (its discovery "
                                                              "document is read from there)")
    oidc_client_id: str | None = None
    oidc_client_secret: SecretStr | None = None
    oidc_label: str = Field(default="single sign-on", description="the provider's name on the sign-in button")
    oidc_groups_claim: str = Field(default="groups", description="the ID token / userinfo claim listing groups")
    oidc_username_claim: str = Field(default="preferred_username",
                                     description="the claim used as user name (falls back to email, then sub)")
    password_min_length: int = Field(default=12, ge=8, le=128, description="shortest password a user may set")


@lru_cache
def get_settings() -> IdentitySettings:
    return IdentitySettings()
