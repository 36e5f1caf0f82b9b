#!/usr/bin/env bash
# The warehouse servers the tests run against, on 127.0.0.1 only, in a folder of their own:
# one PostgreSQL 15 and two ClickHouse servers that form the cluster `strata_two_shards`
# (one shard each). Ports are free ones picked at start, so two checkouts can test at once.
#
#   scripts/warehouse.sh start DIR   start the three servers with their files under DIR
#                                    (servers left in DIR by an earlier start are stopped
#                                    first), wait until each answers, write DIR/env; when
#                                    one fails, stop the others, name its logs and keep DIR
#   scripts/warehouse.sh env DIR     print the exports of DIR/env (the URLs of the servers)
#   scripts/warehouse.sh stop DIR    stop the servers started in DIR and remove DIR
#
# As root, PostgreSQL runs as the `postgres` user (DIR is made readable by it); otherwise it
# runs as the caller. Nothing here is meant for data that matters: fsync is off.
set -euo pipefail

PG_BIN=${STRATA_PG_BIN:-/usr/lib/postgresql/15/bin}
CLICKHOUSE_SERVER=${STRATA_CLICKHOUSE_SERVER:-clickhouse-server}
CLUSTER=strata_two_shards
START_TIMEOUT=${STRATA_WAREHOUSE_START_TIMEOUT:-60}

usage() {
    echo "usage: scripts/warehouse.sh start|stop|env DIR" >&2
    exit 2
}

fail() {
    echo "warehouse.sh: $*" >&2
    exit 1
}

# Runs a PostgreSQL program as the user that owns the data folder.
as_pg_user() {
    if [ "$(id -u)" -eq 0 ]; then
        runuser -u postgres -- "$@"
    else
        "$@"
    fi
}

# True when process $1 is alive and its command line mentions folder $2 (a pid file's number
# may since have gone to another process, which must not be killed).
process_started_in() {
    local pid=$1 dir=$2
    [ -n "$pid" ] && [ -r "/proc/$pid/cmdline" ] && tr '\0' ' ' <"/proc/$pid/cmdline" | grep -qF -- "$dir"
}

stop_clickhouse() {
    local dir=$1 pid
    [ -f "$dir/pid" ] || return 0
    pid=$(cat "$dir/pid")
    if process_started_in "$pid" "$dir"; then
        kill -TERM "$pid" 2>/dev/null || true
        # A test server holds nothing worth a long shutdown: after 2 s it is killed. (ClickHouse
        # 18.16 mostly exits in under a second, but after a whole `make test` it sometimes
        # takes about 4 s.)
        for _ in $(seq 20); do
            process_started_in "$pid" "$dir" || break
            sleep 0.1
        done
        if process_started_in "$pid" "$dir"; then
            kill -KILL "$pid" 2>/dev/null || true
        fi
    fi
    rm -f "$dir/pid"
}

stop_postgres() {
    local data=$1 pid
    [ -f "$data/postmaster.pid" ] || return 0
    pid=$(head -n 1 "$data/postmaster.pid")
    if process_started_in "$pid" "$data"; then
        as_pg_user "$PG_BIN/pg_ctl" -D "$data" -m immediate -w -t 10 stop >/dev/null 2>&1 ||
            kill -KILL "$pid" 2>/dev/null || true
    fi
}

stop_all() {
    local dir=$1
    [ -d "$dir" ] || return 0
    stop_postgres "$dir/pg" &
    stop_clickhouse "$dir/ch1" &
    stop_clickhouse "$dir/ch2" &
    wait
}

# Prints N free TCP ports of 127.0.0.1, all different.
free_ports() {
    python3 - "$1" <<'EOF'
import socket, sys
held = []
for _ in range(int(sys.argv[1])):
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    held.append(s)
print(" ".join(str(s.getsockname()[1]) for s in held))
EOF
}

