# Sourced by scripts/demo and scripts/test: installs what geogrid needs on Debian/Ubuntu.
#   - PostgreSQL server binaries and PostGIS (apt, only when missing; no system cluster is
#     created: geogrid runs its own embedded one),
#   - Python 3.11+ with venv,
#   - a virtualenv in .venv with geogrid installed (editable), plus extras given in $EXTRAS,
#   - with the test extra: Debian's chromium (and a CJK font) for the browser tests, which
#     drive /usr/bin/chromium through Playwright; Playwright's own browser download is never
#     used (`playwright install` is not run); and Debian's nginx, which
#     tests/deploy/test_nginx.py runs with deploy/nginx/geogrid.conf; and Debian's gdal-bin,
#     whose ogrinfo (GDAL's OAPIF driver) reads /ogc in tests/api/test_ogc_clients.py.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
APT_UPDATED=0

say() { printf '\033[1;34m==>\033[0m %s\n' "$*" >&2; }

# apt-get that waits for other apt and dpkg processes instead of failing: a freshly booted
# Ubuntu runs apt-daily and unattended-upgrades while we start. DPkg::Lock::Timeout
# (apt >= 1.9.11) waits for the dpkg lock; the package lists and archives locks it does not
# cover (apt 2.6 still fails at once), so "Could not get lock" is retried, 10 minutes in all.
apt_get() {
  local deadline=$((SECONDS + 600)) errors status
  errors="$(mktemp)"
  while true; do
    status=0
    $SUDO env LC_ALL=C DEBIAN_FRONTEND=noninteractive \
      apt-get -o DPkg::Lock::Timeout=600 "$@" 2>"$errors" || status=$?
    if [ "$status" -eq 0 ] || ! grep -q "Could not get lock" "$errors" \
      || [ "$SECONDS" -ge "$deadline" ]; then
      cat "$errors" >&2
      rm -f "$errors"
      return "$status"
    fi
    say "another apt or dpkg process holds a lock; waiting for it"
    sleep 3
  done
}

apt_install() {
  if [ "$APT_UPDATED" -eq 0 ]; then
    say "apt-get update"
    apt_get update -qq
    APT_UPDATED=1
  fi
  say "apt-get install $*"
  apt_get install -y -qq --no-install-recommends "$@" >/dev/null
}

pg_version() {
  # Newest PostgreSQL server installed under /usr/lib/postgresql, if any.
  ls -d /usr/lib/postgresql/*/bin/initdb 2>/dev/null | sed 's|/usr/lib/postgresql/||; s|/bin/initdb||' \
    | sort -n | tail -n 1
}

ensure_postgis() {
  local version
  version="$(pg_version)"
  if [ -z "$version" ]; then
    # Keep the package from creating and starting a system cluster on port 5432.
    $SUDO mkdir -p /etc/postgresql-common/createcluster.d
    echo "create_main_cluster = false" | $SUDO tee /etc/postgresql-common/createcluster.d/geogrid.conf >/dev/null
    apt_install postgresql postgresql-contrib
    version="$(pg_version)"
  fi
  if [ ! -f "/usr/share/postgresql/$version/extension/postgis.control" ]; then
    apt_install "postgresql-$version-postgis-3"
  fi
  say "PostgreSQL $version with PostGIS: ok"
}

ensure_python() {
  if ! command -v python3 >/dev/null 2>&1; then apt_install python3; fi
  if ! python3 -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
    echo "geogrid needs Python 3.11 or newer; python3 is $(python3 --version)" >&2
    exit 1
  fi
  if [ ! -x .venv/bin/python ]; then
    if ! python3 -m venv --help >/dev/null 2>&1 || ! python3 -c 'import ensurepip' 2>/dev/null; then
      apt_install python3-venv
    fi
    say "creating .venv"
    python3 -m venv .venv
  fi
  local spec="."
  if [ -n "${EXTRAS:-}" ]; then spec=".[${EXTRAS}]"; fi
  say "installing geogrid into .venv ($spec)"
  .venv/bin/python -m pip install -q --disable-pip-version-check --upgrade pip >/dev/null
  .venv/bin/python -m pip install -q --disable-pip-version-check -e "$spec"
}

ensure_browser() {
  case ",${EXTRAS:-}," in *,test,*) ;; *) return 0 ;; esac
  local missing=()
  if [ ! -x /usr/bin/chromium ]; then missing+=(chromium); fi
  # Chinese labels in screenshots need a CJK font; WenQuanYi Micro Hei is small (5 MB).
  if ! fc-list :lang=zh 2>/dev/null | grep -q .; then missing+=(fonts-wqy-microhei); fi
  if [ "${#missing[@]}" -gt 0 ]; then apt_install "${missing[@]}"; fi
  say "chromium for the browser tests: ok"
}

ensure_nginx() {
  case ",${EXTRAS:-}," in *,test,*) ;; *) return 0 ;; esac
  if [ ! -x /usr/sbin/nginx ]; then
    apt_install nginx
    # The package starts Debian's welcome site on port 80; the test runs its own nginx.
    if command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet nginx 2>/dev/null; then
      $SUDO systemctl disable --now nginx >/dev/null 2>&1 || true
    fi
  fi
  say "nginx for the reverse-proxy test: ok"
}

ensure_gdal() {
  case ",${EXTRAS:-}," in *,test,*) ;; *) return 0 ;; esac
  if ! command -v ogrinfo >/dev/null 2>&1; then apt_install gdal-bin; fi
  say "ogrinfo for the OGC API client tests: ok"
}

ensure_postgis
ensure_python
ensure_browser
ensure_nginx
ensure_gdal
