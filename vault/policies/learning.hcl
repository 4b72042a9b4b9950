# The learning service may read its own secrets and nothing else.
path "secret/data/sutazai/learning" {
  capabilities = ["read"]
}
