# The reasoning service may read its own secrets and nothing else.
path "secret/data/sutazai/reasoning" {
  capabilities = ["read"]
}

# Its transit key: encrypts and decrypts the registered MCP servers' credentials.
path "transit/encrypt/sutazai-reasoning" {
  capabilities = ["update"]
}
path "transit/decrypt/sutazai-reasoning" {
  capabilities = ["update"]
}
