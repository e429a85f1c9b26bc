#!/usr/bin/env bash
# Instructions the relay (or the agent) executes per proxied webhook, counted by valgrind's
# callgrind: unlike time or CPU figures, the count does not move with what else the machine is
# doing, so two builds compare on a shared VM in one run each (bench/README.md).
#
# Usage: bench/instructions.sh [BIN_DIR] [keep-alive|new-conn] [BODY_FILE] [relay|agent]
#   BIN_DIR      holds the release `relay` and `agent` (default: target/release)
#   BODY_FILE    the webhook body (default: ../shared/okta's event hook sample)
#   relay|agent  which process is counted (default: relay)
#
# It runs that process under callgrind twice, with 200 and with 1,200 sequential webhooks from
# one sender, through a real agent (proxy mode) to a small local service, and prints
# (instructions of the second run - the first) / 1,000: the start-up and shutdown costs cancel.
# Needs valgrind (Debian: `apt-get install valgrind`), python3 and curl; loopback only; each call
# takes about ten seconds.
set -euo pipefail
shopt -s inherit_errexit # a failed step inside $(measure …) stops the script too

here=$(cd "$(dirname "$0")" && pwd)
bin=${1:-$here/../target/release}
mode=${2:-keep-alive}
body=${3:-$here/../../shared/okta/event-hook.user.session.start.json}
counted=${4:-relay}
case $counted in relay | agent) ;; *)
    echo "the counted process must be relay or agent" >&2
    exit 2
    ;;
esac
case $mode in keep-alive | new-conn) ;; *)
    echo "mode must be keep-alive or new-conn" >&2
    exit 2
    ;;
esac
[ -r "$body" ] || {
    echo "cannot read the body file $body" >&2
    exit 2
}
for tool in valgrind python3 curl; do
    command -v $tool >/dev/null || {
        echo "$tool is needed" >&2
        exit 2
    }
done

work=$(mktemp -d)
pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    rm -rf "$work"
}
trap cleanup EXIT

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# The local service: answers every request 200 "ok" on keep-alive connections. Without
# TCP_NODELAY its answer (head, then body: two writes) would wait ~40 ms for a delayed ACK, and
# the agent would then see one webhook per capture-store transaction.
cat >"$work/service.py" <<'EOF'
import http.server, sys
class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    def do_POST(self):
        self.rfile.read(int(self.headers.get("content-length", 0)))
        self.send_response(200)
        self.send_header("content-length", "2")
        self.end_headers()
        self.wfile.write(b"ok")
    def log_message(self, *args):
        pass
http.server.ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Handler).serve_forever()
EOF

# The sender: N webhooks one after another, each with a fresh eventId so none is a redelivery.
cat >"$work/send.py" <<'EOF'
import http.client, json, socket, sys, uuid
port, count, keep_alive, path = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3] == "keep-alive", sys.argv[4]
template = open(path, "rb").read()
try:
    old = json.loads(template)["eventId"].encode()
except Exception:
    old = None
conn, ok = None, 0
for _ in range(count):
    if conn is None or not keep_alive:
        if conn:
            conn.close()
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        conn.connect()
        # http.client writes the head and the body separately: without this each request
        # would wait for a delayed ACK.
        conn.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    body = template.replace(old, str(uuid.uuid4()).encode()[: len(old)]) if old else template
    conn.request("POST", "/h/okta", body=body, headers={"content-type": "application/json"})
    response = conn.getresponse()
    response.read()
    ok += response.status == 200
if ok != count:
    sys.exit(f"only {ok} of {count} webhooks were answered 200")
EOF

service_port=$(free_port)
python3 "$work/service.py" "$service_port" &
pids+=($!)

# A relay and its agent, one of them under callgrind; prints its instruction total after `count`
# webhooks.
measure() {
    local count=$1 dir=$work/run-$1
    mkdir -p "$dir"
    local token relay_port
    token=$("$bin/relay" token create --source okta --data "$dir/relay")
    # Proxy mode is the source's setting, kept by the relay.
    "$bin/relay" source set okta --mode proxy --data "$dir/relay" >/dev/null
    relay_port=$(free_port)
    local relay_wrap=() agent_wrap=()
    local callgrind=(valgrind --tool=callgrind --callgrind-out-file="$dir/callgrind.out" -q)
    if [ "$counted" = relay ]; then relay_wrap=("${callgrind[@]}"); else agent_wrap=("${callgrind[@]}"); fi
    "${relay_wrap[@]}" "$bin/relay" serve --listen "127.0.0.1:$relay_port" --data "$dir/relay" \
        --rate-limit 0 --max-queued-events 0 >"$dir/relay.log" 2>&1 &
    # This runs in a subshell ($(measure …)), so these are its own: if a step fails, the trap
    # stops both processes before the subshell exits.
    relay_pid=$! agent_pid=
    trap 'kill $relay_pid $agent_pid 2>/dev/null || true' EXIT
    local up=
    for _ in $(seq 300); do
        if curl -fs -o /dev/null "http://127.0.0.1:$relay_port/healthz"; then
            up=1
            break
        fi
        sleep 0.1
    done
    if [ -z "$up" ]; then
        echo "the relay did not answer within 30 s: $(tail -3 "$dir/relay.log")" >&2
        exit 1
    fi
    "${agent_wrap[@]}" "$bin/agent" --data "$dir/agent" listen "$service_port" --relay "http://127.0.0.1:$relay_port" \
        --token "$token" --output quiet >"$dir/agent.log" 2>&1 &
    agent_pid=$!
    # Ready when the agent is connected.
    local metrics connected=
    for _ in $(seq 600); do
        metrics=$(curl -fs "http://127.0.0.1:$relay_port/metrics" || true)
        if grep -q '^hookrelay_agents_connected{source="okta"} 1' <<<"$metrics"; then
            connected=1
            break
        fi
        sleep 0.1
    done
    if [ -z "$connected" ]; then
        echo "the agent did not connect within 60 s: $(tail -3 "$dir/agent.log")" >&2
        exit 1
    fi
    python3 "$work/send.py" "$relay_port" "$count" "$mode" "$body" >&2
    kill -TERM "$agent_pid" "$relay_pid"
    wait "$agent_pid" "$relay_pid" 2>/dev/null || true
    trap - EXIT
    awk '/^(summary|totals):/ { print $2; exit }' "$dir/callgrind.out"
}

few=$(measure 200)
many=$(measure 1200)
if [ -z "$few" ] || [ -z "$many" ] || [ "$many" -le "$few" ]; then
    echo "no instruction counts (callgrind output missing?): $few, $many" >&2
    exit 1
fi
echo "$counted instructions per webhook ($mode, $(wc -c <"$body") byte body): $(((many - few) / 1000))"
