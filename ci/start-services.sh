#!/usr/bin/env bash
# Make sure the databases the tests use are up, starting them with the machine's documented
# commands when they are not.
# PostgreSQL and MariaDB are required (exit 1 if either cannot be started).
set -euo pipefail

PGHOST_CHECK="${PGHOST_CHECK:-127.0.0.1}"
PGPORT_CHECK="${PGPORT_CHECK:-5432}"

wait_for() {  # wait_for SECONDS COMMAND...: retry COMMAND once a second until it succeeds
    local seconds="$1"; shift
    for _ in $(seq "$seconds"); do
        if "$@" >/dev/null 2>&1; then return 0; fi
        sleep 1
    done
    return 1
}

pg_up() { pg_isready -q -h "$PGHOST_CHECK" -p "$PGPORT_CHECK"; }

if pg_up; then
    echo "ci: PostgreSQL is up on $PGHOST_CHECK:$PGPORT_CHECK"
else
    echo "ci: PostgreSQL is down; starting it"
    version="$(ls /etc/postgresql | sort -V | tail -n 1)"
    pg_ctlcluster --skip-systemctl-redirect "$version" main start || true
    if ! wait_for 60 pg_up; then
        echo "ci: PostgreSQL did not come up on $PGHOST_CHECK:$PGPORT_CHECK" >&2
        exit 1
    fi
    echo "ci: PostgreSQL started"
fi

mariadb_up() { mariadb-admin --protocol=tcp -h 127.0.0.1 -P 3306 -u root ping; }

# MariaDB is required: the MySQL tests fail under CI when it is unreachable.
if mariadb_up >/dev/null 2>&1; then
    echo "ci: MariaDB is up on 127.0.0.1:3306"
else
    echo "ci: MariaDB is down; starting it"
    start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd || true
    if ! wait_for 60 mariadb_up; then
        echo "ci: MariaDB did not come up on 127.0.0.1:3306" >&2
        exit 1
    fi
    echo "ci: MariaDB started"
fi

# PgBouncer: tests/test_pgbouncer.py starts its own instance (transaction pooling) in front of
# PostgreSQL; only the binary is needed, from Debian's package when it is missing.
if ! command -v pgbouncer >/dev/null 2>&1 && [ ! -x /usr/sbin/pgbouncer ]; then
    echo "ci: installing pgbouncer (Debian package)"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q pgbouncer >/dev/null \
        || echo "ci: could not install pgbouncer: tests/test_pgbouncer.py will fail" >&2
fi
