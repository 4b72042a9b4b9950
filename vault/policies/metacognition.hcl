# The metacognition service may read its own secrets and nothing else.
path "secret/data/sutazai/metacognition" {
  capabilities = ["read"]
}
