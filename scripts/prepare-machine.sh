#!/usr/bin/env bash
# Makes this machine able to run the system and its tests: Node.js dependencies installed, PostgreSQL and
# Redis reachable. Starts them when installed but stopped, installs them (Debian/Ubuntu, as root) when
# missing, and otherwise says exactly what to do. Safe to run again: it only acts on what is missing.
#
# Only local services are managed: if DATABASE_URL or REDIS_URL point at another host, they are left alone.
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf '[prepare] %s\n' "$*"; }
fail() { printf '[prepare] %s\n' "$*" >&2; exit 1; }

DATABASE_URL="${DATABASE_URL:-postgresql://postgres:postgres@127.0.0.1:5432/school_dashboard}"
REDIS_URL="${REDIS_URL:-redis://127.0.0.1:6379}"

# host and port of a URL like scheme://user:pass@host:port/path
url_host() { local rest="${1#*://}"; rest="${rest#*@}"; rest="${rest%%/*}"; printf '%s' "${rest%%:*}"; }
url_port() { local rest="${1#*://}"; rest="${rest#*@}"; rest="${rest%%/*}"; [[ "$rest" == *:* ]] && printf '%s' "${rest##*:}" || printf '%s' "$2"; }
is_local() { [[ "$1" == "127.0.0.1" || "$1" == "localhost" || "$1" == "::1" ]]; }
reachable() { (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null; }
wait_reachable() { for _ in $(seq 1 60); do reachable "$1" "$2" && return 0; sleep 0.5; done; return 1; }
can_apt() { [[ "$(id -u)" == "0" ]] && command -v apt-get >/dev/null; }

apt_updated=""
apt_install() {
  if [[ -z "$apt_updated" ]]; then
    say "apt-get update"
    DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null
    apt_updated=1
  fi
  say "apt-get install -y $*"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

# --- Node.js -------------------------------------------------------------------------------------------
command -v node >/dev/null || fail "Node.js is not installed. Install Node.js 20.19+ (https://nodejs.org) and run this again."
node -e 'const [a,b]=process.versions.node.split(".").map(Number); process.exit(a>20||(a===20&&b>=19)?0:1)' \
  || fail "Node.js $(node -v) is too old: this project needs 20.19 or newer."

if [[ ! -d node_modules || ! -f node_modules/.package-lock.json || package-lock.json -nt node_modules/.package-lock.json ]]; then
  say "installing Node.js dependencies (npm ci)"
  npm ci --no-audit --no-fund
fi

# --- PostgreSQL ----------------------------------------------------------------------------------------
pg_host="$(url_host "$DATABASE_URL")"; pg_port="$(url_port "$DATABASE_URL" 5432)"
if is_local "$pg_host" && ! reachable 127.0.0.1 "$pg_port"; then
  start_pg() {
    local version
    version="$(ls /etc/postgresql 2>/dev/null | sort -V | tail -n 1)"
    [[ -n "$version" ]] || return 1
    say "starting PostgreSQL $version"
    if command -v pg_ctlcluster >/dev/null; then
      pg_ctlcluster --skip-systemctl-redirect "$version" main start || true
    fi
    wait_reachable 127.0.0.1 "$pg_port"
  }
  if ! start_pg; then
    if ! ls /etc/postgresql/*/main >/dev/null 2>&1 && can_apt; then
      apt_install postgresql
      start_pg || fail "PostgreSQL was installed but did not start; see /var/log/postgresql/."
      # A fresh cluster wants a password over TCP; give the postgres role the one our default URL carries.
      su postgres -c "psql -q -c \"ALTER USER postgres PASSWORD 'postgres'\"" >/dev/null
      say "PostgreSQL installed; role postgres has password 'postgres' (the default DATABASE_URL)"
    else
      fail "PostgreSQL is not reachable on 127.0.0.1:$pg_port. Start it (Debian: pg_ctlcluster <version> main start),
  or install it (Debian/Ubuntu as root: apt-get install -y postgresql), or set DATABASE_URL to a server you have."
    fi
  fi
fi

# --- Redis ---------------------------------------------------------------------------------------------
redis_host="$(url_host "$REDIS_URL")"; redis_port="$(url_port "$REDIS_URL" 6379)"
if is_local "$redis_host" && ! reachable 127.0.0.1 "$redis_port"; then
  if ! command -v redis-server >/dev/null && can_apt; then
    apt_install redis-server
  fi
  command -v redis-server >/dev/null || fail "Redis is not reachable on 127.0.0.1:$redis_port and not installed.
  Install it (Debian/Ubuntu as root: apt-get install -y redis-server; macOS: brew install redis) and run this again,
  or set REDIS_URL to a Redis 7 server you have."
  say "starting Redis on 127.0.0.1:$redis_port"
  redis-server --daemonize yes --bind 127.0.0.1 --port "$redis_port" --save "" --appendonly no >/dev/null
  wait_reachable 127.0.0.1 "$redis_port" || fail "Redis did not start on 127.0.0.1:$redis_port"
fi

# --- HAProxy (optional) --------------------------------------------------------------------------------
# The load balancer of docker-compose.yml, which tests/scale runs for real. Installed only when missing and
# apt-get is usable; without it those tests stop and say what to install.
if ! command -v haproxy >/dev/null && can_apt; then
  apt_install haproxy || say "could not install haproxy (optional; tests/scale needs it)"
fi

say "ready: PostgreSQL ${pg_host}:${pg_port}, Redis ${redis_host}:${redis_port}"
