#!/bin/sh
# vault-init job: initialise Vault on first start (one unseal key, kept in the vault-keys
# volume: move it offline and enable auto-unseal for real deployments), unseal it, then apply
# SutazAI's policies, AppRoles and secrets with /vault-config/init.sh.
set -eu
KEYS=/vault-keys/init.json

status() { vault status -format=json 2>/dev/null || true; }
until status | grep -q '"initialized"'; do sleep 1; done

if status | grep -q '"initialized": false'; then
  echo "vault-init: initialising Vault"
  umask 077
  vault operator init -key-shares=1 -key-threshold=1 -format=json > "$KEYS"
fi
[ -s "$KEYS" ] || { echo "vault-init: Vault is initialised but $KEYS is missing; unseal it by hand" >&2; exit 1; }
unseal_key=$(sed -n 's/.*"unseal_keys_b64": *\[ *"\([^"]*\)".*/\1/p' "$KEYS" | head -1)
[ -n "$unseal_key" ] || unseal_key=$(tr -d '\n ' < "$KEYS" | sed -n 's/.*"unseal_keys_b64":\["\([^"]*\)".*/\1/p')
if status | grep -q '"sealed": true'; then
  vault operator unseal "$unseal_key" >/dev/null
fi
VAULT_TOKEN=$(tr -d '\n ' < "$KEYS" | sed -n 's/.*"root_token":"\([^"]*\)".*/\1/p')
export VAULT_TOKEN
exec sh /vault-config/init.sh
