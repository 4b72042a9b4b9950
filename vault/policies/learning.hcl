# The learning service may read its own secrets and nothing else.
path "secret/data/sutazai/learning" {
  capabilities = ["read"]
}

# Its transit key: encrypts and decrypts its sensitive stored fields; the key never leaves Vault.
path "transit/encrypt/sutazai-learning" {
  capabilities = ["update"]
}
path "transit/decrypt/sutazai-learning" {
  capabilities = ["update"]
}