write_clickhouse_config() {
    local dir=$1 tcp=$2 http=$3 interserver=$4 shard1_tcp=$5 shard2_tcp=$6
    mkdir -p "$dir/data" "$dir/tmp" "$dir/user_files" "$dir/format_schemas"
    cat >"$dir/config.xml" <<EOF
<?xml version="1.0"?>
<yandex>
    <logger>
        <level>information</level>
        <log>$dir/server.log</log>
        <errorlog>$dir/error.log</errorlog>
        <size>100M</size>
        <count>1</count>
    </logger>
    <listen_host>127.0.0.1</listen_host>
    <tcp_port>$tcp</tcp_port>
    <http_port>$http</http_port>
    <interserver_http_port>$interserver</interserver_http_port>
    <interserver_http_host>127.0.0.1</interserver_http_host>
    <max_connections>256</max_connections>
    <keep_alive_timeout>3</keep_alive_timeout>
    <max_concurrent_queries>64</max_concurrent_queries>
    <uncompressed_cache_size>268435456</uncompressed_cache_size>
    <mark_cache_size>268435456</mark_cache_size>
    <path>$dir/data/</path>
    <tmp_path>$dir/tmp/</tmp_path>
    <user_files_path>$dir/user_files/</user_files_path>
    <format_schema_path>$dir/format_schemas/</format_schema_path>
    <users_config>$dir/users.xml</users_config>
    <default_profile>default</default_profile>
    <default_database>default</default_database>
    <timezone>UTC</timezone>
    <remote_servers>
        <$CLUSTER>
            <shard><replica><host>127.0.0.1</host><port>$shard1_tcp</port></replica></shard>
            <shard><replica><host>127.0.0.1</host><port>$shard2_tcp</port></replica></shard>
        </$CLUSTER>
    </remote_servers>
</yandex>
EOF
    cat >"$dir/users.xml" <<'EOF'
<?xml version="1.0"?>
<yandex>
    <profiles>
        <default>
            <max_memory_usage>4000000000</max_memory_usage>
            <load_balancing>random</load_balancing>
        </default>
    </profiles>
    <users>
        <default>
            <password></password>
            <networks><ip>127.0.0.1</ip></networks>
            <profile>default</profile>
            <quota>default</quota>
        </default>
    </users>
    <quotas>
        <default>
            <interval>
                <duration>3600</duration>
                <queries>0</queries>
                <errors>0</errors>
                <result_rows>0</result_rows>
                <read_rows>0</read_rows>
                <execution_time>0</execution_time>
            </interval>
        </default>
    </quotas>
</yandex>
EOF
}

start_clickhouse() {
    local dir=$1
    # Its own session: a Ctrl-C in the terminal reaches the test wrapper, whose trap stops
    # the servers in order, not the servers themselves.
    setsid "$CLICKHOUSE_SERVER" --config-file="$dir/config.xml" >"$dir/stdout.log" 2>&1 </dev/null &
    echo $! >"$dir/pid"
}

# Waits until the server answers `check`; fails naming the server and its logs when it does
# not within START_TIMEOUT seconds, or when its process ($3, optional) has exited.
wait_for() {
    local name=$1 logs=$2 pid=${3:-} check=$4
    for _ in $(seq $((START_TIMEOUT * 10))); do
        if eval "$check" >/dev/null 2>&1; then return 0; fi
        if [ -n "$pid" ] && ! kill -0 "$pid" 2>/dev/null; then
            report_failure "$name exited during start" "$logs"
            return 1
        fi
        sleep 0.1
    done
    report_failure "$name did not answer within ${START_TIMEOUT} s" "$logs"
    return 1
}

# Prints what went wrong, the logs' names and their last lines.
report_failure() {
    local what=$1 logs=$2 log
    echo "warehouse.sh: $what; its logs: $logs (kept until the next start)" >&2
    for log in $logs; do
        [ -s "$log" ] || continue
        echo "--- last lines of $log" >&2
        tail -n 20 "$log" >&2
    done
}

