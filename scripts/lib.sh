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

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# Start a service that is installed here but not answering on its port, then wait for it.
# Usage: ensure_service NAME PORT COMMAND...
ensure_service() {
    local name="$1" port="$2"
    shift 2
    port_open "$port" && return 0
    if ! command -v "$1" >/dev/null; then
        echo "$name is not installed and nothing answers on 127.0.0.1:$port." >&2
        return 1
    fi
    step "Starting $name"
    "$@" >/dev/null 2>&1 || true
    for _ in $(seq 150); do
        port_open "$port" && return 0
        sleep 0.2
    done
    echo "$name (127.0.0.1:$port) did not start; the tests need it." >&2
    return 1
}

# The services the tests talk to: PostgreSQL and Redis for Tributary itself; MariaDB,
# RabbitMQ, NATS (JetStream) and Mosquitto for the SQL and queue steps and triggers.
ensure_services() {
    local failed=0
    ensure_service PostgreSQL 5432 \
        pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql 2>/dev/null)" main start \
        || failed=1
    ensure_service Redis 6379 redis-server --daemonize yes --bind 127.0.0.1 --port 6379 \
        --save "" --appendonly no || failed=1
    ensure_service MariaDB 3306 start-stop-daemon --start --oknodo --background \
        --exec /usr/sbin/mariadbd || failed=1
    ensure_service RabbitMQ 5672 rabbitmq-server -detached || failed=1
    ensure_service NATS 4222 start-stop-daemon --start --oknodo --background \
        --exec /usr/sbin/nats-server -- -a 127.0.0.1 -p 4222 -js -sd /var/lib/nats-server \
        || failed=1
    ensure_service Mosquitto 1883 mosquitto -d -c /etc/mosquitto/mosquitto.conf || failed=1
    [ "$failed" = 0 ] || exit 1
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

# Empty NAME in .env when it still holds OLD, a default an earlier .env.example wrote (the
# user never chose it); an empty value means "work it out" for the settings this is used on.
forget_env_default() {
    local name="$1" old="$2"
    grep -qxF "${name}=${old}" .env || return 0
    step "Emptying ${name} in .env (was the old default ${old})"
    sed -i "s|^${name}=${old}\$|${name}=|" .env
}
