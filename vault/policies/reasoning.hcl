# The reasoning service may read its own secrets and nothing else.
path "secret/data/sutazai/reasoning" {
  capabilities = ["read"]
}
