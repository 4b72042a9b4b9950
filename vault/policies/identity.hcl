# The identity service may read its own secrets and nothing else.
path "secret/data/sutazai/identity" {
  capabilities = ["read"]
}
