#!/usr/bin/env bash
# hashfleet on four "hosts" of one Linux machine: Redis, two worker hosts and a producer, plus Flower,
# each in its own network namespace with its own address, plugged by veth pairs into a bridge that lives
# in a "switch" namespace (as tests/support/netns.py builds them). A real job runs over FOLDER; the demo
# prints which host hashed how many files, as the workers' logs and Flower both tell it.
#
#   sudo deploy/demo-multihost.sh [FOLDER] [--keep]      # FOLDER defaults to tests/data/images
#
#   --keep   afterwards, plug this machine into the demo network (10.78.0.254) and leave everything up
#            so Flower can be opened in a browser here; Enter stops it.
#
# Environment: PYTHON (an interpreter with hashfleet installed; default python3), CHUNK_SIZE (files per
# chunk, default 2 so a small folder is shared), CONCURRENCY (processes per worker host, default 1),
# START_TIMEOUT and JOB_TIMEOUT (seconds, default 60 and 300).
#
# Needs root and iproute2, redis-server on PATH. Nothing is added to this machine's network unless
# --keep is given, and everything (processes, namespaces, links, the work folder) is removed on exit,
# also on Ctrl-C or an error.
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
FOLDER="$REPO/tests/data/images"
KEEP=0
for arg in "$@"; do
    case "$arg" in
        --keep) KEEP=1 ;;
        -h|--help) sed -n '2,19p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) FOLDER=$arg ;;
    esac
done
PYTHON=${PYTHON:-python3}
CHUNK_SIZE=${CHUNK_SIZE:-2}
CONCURRENCY=${CONCURRENCY:-1}
START_TIMEOUT=${START_TIMEOUT:-60}
JOB_TIMEOUT=${JOB_TIMEOUT:-300}
STOP_TIMEOUT=10              # seconds each process gets to stop on SIGTERM

TAG="hfdemo-$$"              # every namespace is $TAG-<role>
SUBNET=10.78.0               # private to the demo's namespaces
REDIS_IP=$SUBNET.1 FLOWER_IP=$SUBNET.2 PRODUCER_IP=$SUBNET.20 LOCAL_IP=$SUBNET.254
REDIS_PORT=6379 FLOWER_PORT=5555
declare -A WORKER_IP=([hosta]=$SUBNET.11 [hostb]=$SUBNET.12)
ROOT_LINK="hfd$$"            # this machine's side of the --keep link

die() { echo "demo-multihost: $*" >&2; exit 1; }
[ "$(id -u)" = 0 ] || die "network namespaces need root: sudo $0 $*"
command -v ip >/dev/null || die "iproute2 (ip) is not installed: apt-get install iproute2"
command -v redis-server >/dev/null || die "redis-server is not installed: apt-get install redis-server"
[ -d "$FOLDER" ] || die "no folder $FOLDER"
FOLDER=$(realpath "$FOLDER")
cd "$REPO"
"$PYTHON" -c "import tasks, producer, flower" 2>/dev/null \
    || die "$PYTHON cannot import hashfleet and flower: pip install -e . (or set PYTHON)"

WORK=$(mktemp -d /tmp/hashfleet-demo.XXXXXX)
NAMESPACES=()
declare -A PIDS=()

