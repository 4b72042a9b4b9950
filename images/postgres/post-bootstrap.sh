#!/bin/sh
# Runs once, on the member that creates the cluster: the application's role and database, and
# pgvector. Replicas receive them by streaming.
set -eu
psql -v ON_ERROR_STOP=1 -d postgres <<SQL
CREATE ROLE sutazai LOGIN PASSWORD '${POSTGRES_PASSWORD}';
CREATE DATABASE sutazai OWNER sutazai;
SQL
psql -v ON_ERROR_STOP=1 -d sutazai -c "CREATE EXTENSION IF NOT EXISTS vector;"
