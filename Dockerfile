# syntax=docker/dockerfile:1
#
# The action's image: a static (musl) build of the binary on an empty base.
#
#   docker buildx build --platform linux/amd64,linux/arm64 -t ecr-fargate-preflight .
#
# Stage `build` compiles for the platform being built (TARGETARCH picks the
# musl target). It runs on that platform, not on BUILDPLATFORM: aws-lc (the
# TLS crypto) is C, and Debian ships no musl cross compiler, so each
# architecture is compiled natively. release.yml builds each platform on a
# runner of that architecture, so there is no emulation; a local
# multi-platform build of the other architecture runs under QEMU (slow).
#
# Stage `runtime` holds only the binary and the CA bundle. `scripts/image-test`
# builds this same stage with buildah from a prebuilt binary by standing in for
# `build` (`--build-context build=DIR`), so the two stay one definition.

ARG RUST_VERSION=1.95.0

FROM rust:${RUST_VERSION}-slim-bookworm AS build
ARG TARGETARCH
SHELL ["/bin/bash", "-o", "pipefail", "-c"]
# musl-tools: musl-gcc for aws-lc's C code. ca-certificates: the bundle the
# runtime stage copies. Unpinned on purpose: the base image pins the release.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends musl-tools ca-certificates \
    && rm -rf /var/lib/apt/lists/*
RUN case "${TARGETARCH:-$(dpkg --print-architecture)}" in \
      amd64) triple=x86_64-unknown-linux-musl ;; \
      arm64) triple=aarch64-unknown-linux-musl ;; \
      *) echo "unsupported TARGETARCH ${TARGETARCH}: build linux/amd64 or linux/arm64" >&2; exit 1 ;; \
    esac \
    && rustup target add "$triple" \
    && echo "$triple" > /rust-target

WORKDIR /src
COPY . .
# The cache mounts keep the registry and target/ between local builds; CI
# caches the layers instead (type=gha).
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    triple=$(cat /rust-target) \
    && export "CC_${triple//-/_}=musl-gcc" \
    && cargo build --release --locked --target "$triple" --bin ecr-fargate-preflight \
    && mkdir -p /out \
    && cp "target/$triple/release/ecr-fargate-preflight" /out/ \
    && /out/ecr-fargate-preflight --version

FROM scratch AS runtime
ARG VERSION=dev
ARG REVISION=unknown
LABEL org.opencontainers.image.title="ecr-fargate-preflight" \
      org.opencontainers.image.description="Preflight for buildx multi-platform pushes to Amazon ECR and for ECS Fargate task networking" \
      org.opencontainers.image.source="https://github.com/ecr-fargate-preflight/ecr-fargate-preflight" \
      org.opencontainers.image.licenses="MIT OR Apache-2.0" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}"
# Every TLS client in the binary (the AWS SDK's hyper-rustls, reqwest,
# octocrab) loads its roots through rustls-native-certs, which looks first at
# this path; SSL_CERT_FILE is left unset so a step can still point it at its
# own bundle (e.g. a proxy's CA in the workspace).
COPY --from=build /etc/ssl/certs/ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
COPY --from=build /out/ecr-fargate-preflight /ecr-fargate-preflight
# No USER or WORKDIR: GitHub runs container actions as root in /github/workspace.
ENTRYPOINT ["/ecr-fargate-preflight"]
