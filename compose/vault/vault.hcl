# Single-node Vault with file storage on the vault-data volume, reachable only on the
# internal data network.
ui            = false
disable_mlock = false

storage "file" {
  path = "/vault/file"
}

listener "tcp" {
  address     = "0.0.0.0:8200"
  tls_disable = true # traffic never leaves the internal network; terminate TLS here if it must
}

api_addr = "http://vault:8200"
