#!/bin/sh
# Prepares Vault (or OpenBao) for SutazAI. Idempotent: safe to run on every `docker compose up`.
#   - enables the KV v2 engine at secret/, the transit engine at transit/ (one key per service
#     that stores sensitive fields: identity, learning) and the AppRole auth method
#   - per service: a policy from vault/policies/<service>.hcl, an AppRole bound to it, and the
#     service's secrets at secret/sutazai/<service> (written once, never overwritten)
#   - writes each service's role_id and secret_id to $SECRETS_OUT/<service>/, a volume that
#     only that service mounts, so each service can read only its own secrets
#   - internal TLS: a PKI engine at pki/ with SutazAI's own root CA; each service gets a
#     certificate for its Compose host name (tls.crt, tls.key in its volume), and the CA
#     certificate goes to $CA_OUT for the services and HAProxy to trust. Certificates live
#     $TLS_TTL (90 days by default); re-running this job renews them.
# Needs: VAULT_ADDR, VAULT_TOKEN (an operator or root token), and the bootstrap values below.
set -eu

VAULT_BIN="${VAULT_BIN:-vault}"
POLICY_DIR="${POLICY_DIR:-$(dirname "$0")/policies}"
SECRETS_OUT="${SECRETS_OUT:-/approle}"
SERVICES="${SERVICES:-identity reasoning knowledge learning metacognition}"
: "${VAULT_ADDR:?set VAULT_ADDR to the Vault server, e.g. http://vault:8200}"
: "${VAULT_TOKEN:?set VAULT_TOKEN to a token allowed to configure Vault}"
export BAO_ADDR="${BAO_ADDR:-$VAULT_ADDR}" BAO_TOKEN="${BAO_TOKEN:-$VAULT_TOKEN}"

need() { eval "v=\${$1:-}"; [ -n "$v" ] || { echo "vault-init: $1 is not set (see .env.example)" >&2; exit 1; }; }
for var in SUTAZAI_JWT_SECRET POSTGRES_PASSWORD REDIS_PASSWORD; do need "$var"; done
# a placeholder or a short value is refused before anything is written: nothing is half-initialised
strong() {
  eval "v=\${$1:-}"
  case "$v" in
    *changeme*|*CHANGEME*|*REQUIRED*|*example*|*password*|*secret*|xxxx*)
      echo "vault-init: $1 looks like a placeholder; set a random value in .env (openssl rand -hex 32)" >&2; exit 1 ;;
  esac
  [ "${#v}" -ge "$2" ] || { echo "vault-init: $1 has ${#v} characters; use at least $2 (openssl rand -hex 32)" >&2; exit 1; }
}
strong SUTAZAI_JWT_SECRET 32
strong POSTGRES_PASSWORD 16
strong REDIS_PASSWORD 16

v() { "$VAULT_BIN" "$@"; }

echo "vault-init: waiting for $VAULT_ADDR"
i=0
until v status >/dev/null 2>&1; do
  i=$((i + 1)); [ "$i" -le 60 ] || { echo "vault-init: $VAULT_ADDR is not answering or is sealed" >&2; exit 1; }
  sleep 1
done

v secrets list -format=json | grep -q '"secret/"' || v secrets enable -path=secret -version=2 kv
v auth list -format=json | grep -q '"approle/"' || v auth enable approle
v secrets list -format=json | grep -q '"transit/"' || v secrets enable -path=transit transit
for svc in ${TRANSIT_SERVICES:-identity learning knowledge reasoning}; do
  v read "transit/keys/sutazai-$svc" >/dev/null 2>&1 || v write -f "transit/keys/sutazai-$svc" type=aes256-gcm96 >/dev/null
done

v secrets list -format=json | grep -q '"pki/"' || v secrets enable -path=pki -max-lease-ttl=87600h pki
if ! v read -field=certificate pki/cert/ca >/dev/null 2>&1; then
  v write -field=certificate pki/root/generate/internal common_name="SutazAI internal CA" ttl=87600h >/dev/null
fi
TLS_SERVICES="${TLS_SERVICES:-$SERVICES web}"
v write pki/roles/sutazai-internal allowed_domains="$(echo "$TLS_SERVICES localhost" | tr ' ' ',')" \
  allow_bare_domains=true allow_subdomains=false allow_ip_sans=true key_type=ec key_bits=256 \
  max_ttl="${TLS_TTL:-2160h}" >/dev/null
