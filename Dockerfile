# Telemetry server image: a build stage with the native tool chain (better-sqlite3 compiles during
# `npm ci`) and the TypeScript compiler, then a slim runtime stage holding only production
# node_modules, the compiled dist/ and package.json, running as the unprivileged `node` user.
#
#   docker build -t robot-telemetry .
#   docker run -p 8000:8000 -p 8080:8080 -v telemetry-data:/app/data robot-telemetry
#
# Deployment with KurrentDB (single node or a three-node cluster): docs/deployment.md.

FROM node:20-bookworm-slim AS build

RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ \
 && rm -rf /var/lib/apt/lists/*

# The image ships npm 10, which ignores package.json's `allowScripts` and would run every install
# script; npm 11 (the version the lock file and allowScripts policy are maintained with) runs only
# the allowed ones (better-sqlite3, esbuild).
RUN npm install -g npm@11.19.1

WORKDIR /app

# Dependencies first, so source edits reuse the cached install layer.
COPY package.json package-lock.json ./
RUN npm ci

COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
COPY workers ./workers
COPY bench ./bench

# Compile, then drop devDependencies (tsx, esbuild, vitest, typescript...) but keep the compiled
# better-sqlite3 binding.
RUN npm run build \
 && npm prune --omit=dev


FROM node:20-bookworm-slim AS runtime

ENV NODE_ENV=production \
    TELEMETRY_HOST=0.0.0.0 \
    TELEMETRY_DATA_DIR=/app/data

WORKDIR /app

# Code stays owned by root (read-only for the service); only the data dir belongs to `node`.
COPY --from=build /app/package.json ./package.json
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist

RUN mkdir -p /app/data && chown node:node /app/data
VOLUME ["/app/data"]

USER node

# 8000: WebSocket ingest (ws://HOST:8000/upstream); 8080: REST and GET /healthz.
EXPOSE 8000 8080

# SIGTERM drains: answers every frame already received, closes sockets with 1001, exits 0.
STOPSIGNAL SIGTERM

# Slim images have no curl: node's global fetch asks /healthz (200 once listeners are up and
# projections have caught up, 503 before).
HEALTHCHECK --interval=10s --timeout=5s --start-period=60s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.TELEMETRY_HTTP_PORT || 8080) + '/healthz', { signal: AbortSignal.timeout(4000) }).then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]

CMD ["node", "dist/src/cli.js"]
