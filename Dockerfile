# syntax=docker/dockerfile:1
# The collection service's image: `infra service start` on a distroless Node 20 runtime.
# Three stages: build (all dependencies, tsc and the oclif manifest), production-dependencies
# (a clean `npm ci --omit=dev`), runtime (only what runs: node_modules, dist, bin, config).
# No HEALTHCHECK: Kubernetes probes /health (liveness) and /ready (readiness) instead.

# Base images, pinned by the digest of the tag's manifest list (every platform still resolves).
# Both digests were not resolved from here (no registry answers); they are the ones public,
# Dependabot-maintained Dockerfiles pin for exactly these tags:
#   node:20.20.0-bookworm: github.com/Dankosik/go-service-template-rest,
#     build/docker/tooling-images.Dockerfile (the same digest in three of its versions);
#   gcr.io/distroless/nodejs20-debian12:nonroot: github.com/no42-org/twiki, Dockerfile (2026),
#     and two other public Dockerfiles with the same digest.
# Re-resolve them where the registries answer, monthly and after a Trivy finding in the base:
# `scripts/pin-base-images.sh` rewrites both to what the tags point at now,
# `scripts/pin-base-images.sh --check` fails while either is unpinned (README "Supply chain").
ARG NODE_IMAGE=node:20.20.0-bookworm@sha256:65b74d0fb42134c49530a8c34e9f3e4a2fb8e1f99ac4a0eb4e6f314b426183a2
ARG RUNTIME_IMAGE=gcr.io/distroless/nodejs20-debian12:nonroot@sha256:2cd820156cf039c8b54ae2d2a97e424b6729070714de8707a6b79f20d56f6a9a

FROM ${NODE_IMAGE} AS build
WORKDIR /src
COPY package.json package-lock.json ./
# --ignore-scripts: the root's `prepare` would build before the sources are here; the build
# needs no native addon (better-sqlite3 loads its binary on first use, not on import).
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY scripts ./scripts
COPY bin ./bin
COPY config ./config
COPY src ./src
RUN npm run build

FROM ${NODE_IMAGE} AS production-dependencies
WORKDIR /app
COPY package.json package-lock.json ./
# Production dependencies only, exactly as locked; then the one native addon is built (or its
# prebuilt binary fetched) for this glibc, the same Debian 12 the runtime image is made from.
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund
# Then out goes what never runs: the addon's sources and objects, and type declarations (the lock
# keeps @types/node as the optional peer of @inquirer/*).
RUN npm rebuild better-sqlite3 \
 && rm -rf node_modules/better-sqlite3/build/Release/obj* node_modules/better-sqlite3/deps node_modules/@types \
 && npm cache clean --force

FROM ${RUNTIME_IMAGE} AS runtime
WORKDIR /app
COPY --from=production-dependencies /app/node_modules ./node_modules
COPY --from=build /src/package.json /src/oclif.manifest.json ./
COPY --from=build /src/bin ./bin
COPY --from=build /src/dist ./dist
COPY --from=build /src/config ./config
# The RDS global CA bundle, which the pod's database URL names (sslrootcert, sslmode=verify-full):
# without it the service refuses the URL. Pinned by SHA-256 (ADD --checksum, Dockerfile 1.6+):
# the build fails when AWS changes the bundle, and whoever re-pins it sees the change. This sum
# is the one a public repository recorded for the bundle downloaded on 2026-09-25 (165408 bytes,
# 108 certificates); no registry answers here to re-check it. Still not recomputed here (no
# network, and no public copy of exactly 165408 bytes was found to hash), but corroborated: at
# least eight unrelated public repositories pin this same SHA-256 for this URL (Dockerfile ADD
# --checksum lines, download scripts, tests), one recording it as fetched 2026-07-28 with 108
# certificates. Re-pin after AWS adds a CA:
#   curl -fsS https://truststore.pki.rds.amazonaws.com/global/global-bundle.pem | sha256sum
ARG RDS_CA_BUNDLE_SHA256=e5bb2084ccf45087bda1c9bffdea0eb15ee67f0b91646106e466714f9de3c7e3
ADD --checksum=sha256:${RDS_CA_BUNDLE_SHA256} --chmod=0444 https://truststore.pki.rds.amazonaws.com/global/global-bundle.pem /etc/ssl/rds/global-bundle.pem
# The root filesystem can be mounted read-only: the jobs database and results go to the data
# volume, and everything Node, oclif and the service write as scratch goes to /tmp (an emptyDir).
ENV NODE_ENV=production \
    HOME=/tmp \
    TMPDIR=/tmp \
    XDG_CACHE_HOME=/tmp/.cache \
    XDG_DATA_HOME=/tmp/.local/share \
    XDG_CONFIG_HOME=/tmp/.config \
    INFRA_SERVICE_HOST=0.0.0.0 \
    INFRA_SERVICE_PORT=8080 \
    INFRA_SERVICE_DATA_DIR=/var/lib/infra
VOLUME ["/var/lib/infra", "/tmp"]
# distroless's nonroot user; numeric, so runAsNonRoot can verify it without reading /etc/passwd.
USER 65532:65532
EXPOSE 8080
ENTRYPOINT ["/nodejs/bin/node", "/app/bin/run.js"]
CMD ["service", "start", "--json"]
