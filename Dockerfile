# privetl container image: the platform (REST + admin via `privetl web`, gRPC via
# `privetl grpc`) and the engine (`privetl run`). Built from uv.lock, runs as non-root.
FROM python:3.11-slim AS build
RUN pip install --no-cache-dir "uv>=0.5,<1"
ENV UV_COMPILE_BYTECODE=1 UV_LINK_MODE=copy UV_PROJECT_ENVIRONMENT=/opt/venv
WORKDIR /src
COPY pyproject.toml uv.lock README.md ./
RUN uv sync --frozen --no-dev --no-install-project
COPY privetl ./privetl
RUN uv sync --frozen --no-dev

FROM python:3.11-slim
RUN useradd --system --uid 10001 --home /app privetl \
 && mkdir -p /app/var && chown privetl /app/var
COPY --from=build /opt/venv /opt/venv
COPY --from=build /src/privetl /app/privetl
WORKDIR /app
ENV PATH=/opt/venv/bin:$PATH \
    PRIVETL_MODE=production \
    PRIVETL_VAR_DIR=/app/var \
    PYTHONUNBUFFERED=1
USER privetl
EXPOSE 8000 50051
# `privetl grpc` for the gRPC deployment; `privetl migrate` for the migration job (with
# DATABASE_OWNER_URL: it migrates as the owner role and grants the runtime role, docs/audit.md).
CMD ["privetl", "web"]
