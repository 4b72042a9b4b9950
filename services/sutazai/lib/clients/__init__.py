"""Typed clients for calls between services: one module per service called, each method one
endpoint of that service's contract (`sutazai.lib.contracts.<service>`), its answer parsed into the
contract's model. Only this package and the contracts name `/api/<service>/v1` paths
(tests/unit/test_architecture.py holds every other module to that)."""
