# The identity service may read its own secrets and nothing else.
path "secret/data/sutazai/identity" {
  capabilities = ["read"]
}

# Its transit key: encrypts and decrypts its sensitive stored fields; the key never leaves Vault.
path "transit/encrypt/sutazai-identity" {
  capabilities = ["update"]
}
path "transit/decrypt/sutazai-identity" {
  capabilities = ["update"]
}
