# Single-node secrets server (OpenBao, built here; or HashiCorp Vault with compose/card-images.yml)
# with integrated (Raft) storage on the vault-data volume, reachable only on the internal data
# network. OpenBao has no file storage and never locks memory; keep swap off on the host.
ui = false

storage "raft" {
  path    = "/vault/file"
  node_id = "vault-1"
}

listener "tcp" {
  address     = "0.0.0.0:8200"
  tls_disable = true # traffic never leaves the internal network; terminate TLS here if it must
}

api_addr     = "http://vault:8200"
cluster_addr = "http://vault:8201"
