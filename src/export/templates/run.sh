#!/usr/bin/env bash
# Runs this brokerlab experiment against a real @TARGET@ and checks its history.
#
#   ./run                      a virtualenv with the pinned client (once), the experiment, the check
#
# Environment:
#   AMQP_URL / NATS_URL / KAFKA_BOOTSTRAP   where the broker listens (defaults: its usual port on 127.0.0.1)
#   BROKER_KILL, BROKER_START               shell commands that crash and restart the broker
#                                           (needed only when the scenario crashes it)
#   BROKERLAB_VENV                          the virtualenv to use (default: .venv here)
#   BROKERLAB_OUT                           where the history goes (default: out/ here)
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
venv="${BROKERLAB_VENV:-$here/.venv}"
out="${BROKERLAB_OUT:-$here/out}"
export BROKERLAB_OUT="$out"

# The pinned client, installed once per virtualenv (a stamp remembers what).
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv" || { echo "run: FAILED: python3 -m venv $venv" >&2; exit 1; }
fi
if ! cmp -s "$here/requirements.txt" "$venv/.brokerlab-requirements-@TARGET@"; then
  "$venv/bin/pip" install -q --disable-pip-version-check -r "$here/requirements.txt"
  cp "$here/requirements.txt" "$venv/.brokerlab-requirements-@TARGET@"
fi

if [ "@TARGET@" = kafka ]; then
  # The KRaft cluster of compose.yaml; a broker crash is a SIGKILL of its container.
  docker compose -f "$here/compose.yaml" up -d --wait
  export BROKER_KILL="${BROKER_KILL:-docker compose -f '$here/compose.yaml' kill -s SIGKILL kafka-1}"
  export BROKER_START="${BROKER_START:-docker compose -f '$here/compose.yaml' start kafka-1}"
fi

"$venv/bin/python" "$here/experiment.py" run

guarantee="$("$venv/bin/python" -c 'import json, sys; print(json.load(open(sys.argv[1]))["guarantee"])' "$here/expected.json")"
if command -v brokerlab >/dev/null 2>&1; then
  brokerlab check "$out/history.jsonl" --guarantee "$guarantee" || true
  echo "the simulation said: $("$venv/bin/python" -c 'import json, sys; e = json.load(open(sys.argv[1])); print(e["verdict"], e["anomalies"])' "$here/expected.json")"
else
  echo "history: $out/history.jsonl; check it with: brokerlab check $out/history.jsonl --guarantee $guarantee"
fi
