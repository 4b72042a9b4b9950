# The knowledge service may read its own secrets and nothing else.
path "secret/data/sutazai/knowledge" {
  capabilities = ["read"]
}

# Its transit key: encrypts and decrypts the connectors' credentials; the key never leaves Vault.
path "transit/encrypt/sutazai-knowledge" {
  capabilities = ["update"]
}
path "transit/decrypt/sutazai-knowledge" {
  capabilities = ["update"]
}