clickhouse_answers() {
    [ "$(curl -sS --max-time 2 --data-binary 'SELECT 1' "http://127.0.0.1:$1/")" = 1 ]
}

start() {
    local dir=$1
    command -v "$CLICKHOUSE_SERVER" >/dev/null || fail "$CLICKHOUSE_SERVER not found (run scripts/install-deps.sh as root)"
    [ -x "$PG_BIN/initdb" ] || fail "$PG_BIN/initdb not found (run scripts/install-deps.sh as root)"
    if [ -d "$dir" ]; then
        stop_all "$dir"
        rm -rf "$dir"
    fi
    mkdir -p "$dir"
    dir=$(cd "$dir" && pwd)
    chmod 755 "$dir"
    # Interrupted while starting: what has started is stopped.
    trap 'stop_all "$dir"; exit 130' INT TERM

    local ports pg_port ch1_tcp ch1_http ch1_inter ch2_tcp ch2_http ch2_inter
    ports=$(free_ports 7)
    read -r pg_port ch1_tcp ch1_http ch1_inter ch2_tcp ch2_http ch2_inter <<<"$ports"

    write_clickhouse_config "$dir/ch1" "$ch1_tcp" "$ch1_http" "$ch1_inter" "$ch1_tcp" "$ch2_tcp"
    write_clickhouse_config "$dir/ch2" "$ch2_tcp" "$ch2_http" "$ch2_inter" "$ch1_tcp" "$ch2_tcp"
    start_clickhouse "$dir/ch1"
    start_clickhouse "$dir/ch2"

    mkdir -p "$dir/pg" "$dir/pgsock"
    chmod 700 "$dir/pg"
    if [ "$(id -u)" -eq 0 ]; then chown postgres: "$dir/pg" "$dir/pgsock"; fi
    if ! as_pg_user "$PG_BIN/initdb" -D "$dir/pg" -U postgres --auth=trust -E UTF8 \
        --locale=C.UTF-8 --no-sync >"$dir/pg-initdb.log" 2>&1; then
        report_failure "PostgreSQL's initdb failed" "$dir/pg-initdb.log"
        stop_all "$dir"
        exit 1
    fi
    touch "$dir/pg.log"
    if [ "$(id -u)" -eq 0 ]; then chown postgres: "$dir/pg.log"; fi
    if ! as_pg_user "$PG_BIN/pg_ctl" -D "$dir/pg" -l "$dir/pg.log" -w -t "$START_TIMEOUT" \
        -o "-p $pg_port -k $dir/pgsock -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off" \
        start >/dev/null 2>&1 ||
        ! wait_for "PostgreSQL (port $pg_port)" "$dir/pg.log" "" \
            "$PG_BIN/pg_isready -q -h 127.0.0.1 -p $pg_port"; then
        report_failure "PostgreSQL (port $pg_port) did not start" "$dir/pg.log"
        stop_all "$dir"
        exit 1
    fi
    local n http
    for n in 1 2; do
        http=$ch1_http
        [ $n -eq 2 ] && http=$ch2_http
        if ! wait_for "ClickHouse shard $n (HTTP port $http)" \
            "$dir/ch$n/error.log $dir/ch$n/stdout.log" \
            "$(cat "$dir/ch$n/pid")" "clickhouse_answers $http"; then
            stop_all "$dir"
            exit 1
        fi
    done

    cat >"$dir/env" <<EOF
export STRATA_TEST_POSTGRES_URL=postgresql://postgres@127.0.0.1:$pg_port/postgres
export STRATA_TEST_CLICKHOUSE_URL=clickhouse://127.0.0.1:$ch1_http/default
export STRATA_TEST_CLICKHOUSE_URL_2=clickhouse://127.0.0.1:$ch2_http/default
export STRATA_TEST_CLICKHOUSE_CLUSTER=$CLUSTER
EOF
}

[ $# -eq 2 ] || usage
case $1 in
start) start "$2" ;;
stop)
    stop_all "$2"
    rm -rf "$2"
    ;;
env)
    [ -f "$2/env" ] || fail "no servers started in $2 (run: scripts/warehouse.sh start $2)"
    cat "$2/env"
    ;;
*) usage ;;
esac
