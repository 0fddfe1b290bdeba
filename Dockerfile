# Schakel's image: TypeScript compiled once at build time, run by plain Node on the current LTS.
# Build: docker build -t schakel .    Run: see docker-compose.yml and docs/operations.md.
# One pinned base for both stages, so the compiled output meets the Node it was built for.
ARG NODE_IMAGE=node:24.11.1-bookworm-slim

# --- build: all dependencies, tsc to dist/ (npm run build also copies the SQL migrations) ---
FROM ${NODE_IMAGE} AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
# The professionals' console (/app): bundled by esbuild into dist/console (npm run build).
COPY console ./console
COPY scripts/build-console.ts ./scripts/
RUN npm run build

# --- runtime: production dependencies only, non-root, no compiler on the request path ---
FROM ${NODE_IMAGE} AS runtime
WORKDIR /app
ENV NODE_ENV=production
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force
COPY --from=build /app/dist ./dist
# dist/ finds these beside it, as src/ does in a checkout (../../profiles from dist/config/).
COPY profiles ./profiles
COPY fixtures ./fixtures
# Operator commands (npm run token, keys, clients) are TypeScript run by tsx, a production
# dependency; they import src/. The server itself never loads them.
COPY scripts ./scripts
COPY src ./src
COPY tsconfig.json ./
# DATA_DIR: PGlite's files, or in development mode the demo keys (a volume in docker-compose.yml).
RUN mkdir -p /app/data && chown node:node /app/data
USER node
# 8080: FHIR and everything else; 8081: liveness from a worker thread (src/http/health-listener.ts).
ENV HEALTH_PORT=8081
EXPOSE 8080 8081
# Liveness only (/healthz never touches the database); orchestrators that route traffic should
# also ask /readyz. With HEALTH_PORT set, the probe asks the worker thread on that port, which
# answers while the main loop is busy (src/http/health-listener.ts). Slim images have no curl:
# Node's own fetch does the request.
HEALTHCHECK --interval=10s --timeout=3s --start-period=60s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.HEALTH_PORT||process.env.PORT||8080)+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
CMD ["node", "--enable-source-maps", "--import", "./dist/tracing/register.js", "dist/server.js"]
