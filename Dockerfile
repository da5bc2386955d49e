# syntax=docker/dockerfile:1

# roost container image.
#
#   docker build -t roost .
#   docker run -p 3000:3000 \
#     -e PUBLIC_URL=https://auth.example.com \
#     -e RETURN_TO_URLS=https://app.example.com/signed-in \
#     -e TWITTER_CONSUMER_KEY=… -e TWITTER_CONSUMER_SECRET=… \
#     -e COOKIE_SECRET=… -e ENCRYPTION_KEY=… \
#     -e DATABASE_URL=postgres://… -e REDIS_URL=redis://… \
#     roost
#
# The image runs with NODE_ENV=production, so the server needs
# TWITTER_CONSUMER_KEY, TWITTER_CONSUMER_SECRET, RETURN_TO_URLS,
# COOKIE_SECRET and ENCRYPTION_KEY at run time (the sandbox Twitter stand-in
# never runs in production). No secret is baked into the image. Without DATABASE_URL / REDIS_URL roost falls
# back to an embedded Postgres in DATA_DIR and an in-process store, which suits
# a single replica only; mount a volume on DATA_DIR to keep that data.
# Migrations run at start unless MIGRATE_ON_START=false; to run them as a
# separate step (it needs only DATABASE_URL):
#   docker run --rm -e DATABASE_URL=postgres://… roost node dist/src/cli/migrate.js
# The key and session commands likewise need only what they use (docs/configuration.md):
#   docker run --rm -e DATABASE_URL=… -e ENCRYPTION_KEY=… roost node dist/src/cli/keys.js list
# compose.yaml runs the image with Postgres and Redis.
#
# The same image tries the sandbox Twitter stand-in, with the embedded Postgres
# in DATA_DIR (gone with the container), when NODE_ENV is overridden; it is
# still refused with NODE_ENV=production:
#   docker run --rm -p 3000:3000 -e NODE_ENV=development -e SANDBOX=true roost
# then open http://localhost:3000 (docs/production.md, "Try it in a container").

# Node 26, the Active LTS line, on Debian trixie (the official images' default).
ARG NODE_IMAGE=node:26-trixie-slim

# ---- build: compile TypeScript to dist/ ------------------------------------
FROM ${NODE_IMAGE} AS build
WORKDIR /app

COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund

COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
COPY migrations ./migrations
# Emits dist/src/server.js and the compiled migrations in dist/migrations.
RUN npm run build

# ---- runtime: production dependencies and compiled output only -------------
FROM ${NODE_IMAGE} AS runtime

LABEL org.opencontainers.image.title="roost" \
      org.opencontainers.image.description="Sign in with Twitter as a standalone service that issues JWTs" \
      org.opencontainers.image.licenses="MIT"

ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    PORT=3000 \
    DATA_DIR=/home/node/data

WORKDIR /app

COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund \
 && npm cache clean --force

# Application files stay owned by root and read-only for the `node` user;
# only DATA_DIR is writable.
COPY --from=build /app/dist ./dist
# Read at run time from the project root: the served OpenAPI document, and the
# sandbox landing page (used only when the sandbox is on, never in production).
COPY openapi.yaml ./
COPY src/home ./src/home
COPY client/roost.js ./client/roost.js
# Further files read at run time (browser assets such as a client/ folder) are
# copied here, beside src/home, so they stay read-only for the `node` user.

RUN mkdir -p "$DATA_DIR" && chown node:node "$DATA_DIR"

USER node

EXPOSE 3000
# roost closes gracefully on SIGTERM: in-flight requests finish within
# SHUTDOWN_TIMEOUT_MS (default 10 s), so stop with a longer grace period
# (docker stop --time, compose stop_grace_period).
STOPSIGNAL SIGTERM

# Liveness only: /healthz answers while the process runs (no curl in slim).
# Point load balancers and readiness probes at /readyz instead.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.PORT||3000)+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]

CMD ["node", "dist/src/server.js"]