CA_OUT="${CA_OUT:-$SECRETS_OUT/ca}"
mkdir -p "$CA_OUT"
v read -field=certificate pki/cert/ca > "$CA_OUT/ca.crt"
chmod 0444 "$CA_OUT/ca.crt"

issue_tls() {  # $1: service, $2: folder; the key is returned once and written only there
  bundle=$(v write -field=certificate pki/issue/sutazai-internal common_name="$1" alt_names=localhost \
    ip_sans=127.0.0.1 ttl="${TLS_TTL:-2160h}" format=pem_bundle)
  umask 077
  printf '%s\n' "$bundle" | sed -n '/-----BEGIN .*PRIVATE KEY-----/,/-----END .*PRIVATE KEY-----/p' > "$2/tls.key"
  printf '%s\n' "$bundle" | sed -n '/-----BEGIN CERTIFICATE-----/,/-----END CERTIFICATE-----/p' > "$2/tls.crt"
  chmod 0400 "$2/tls.key" "$2/tls.crt"
  if [ "$(id -u)" = 0 ]; then chown "${SERVICE_UID:-10001}" "$2/tls.key" "$2/tls.crt"; fi
  echo "vault-init: TLS certificate issued for $1"
}

for svc in $TLS_SERVICES; do
  mkdir -p "$SECRETS_OUT/$svc"
  rm -f "$SECRETS_OUT/$svc/tls.key" "$SECRETS_OUT/$svc/tls.crt"
  issue_tls "$svc" "$SECRETS_OUT/$svc"
done

for svc in $SERVICES; do
  policy="$POLICY_DIR/$svc.hcl"
  [ -f "$policy" ] || { echo "vault-init: no policy file $policy" >&2; exit 1; }
  v policy write "sutazai-$svc" "$policy" >/dev/null
  v write "auth/approle/role/sutazai-$svc" token_policies="sutazai-$svc" \
    token_ttl=1h token_max_ttl=24h secret_id_ttl=0 >/dev/null
  if ! v kv get "secret/sutazai/$svc" >/dev/null 2>&1; then
    pg="postgresql://sutazai:${POSTGRES_PASSWORD}@${POSTGRES_HOST:-postgres-router}:5432/sutazai"
    redis="${REDIS_URL:-redis+sentinel://:${REDIS_PASSWORD}@redis-sentinel-1:26379,redis-sentinel-2:26379,redis-sentinel-3:26379/sutazai/0}"
    set -- jwt_secret="$SUTAZAI_JWT_SECRET" database_url="$pg" redis_url="$redis"
    if [ "$svc" = knowledge ]; then  # Neo4j's and Elasticsearch's only where the site runs them (card-images.yml)
      if [ -n "${NEO4J_PASSWORD:-}" ]; then set -- "$@" neo4j_password="$NEO4J_PASSWORD"; fi
      if [ -n "${ELASTIC_PASSWORD:-}" ]; then set -- "$@" elastic_password="$ELASTIC_PASSWORD"; fi
    fi
    v kv put "secret/sutazai/$svc" "$@" >/dev/null
    echo "vault-init: wrote secrets for $svc"
  fi
  mkdir -p "$SECRETS_OUT/$svc"
  rm -f "$SECRETS_OUT/$svc/role_id" "$SECRETS_OUT/$svc/secret_id"
  v read -field=role_id "auth/approle/role/sutazai-$svc/role-id" > "$SECRETS_OUT/$svc/role_id"
  v write -f -field=secret_id "auth/approle/role/sutazai-$svc/secret-id" > "$SECRETS_OUT/$svc/secret_id"
  chmod 0400 "$SECRETS_OUT/$svc/role_id" "$SECRETS_OUT/$svc/secret_id"
  if [ "$(id -u)" = 0 ]; then
    chown "${SERVICE_UID:-10001}" "$SECRETS_OUT/$svc/role_id" "$SECRETS_OUT/$svc/secret_id"
  fi
  echo "vault-init: AppRole ready for $svc"
done
echo "vault-init: done"
