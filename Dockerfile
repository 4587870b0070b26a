# syntax=docker/dockerfile:1
# The luascale image: the gateway + autoscaler CLI (`luascale up`) and the demo backend used by
# deploy/kubernetes/example-app.yaml. Build:  docker build -t luascale:0.1.0 .
# Not built in this repository's CI: no container engine runs there. tests in
# test/providers/kubernetes-manifests.test.ts only check that what this file copies and runs exists.

# ---- build: compile TypeScript and the dashboard, then drop dev dependencies ----
FROM node:20-bookworm-slim AS build
WORKDIR /app
# better-sqlite3 ships prebuilt binaries for glibc x64/arm64; the toolchain is the fallback for others.
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ \
 && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json tsconfig.json tsconfig.build.json ./
COPY scripts ./scripts
COPY src ./src
# `npm ci` runs `prepare` = the dashboard build and tsc into dist/.
RUN npm ci --no-audit --no-fund \
 && npm prune --omit=dev --no-audit --no-fund

# ---- runtime: node, the compiled CLI, production dependencies, non-root ----
FROM node:20-bookworm-slim
ENV NODE_ENV=production
WORKDIR /app
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY package.json ./
COPY bin ./bin
COPY schema ./schema
COPY templates ./templates
COPY examples ./examples
# The numeric user matches runAsUser in deploy/kubernetes (Pod Security "restricted" needs non-root).
RUN groupadd --system --gid 10001 luascale \
 && useradd --system --uid 10001 --gid luascale --home-dir /var/lib/luascale luascale \
 && mkdir -p /var/lib/luascale /etc/luascale \
 && chown luascale:luascale /var/lib/luascale
USER 10001:10001
# 8080: gateway; 9090: admin API, dashboard, /metrics, /healthz, /readyz.
EXPOSE 8080 9090
VOLUME ["/var/lib/luascale"]
ENTRYPOINT ["node", "/app/bin/luascale.js"]
CMD ["up", "--config", "/etc/luascale/luascale.yaml"]
