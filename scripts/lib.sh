# Shared by scripts/start and scripts/test. Sourced, not run.

step() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }

require_python() {
    PYTHON="${PYTHON:-python3}"
    if ! "$PYTHON" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))' 2>/dev/null; then
        echo "Tributary needs Python 3.11 (found: $("$PYTHON" --version 2>&1))." >&2
        echo "Install it, or point PYTHON at it: PYTHON=/path/to/python3.11 $0" >&2
        exit 1
    fi
}

require_node() {
    if ! command -v npm >/dev/null; then
        echo "Tributary builds its canvas with Node.js 20+ and npm; install them first." >&2
        exit 1
    fi
}

# Install Debian packages that are missing, when we can (root with apt-get); otherwise say
# what is missing and carry on: the checks in the product report what that costs.
install_system_packages() {
    local missing=()
    for package in "$@"; do
        dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" \
            || missing+=("$package")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
        step "Installing Debian packages: ${missing[*]}"
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
    else
        echo "Missing system packages: ${missing[*]} (install them with your package manager)." >&2
    fi
}

# Start PostgreSQL and Redis when they are installed here but not answering.
ensure_services() {
    if command -v pg_isready >/dev/null && ! pg_isready -q -h 127.0.0.1 -p 5432; then
        step "Starting PostgreSQL"
        pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql)" main start
    fi
    if command -v redis-cli >/dev/null && ! redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1; then
        step "Starting Redis"
        redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no
    fi
    for _ in $(seq 50); do
        pg_isready -q -h 127.0.0.1 -p 5432 && redis-cli -h 127.0.0.1 ping >/dev/null 2>&1 && return 0
        sleep 0.2
    done
    echo "PostgreSQL (127.0.0.1:5432) and Redis (127.0.0.1:6379) must be running for the tests." >&2
    exit 1
}

# Give NAME a generated value in .env when it is missing or empty (never replace one).
ensure_env_value() {
    local name="$1" generator="$2" value
    grep -q "^${name}=." .env && return 0
    value="$(.venv/bin/python -c "$generator")"
    step "Writing a new ${name} to .env"
    if grep -q "^${name}=" .env; then
        sed -i "s|^${name}=.*|${name}=${value}|" .env
    else
        printf '%s=%s\n' "$name" "$value" >> .env
    fi
}
