#!/usr/bin/env bash
# Take it to a real broker (issue 17): exported experiments run against real
# brokers on loopback, and their histories checked by `brokerlab check`.
#
#   bash scripts/real-brokers.sh          everything below; stops at the first failure
#
# 1. Python: a virtualenv under target/real-brokers/venv with the pinned clients
#    (the exports' own pins) and PyYAML for the Kafka shape check; installed once.
# 2. Debian's nats-server (apt, once) and RabbitMQ (scripts/rabbitmq.sh); both on
#    127.0.0.1 only, with their data under target/. If either cannot be installed
#    or started, the step fails and says why: it never passes without a broker.
# 3. Each listed scenario is exported (`brokerlab export-real`), run (its `run`
#    script), and its history checked (`brokerlab check --guarantee`); its verdict
#    (holds, or violated with which kinds) and its anomaly kinds must equal the
#    simulation's in the export's expected.json. Counts may differ (timing).
# 4. Kafka: exported and checked for shape only (no Kafka here): compose.yaml
#    parses as YAML, experiment.py byte-compiles, every dotted config name it
#    sets is a Kafka one.
# The table goes to target/real-brokers/table.md.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
source scripts/rabbitmq.sh

WORK="$ROOT/target/real-brokers"
VENV="$WORK/venv"
NATS_PORT="${BROKERLAB_NATS_PORT:-4299}"
NATS_DIR="$WORK/nats"
# The queue scenarios run on RabbitMQ, and the log scenarios that fit one JetStream stream.
RABBITMQ_SCENARIOS="consumer_crash_redelivery auto_ack_loss nack_requeue dead_letter_queue"
NATS_SCENARIOS="real_broker/log_replay real_broker/log_redelivery real_broker/log_idempotent_publish real_broker/log_publish_retry_duplicates"
KAFKA_SCENARIOS="log_at_least_once log_crash_sweep real_broker/log_idempotent_publish"

fail() {
  echo "real-brokers: FAILED: $*" >&2
  exit 1
}

# 1. The virtualenv, once per set of pins.
python_env() {
  local pins="pika==1.4.4 nats-py==2.16.0 confluent-kafka==2.16.1 PyYAML==6.0.2"
  mkdir -p "$WORK"
  [ -x "$VENV/bin/python" ] || python3 -m venv "$VENV" || fail "python3 -m venv $VENV"
  if [ "$(cat "$VENV/.pins" 2>/dev/null)" != "$pins" ]; then
    # shellcheck disable=SC2086
    "$VENV/bin/pip" install -q --disable-pip-version-check $pins || fail "pip install $pins"
    echo "$pins" >"$VENV/.pins"
  fi
}

# 2. nats-server with JetStream, ours: its own port, store and pid file.
nats_start() {
  if ! command -v nats-server >/dev/null; then
    apt-get install -y -qq nats-server >"$WORK/nats-install.log" 2>&1 ||
      { apt-get update -qq && apt-get install -y -qq nats-server >"$WORK/nats-install.log" 2>&1; } ||
      fail "apt-get install nats-server failed: $(tail -n 5 "$WORK/nats-install.log")"
  fi
  nats_stop
  mkdir -p "$NATS_DIR/store"
  nats-server -js -a 127.0.0.1 -p "$NATS_PORT" -sd "$NATS_DIR/store" \
    -P "$NATS_DIR/nats.pid" -l "$NATS_DIR/nats.log" &
  for _ in $(seq 1 100); do
    (exec 3<>"/dev/tcp/127.0.0.1/$NATS_PORT") 2>/dev/null && { echo "nats: $(nats-server --version) up on 127.0.0.1:$NATS_PORT"; return 0; }
    sleep 0.1
  done
  fail "nats-server did not listen on 127.0.0.1:$NATS_PORT in 10 s: $(tail -n 5 "$NATS_DIR/nats.log" 2>/dev/null)"
}

nats_stop() {
  if [ -f "$NATS_DIR/nats.pid" ]; then
    kill "$(cat "$NATS_DIR/nats.pid")" 2>/dev/null || true
    rm -f "$NATS_DIR/nats.pid"
    sleep 0.3
  fi
}

# 3. One scenario: export, run, check, compare. Appends a row to the table.
run_one() {
  local scenario="$1" target="$2"
  local dir="$WORK/$target/${scenario//\//_}"
  rm -rf "$dir"
  "$BROKERLAB" export-real "scenarios/$scenario.json" --target "$target" --out "$dir" >/dev/null
  local t0=$SECONDS
  BROKERLAB_VENV="$VENV" "$dir/run" >"$dir/run.log" 2>&1 ||
    fail "$scenario on $target: the experiment failed; the end of $dir/run.log:
$(tail -n 20 "$dir/run.log")"
  local guarantee
  guarantee="$("$VENV/bin/python" -c 'import json,sys; print(json.load(open(sys.argv[1]))["guarantee"])' "$dir/expected.json")"
  local code=0
  "$BROKERLAB" check "$dir/out/history.jsonl" --guarantee "$guarantee" >"$dir/check.json" || code=$?
  [ "$code" -le 1 ] || fail "$scenario on $target: brokerlab check refused the history: $(cat "$dir/check.json")"
  "$VENV/bin/python" scripts/real-brokers-compare.py "$scenario" "$target" "$dir" "$((SECONDS - t0))" >>"$WORK/table.md" ||
    fail "$scenario on $target: the real verdict or anomalies differ from the simulation's (see $WORK/table.md and $dir)"
  tail -n 1 "$WORK/table.md"
}

# 4. Kafka, for shape.
kafka_shape() {
  local scenario="$1"
  local dir="$WORK/kafka/${scenario//\//_}"
  rm -rf "$dir"
  "$BROKERLAB" export-real "scenarios/$scenario.json" --target kafka --out "$dir" >/dev/null
  "$VENV/bin/python" -m py_compile "$dir/experiment.py" || fail "$scenario: the Kafka program does not compile"
  "$VENV/bin/python" scripts/real-brokers-compare.py --kafka-shape "$scenario" "$dir" >>"$WORK/table.md" ||
    fail "$scenario: the Kafka export's shape (see $dir)"
  tail -n 1 "$WORK/table.md"
}

t_all=$SECONDS
python_env
cargo build --locked -q --bin brokerlab
BROKERLAB="$ROOT/target/debug/brokerlab"
echo "| scenario | target | simulated verdict and anomalies | real verdict and anomalies | match |" >"$WORK/table.md"
echo "|---|---|---|---|---|" >>"$WORK/table.md"

rabbitmq_start
export AMQP_URL
AMQP_URL="$(rabbitmq_url)"
for s in $RABBITMQ_SCENARIOS; do run_one "$s" rabbitmq; done
rabbitmq_stop

nats_start
trap nats_stop EXIT
export NATS_URL="nats://127.0.0.1:$NATS_PORT"
for s in $NATS_SCENARIOS; do run_one "$s" nats; done
nats_stop

for s in $KAFKA_SCENARIOS; do kafka_shape "$s"; done
echo "real brokers: every verdict and anomaly kind matched the simulation's in $((SECONDS - t_all)) s (table: target/real-brokers/table.md)"
