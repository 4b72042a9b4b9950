# The knowledge service may read its own secrets and nothing else.
path "secret/data/sutazai/knowledge" {
  capabilities = ["read"]
}
