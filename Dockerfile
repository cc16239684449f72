# fly-autoplacer controller image: `docker build .` (or `fly deploy`, which builds it remotely).
#
# Stage 1 builds with the same script a developer uses (scripts/setup.sh: installs the Debian
# packages it lacks, configures and builds). Stage 2 is a slim Debian with only the shared
# libraries the binary links, a non-root user and the policies.
# scripts/check_dockerfile.sh checks this file against a local build (packages exist in Debian,
# every library `ldd` lists comes from the runtime packages, copied paths exist, user is non-root);
# scripts/lint_dockerfile.sh lints it.
#
# No secret is ever a build argument or baked into an image layer: FLY_API_TOKEN and
# FLY_PROMETHEUS_TOKEN come from the environment at run time (`fly secrets set`, `docker run -e`).

FROM debian:bookworm AS build
WORKDIR /src
# Packages first, in their own layer: it is rebuilt only when setup.sh (its package list) changes.
COPY scripts/setup.sh scripts/setup.sh
RUN scripts/setup.sh --no-build && rm -rf /var/lib/apt/lists/*
COPY . .
# Only the controller binary; strip it (the debug info stays in the build stage).
RUN scripts/setup.sh --target autoplacer \
    && strip --strip-unneeded build/src/cli/autoplacer \
    && build/src/cli/autoplacer --version

FROM debian:bookworm-slim AS runtime
# Runtime shared libraries of the binary (Debian bookworm package names), CA roots for the TLS
# clients (Machines API, Prometheus API) and curl for the container HEALTHCHECK.
RUN apt-get update \
    && apt-get install -y --no-install-recommends \
        ca-certificates \
        curl \
        libboost-json1.81.0 \
        libboost-url1.81.0 \
        libfmt9 \
        libprometheus-cpp-core1.0 \
        libspdlog1.10 \
        libssl3 \
        libstdc++6 \
        libyaml-cpp0.7 \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --system --gid 10001 autoplacer \
    && useradd --system --uid 10001 --gid autoplacer --home-dir /var/lib/autoplacer \
        --create-home --shell /usr/sbin/nologin autoplacer

COPY --from=build /src/build/src/cli/autoplacer /usr/local/bin/autoplacer
# Policies baked in; mount a directory over /etc/autoplacer/policies to replace them (the
# controller watches the directory).
COPY deploy/policies/ /etc/autoplacer/policies/

# Numeric user so that "run as non-root" checks (Kubernetes runAsNonRoot, scanners) can verify it.
USER 10001:10001
# The controller's local state directory (placement history) lives in the working directory;
# mount a volume here to keep it across restarts.
WORKDIR /var/lib/autoplacer
EXPOSE 8080

# Exec form: no shell in the health check. Fly ignores HEALTHCHECK (it uses fly.toml's checks);
# plain Docker and Compose use it.
HEALTHCHECK --interval=15s --timeout=3s --start-period=20s --retries=3 \
    CMD ["curl", "--fail", "--silent", "--show-error", "--output", "/dev/null", "http://127.0.0.1:8080/healthz"]

ENTRYPOINT ["/usr/local/bin/autoplacer"]
CMD ["run", "--policy", "/etc/autoplacer/policies", "--listen", "0.0.0.0:8080"]
