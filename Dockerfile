# syntax=docker/dockerfile:1
# OpenPIM container image: a release build of the `openpim` binary on Debian slim, running as an
# unprivileged user with its data directory on a volume. See docs/OPERATIONS.md, "Container".
#   docker build -t openpim .
#   docker run -p 8080:8080 -v openpim-data:/data openpim

# Build stage: the workspace's own lock file, --locked, only the binary's package.
FROM rust:1-slim-bookworm AS build
WORKDIR /src
COPY Cargo.toml Cargo.lock rustfmt.toml ./
COPY crates ./crates
RUN cargo build --release --locked -p openpim-cli \
    && cp target/release/openpim /usr/local/bin/openpim \
    && rm -rf target

# Runtime stage: Debian slim (glibc, as the build's) with CA certificates for outbound https
# (identity providers, webhooks); nothing else. Debian slim rather than distroless so the
# docker-compose file's second node can copy the shared issuer key with a shell.
FROM debian:bookworm-slim
# ca-certificates is left unpinned on purpose: it is the trust store, and the newest is wanted.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --system --gid 10001 openpim \
    && useradd --system --uid 10001 --gid openpim --home-dir /data --no-create-home openpim \
    && mkdir -p /data /etc/openpim \
    && chown openpim:openpim /data \
    && chmod 0700 /data
COPY --from=build /usr/local/bin/openpim /usr/local/bin/openpim
USER 10001:10001
# Every setting can also come from a mounted /etc/openpim/openpim.toml (OPENPIM_CONFIG) or from
# OPENPIM_* variables; these are the container's defaults.
ENV OPENPIM_LISTEN=0.0.0.0:8080 \
    OPENPIM_DATA=/data \
    OPENPIM_LOG_JSON=true \
    OPENPIM_HEALTH_URL=http://127.0.0.1:8080
VOLUME ["/data"]
EXPOSE 8080
# Liveness through the binary itself (the image has no curl). Behind TLS set OPENPIM_HEALTH_URL
# to https://... and OPENPIM_HEALTH_CA_CERT to the CA that signed the certificate.
HEALTHCHECK --interval=30s --timeout=6s --start-period=30s --retries=3 CMD ["openpim", "health"]
# SIGTERM drains in-flight requests (--shutdown-timeout, 30s by default) and exits 0; give the
# container at least that long to stop (docker stop --time, compose stop_grace_period).
STOPSIGNAL SIGTERM
ENTRYPOINT ["openpim"]
CMD ["serve"]