cleanup() {
    local code=$? ns role pids tries
    set +e
    trap - EXIT INT TERM
    # Workers and Flower first (SIGTERM: they stop cleanly while Redis is still there), then Redis;
    # whatever is left in a namespace after STOP_TIMEOUT s gets SIGKILL.
    for role in hosta hostb monitor redis; do
        [ -n "${PIDS[$role]:-}" ] || continue
        kill -TERM "${PIDS[$role]}" 2>/dev/null
        for tries in $(seq $((STOP_TIMEOUT * 5))); do
            kill -0 "${PIDS[$role]}" 2>/dev/null || break
            sleep 0.2
        done
    done
    for ns in "${NAMESPACES[@]}"; do
        for tries in $(seq 50); do
            pids=$(ip netns pids "$ns" 2>/dev/null)
            [ -z "$pids" ] && break
            kill -KILL $pids 2>/dev/null
            sleep 0.2
        done
        ip netns del "$ns" 2>/dev/null
    done
    ip link del "$ROOT_LINK" 2>/dev/null
    rm -rf "$WORK"
    exit "$code"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# --- the network ---------------------------------------------------------------------------------------
SWITCH="$TAG-sw"
ip netns add "$SWITCH"; NAMESPACES+=("$SWITCH")
ip -n "$SWITCH" link add br0 type bridge
ip -n "$SWITCH" link set br0 up

add_host() {  # add_host ROLE ADDRESS: a namespace $TAG-ROLE with eth0 at ADDRESS on the switch
    local ns="$TAG-$1" port="p-$1"
    ip netns add "$ns"; NAMESPACES+=("$ns")
    ip -n "$SWITCH" link add "$port" type veth peer name eth0 netns "$ns"
    ip -n "$SWITCH" link set "$port" master br0 up
    ip -n "$ns" addr add "$2/24" dev eth0
    ip -n "$ns" link set eth0 up
    ip -n "$ns" link set lo up
}
add_host redis "$REDIS_IP"
add_host monitor "$FLOWER_IP"
add_host producer "$PRODUCER_IP"
for host in hosta hostb; do add_host "$host" "${WORKER_IP[$host]}"; done

# --- processes -----------------------------------------------------------------------------------------
start() {  # start ROLE ARGV...: run ARGV inside $TAG-ROLE in the background, output to $WORK/ROLE.log
    local role=$1; shift
    ip netns exec "$TAG-$role" "$@" >"$WORK/$role.log" 2>&1 &
    PIDS[$role]=$!
    disown  # cleanup() stops it; no "Killed" notices from bash
}

wait_for_log() {  # wait_for_log ROLE PATTERN: until ROLE's log has PATTERN, or fail after START_TIMEOUT
    local deadline=$((SECONDS + START_TIMEOUT))
    until grep -q -- "$2" "$WORK/$1.log" 2>/dev/null; do
        kill -0 "${PIDS[$1]}" 2>/dev/null || die "$1 exited: $(tail -20 "$WORK/$1.log")"
        [ "$SECONDS" -lt "$deadline" ] || die "$1: no '$2' within $START_TIMEOUT s: $(tail -20 "$WORK/$1.log")"
        sleep 0.2
    done
}

PASSWORD=$(od -An -tx1 -N16 /dev/urandom | tr -d ' \n')
for name in $(compgen -e); do [[ $name == HASHFLEET_* || $name == FLOWER_* ]] && unset "$name"; done
export HASHFLEET_BROKER_URL="redis://:$PASSWORD@$REDIS_IP:$REDIS_PORT/0"
export HASHFLEET_QUEUE="demo-$$"
export HASHFLEET_ALLOWED_ROOTS="$FOLDER"
export HASHFLEET_JOBS_DIR="$WORK/jobs"
export HASHFLEET_PROGRESS_INTERVAL=1

echo "demo network $SUBNET.0/24: redis $REDIS_IP, flower $FLOWER_IP, hosta ${WORKER_IP[hosta]}," \
     "hostb ${WORKER_IP[hostb]}, producer $PRODUCER_IP"
start redis redis-server --bind "$REDIS_IP" --port "$REDIS_PORT" --requirepass "$PASSWORD" \
    --save "" --appendonly no --dir "$WORK" --daemonize no
wait_for_log redis "Ready to accept connections"
for host in hosta hostb; do
    start "$host" "$PYTHON" -m celery -A tasks worker --pool prefork --concurrency "$CONCURRENCY" \
        --hostname "$host@${WORKER_IP[$host]}" --queues "$HASHFLEET_QUEUE" --without-gossip \
        --without-mingle --loglevel INFO
done
FLOWER_BASIC_AUTH="demo:$PASSWORD" start monitor "$PYTHON" -m celery -A tasks flower \
    --address="$FLOWER_IP" --port="$FLOWER_PORT"
for host in hosta hostb; do wait_for_log "$host" " ready\."; done
# Workers send task events only once a monitor asks (Flower broadcasts enable_events every 5 s): wait
# for it, so Flower sees every task of the job.
for host in hosta hostb; do wait_for_log "$host" "Events of group {task} enabled by remote"; done

# --- the job -------------------------------------------------------------------------------------------
echo "producer: hashfleet run $FOLDER --chunk-size $CHUNK_SIZE"
ip netns exec "$TAG-producer" "$PYTHON" -m producer run "$FOLDER" -o "$WORK/hashes.csv" \
    --chunk-size "$CHUNK_SIZE" --timeout "$JOB_TIMEOUT" 2>"$WORK/producer.log" \
    || die "the job failed: $(tail -20 "$WORK/producer.log")"
records=$("$PYTHON" -c 'import csv, sys; print(sum(1 for _ in csv.DictReader(open(sys.argv[1]))))' \
    "$WORK/hashes.csv")

# --- who hashed what -----------------------------------------------------------------------------------
# A chunk's success line ends with its summary, {'v': 2, 'n': FILES, 'errors': E}. A chunk run twice
# (redelivered after a loss) counts once per host that ran it.
echo "files hashed per host (from the workers' logs):"
for host in hosta hostb; do
    grep -ho "hash_chunk\[[^]]*\] succeeded in [^:]*: {'v': [0-9]*, 'n': [0-9]*" "$WORK/$host.log" \
        | sed -E "s/^hash_chunk\[([^]]*)\].*'n': ([0-9]+)$/\1 \2/" | sort -u \
        | awk -v host="$host" -v ip="${WORKER_IP[$host]}" \
            '{files += $2; chunks++} END {printf "  %s (%s): %d files in %d chunks\n", host, ip, files, chunks}'
done
echo "records in the output: $records"
# The same from Flower's API, asked from the producer host (Flower gets the events a moment after the
# results: it is asked until it has every chunk the producer sent, for at most START_TIMEOUT s).
chunks=$(grep -o "in [0-9]* chunks" "$WORK/producer.log" | head -1 | tr -dc 0-9)
ip netns exec "$TAG-producer" "$PYTHON" - "http://$FLOWER_IP:$FLOWER_PORT" "demo:$PASSWORD" \
    "$START_TIMEOUT" "${chunks:-0}" <<'EOF' || die "Flower's API did not answer"
import ast, base64, collections, json, sys, time, urllib.request
url, auth, timeout, expected = sys.argv[1], sys.argv[2], float(sys.argv[3]), int(sys.argv[4])
request = urllib.request.Request(url + "/api/tasks?limit=100000")
request.add_header("Authorization", "Basic " + base64.b64encode(auth.encode()).decode())
deadline = time.monotonic() + timeout
while True:
    tasks = json.load(urllib.request.urlopen(request, timeout=10))
    chunks = [t for t in tasks.values() if t["name"] == "hashfleet.hash_chunk" and t["state"] == "SUCCESS"]
    if len({t["uuid"] for t in chunks}) >= expected or time.monotonic() > deadline:
        break
    time.sleep(0.5)
files = collections.Counter()
for task in chunks:
    files[task["worker"]] += ast.literal_eval(task["result"])["n"]
print(f"files hashed per worker (from Flower at {url}):")
for worker, count in sorted(files.items()):
    print(f"  {worker}: {count} files")
EOF

if [ "$KEEP" = 1 ]; then
    ip link add "$ROOT_LINK" type veth peer name p-local netns "$SWITCH"
    ip -n "$SWITCH" link set p-local master br0 up
    ip addr add "$LOCAL_IP/24" dev "$ROOT_LINK"
    ip link set "$ROOT_LINK" up
    echo "Flower: open http://$FLOWER_IP:$FLOWER_PORT/ (user demo, password $PASSWORD); output: $WORK/hashes.csv"
    read -r -p "Press Enter to stop the demo and remove everything. " _ || true
else
    echo "Flower ran at http://$FLOWER_IP:$FLOWER_PORT/ inside the demo network (user demo);" \
         "run with --keep to open it from this machine."
fi
