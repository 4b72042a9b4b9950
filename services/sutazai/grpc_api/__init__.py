"""gRPC for service-to-service use: proto/sutazai/v1/sutazai.proto, code generated from it at
build time into `generated/` (not committed), served by `server.py` in front of the HTTP API."""
