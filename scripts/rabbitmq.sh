#!/usr/bin/env bash
# A real RabbitMQ 3.10 for the fidelity experiments (tests/rabbitmq_fidelity.rs).
#
#   bash scripts/rabbitmq.sh start     install if missing, start (or reuse) the node, print its URL
#   bash scripts/rabbitmq.sh stop      stop the node (nothing running is fine)
#   bash scripts/rabbitmq.sh restart   stop, then start: durable vs transient after a restart
#   bash scripts/rabbitmq.sh restart-app   the same restart inside the running VM (faster)
#   bash scripts/rabbitmq.sh url       print the amqp:// URL the tests read from BROKERLAB_RABBITMQ
#
# Or source it and call `rabbitmq_start`, `rabbitmq_stop`, `rabbitmq_restart`, `rabbitmq_restart_app`.
#
# The node is the project's own: Debian's `rabbitmq-server` package, run as the
# current user straight from /usr/lib/rabbitmq/bin (not through the package's
# service, which would be the machine's node), listening on 127.0.0.1 only, with
# its own node name, port, cookie and data directory under target/rabbitmq/. So
# it never touches a RabbitMQ the machine may already run, and deleting
# target/rabbitmq/ resets it. Every failure says why and exits non-zero: the
# fidelity step must never pass because no broker was there.
set -euo pipefail

RABBITMQ_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# Fixed and away from the defaults (5672 / 25672), so a system RabbitMQ does not clash.
BROKERLAB_RABBITMQ_PORT="${BROKERLAB_RABBITMQ_PORT:-5699}"
BROKERLAB_RABBITMQ_NODE="${BROKERLAB_RABBITMQ_NODE:-brokerlab@localhost}"
BROKERLAB_RABBITMQ_DIR="${BROKERLAB_RABBITMQ_DIR:-$RABBITMQ_ROOT/target/rabbitmq}"
RABBITMQ_BIN=/usr/lib/rabbitmq/bin
# Start-up takes about 4 s here; a minute means something is wrong.
RABBITMQ_START_TIMEOUT_S="${RABBITMQ_START_TIMEOUT_S:-60}"
# The node's consumer_timeout (ms) and how often each channel checks it
# (channel_tick_interval, 60 s by default: too slow for a test). The same
# numbers are CONSUMER_TIMEOUT_MS and CHANNEL_TICK_INTERVAL_MS in
# tests/fidelity/plan.rs, which our broker runs every experiment with.
RABBITMQ_SETTINGS='[{rabbit, [{consumer_timeout, 3000}, {channel_tick_interval, 100}]}]'

rabbitmq_fail() {
  echo "rabbitmq: FAILED: $*" >&2
  return 1
}

# The environment every rabbitmq-* command of this node runs with. It moves
# HOME (the Erlang cookie lives there), so the functions that call it run in a
# subshell, `f() ( ... )`: a script that sources this file (scripts/test.sh)
# keeps its own HOME, and with it cargo's and rustup's.
rabbitmq_env() {
  export HOME="$BROKERLAB_RABBITMQ_DIR"               # the Erlang cookie lives here
  export RABBITMQ_NODENAME="$BROKERLAB_RABBITMQ_NODE"
  export RABBITMQ_NODE_IP_ADDRESS=127.0.0.1
  export RABBITMQ_NODE_PORT="$BROKERLAB_RABBITMQ_PORT"
  export RABBITMQ_DIST_PORT="$((BROKERLAB_RABBITMQ_PORT + 20000))"
  export ERL_EPMD_ADDRESS=127.0.0.1                   # epmd on loopback only
  # ... and Erlang distribution (rabbitmqctl's channel to the node) too.
  export RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS="-kernel inet_dist_use_interface {127,0,0,1}"
  export RABBITMQ_MNESIA_BASE="$BROKERLAB_RABBITMQ_DIR/mnesia"
  export RABBITMQ_LOG_BASE="$BROKERLAB_RABBITMQ_DIR/log"
  export RABBITMQ_PID_FILE="$BROKERLAB_RABBITMQ_DIR/node.pid"
  # Ignore /etc/rabbitmq: the machine's settings are not the experiment's.
  export RABBITMQ_CONF_ENV_FILE="$BROKERLAB_RABBITMQ_DIR/rabbitmq-env.conf"
  export RABBITMQ_CONFIG_FILE="$BROKERLAB_RABBITMQ_DIR/rabbitmq"
  export RABBITMQ_ENABLED_PLUGINS_FILE="$BROKERLAB_RABBITMQ_DIR/enabled_plugins"
  export RABBITMQ_ADVANCED_CONFIG_FILE="$BROKERLAB_RABBITMQ_DIR/advanced.config"
  mkdir -p "$RABBITMQ_MNESIA_BASE" "$RABBITMQ_LOG_BASE"
  touch "$RABBITMQ_CONF_ENV_FILE" "$RABBITMQ_CONFIG_FILE.conf"
  echo "$RABBITMQ_SETTINGS." >"$RABBITMQ_ADVANCED_CONFIG_FILE"
  [ -f "$RABBITMQ_ENABLED_PLUGINS_FILE" ] || echo '[].' >"$RABBITMQ_ENABLED_PLUGINS_FILE"
}

rabbitmq_url() {
  echo "amqp://guest:guest@127.0.0.1:$BROKERLAB_RABBITMQ_PORT/%2f"
}

# Debian's package, installed once. `apt-get update` only when apt knows no candidate.
rabbitmq_install() {
  [ -x "$RABBITMQ_BIN/rabbitmq-server" ] && return 0
  local t0=$SECONDS
  export DEBIAN_FRONTEND=noninteractive
  if ! apt-cache policy rabbitmq-server 2>/dev/null | grep -q 'Candidate: [0-9]'; then
    apt-get update -qq || rabbitmq_fail "apt-get update did not succeed (no package index, so rabbitmq-server cannot be installed)"
  fi
  # The package's own service stays off: `policy-rc.d` denies it in containers,
  # and where it does start, it is the machine's node on 5672, not ours.
  apt-get install -y -qq rabbitmq-server >"$RABBITMQ_ROOT/target/rabbitmq-install.log" 2>&1 ||
    rabbitmq_fail "apt-get install rabbitmq-server failed; the last lines of target/rabbitmq-install.log:
$(tail -n 15 "$RABBITMQ_ROOT/target/rabbitmq-install.log")"
  [ -x "$RABBITMQ_BIN/rabbitmq-server" ] ||
    rabbitmq_fail "rabbitmq-server installed but $RABBITMQ_BIN/rabbitmq-server is missing"
  echo "rabbitmq: installed $(dpkg-query -W -f='${Version}' rabbitmq-server) in $((SECONDS - t0)) s"
}

rabbitmq_running() (
  rabbitmq_env
  "$RABBITMQ_BIN/rabbitmq-diagnostics" -q -n "$BROKERLAB_RABBITMQ_NODE" ping >/dev/null 2>&1
)

# A node started before advanced.config existed (or changed) gets the
# settings too; channels opened from now on read them.
rabbitmq_apply_settings() (
  rabbitmq_env
  local set="[application:set_env(rabbit, K, V) || {rabbit, KVs} <- $RABBITMQ_SETTINGS, {K, V} <- KVs], ok."
  "$RABBITMQ_BIN/rabbitmqctl" -q -n "$BROKERLAB_RABBITMQ_NODE" eval "$set" >/dev/null ||
    rabbitmq_fail "could not set consumer_timeout / channel_tick_interval on $BROKERLAB_RABBITMQ_NODE"
)

rabbitmq_start() (
  mkdir -p "$RABBITMQ_ROOT/target"
  rabbitmq_install
  rabbitmq_env
  if rabbitmq_running; then
    rabbitmq_apply_settings
    echo "rabbitmq: reusing $BROKERLAB_RABBITMQ_NODE on 127.0.0.1:$BROKERLAB_RABBITMQ_PORT"
    return 0
  fi
  if (exec 3<>"/dev/tcp/127.0.0.1/$BROKERLAB_RABBITMQ_PORT") 2>/dev/null; then
    rabbitmq_fail "port $BROKERLAB_RABBITMQ_PORT is taken by something that is not node $BROKERLAB_RABBITMQ_NODE (set BROKERLAB_RABBITMQ_PORT)"
  fi
  local t0=$SECONDS
  rm -f "$RABBITMQ_PID_FILE"
  "$RABBITMQ_BIN/rabbitmq-server" >"$RABBITMQ_LOG_BASE/startup.log" 2>&1 &
  # `wait` returns once the pid file's node answers; await_startup once its apps are up.
  if ! "$RABBITMQ_BIN/rabbitmqctl" -q -n "$BROKERLAB_RABBITMQ_NODE" wait "$RABBITMQ_PID_FILE" \
         --timeout "$RABBITMQ_START_TIMEOUT_S" >/dev/null 2>&1 ||
     ! "$RABBITMQ_BIN/rabbitmqctl" -q -n "$BROKERLAB_RABBITMQ_NODE" await_startup \
         --timeout "$RABBITMQ_START_TIMEOUT_S" >/dev/null 2>&1; then
    rabbitmq_fail "node $BROKERLAB_RABBITMQ_NODE did not start within $RABBITMQ_START_TIMEOUT_S s; the last lines of its logs:
$(tail -n 20 "$RABBITMQ_LOG_BASE/startup.log" "$RABBITMQ_LOG_BASE"/*.log 2>/dev/null)"
  fi
  rabbitmq_apply_settings
  echo "rabbitmq: $BROKERLAB_RABBITMQ_NODE $("$RABBITMQ_BIN/rabbitmqctl" -q -n "$BROKERLAB_RABBITMQ_NODE" version) up on 127.0.0.1:$BROKERLAB_RABBITMQ_PORT in $((SECONDS - t0)) s"
)

rabbitmq_stop() (
  [ -x "$RABBITMQ_BIN/rabbitmqctl" ] || return 0
  rabbitmq_env
  rabbitmq_running || return 0
  # `stop PIDFILE` returns once the OS process is gone, so a restart finds the port free.
  "$RABBITMQ_BIN/rabbitmqctl" -q -n "$BROKERLAB_RABBITMQ_NODE" stop "$RABBITMQ_PID_FILE" >/dev/null ||
    rabbitmq_fail "rabbitmqctl stop $BROKERLAB_RABBITMQ_NODE failed"
)

rabbitmq_restart() {
  rabbitmq_stop
  rabbitmq_start
}

# The broker restarts inside the running Erlang VM (`stop_app`, `start_app`):
# queues and messages go through the same shutdown and recovery as a full
# restart, in about 5 s instead of 12 (no VM boot). The fidelity test uses it.
rabbitmq_restart_app() (
  rabbitmq_env
  rabbitmq_running || rabbitmq_fail "node $BROKERLAB_RABBITMQ_NODE is not running (start it first)"
  local t0=$SECONDS ctl=("$RABBITMQ_BIN/rabbitmqctl" -q -n "$BROKERLAB_RABBITMQ_NODE")
  "${ctl[@]}" stop_app >/dev/null || rabbitmq_fail "rabbitmqctl stop_app failed"
  "${ctl[@]}" start_app >/dev/null || rabbitmq_fail "rabbitmqctl start_app failed; see $RABBITMQ_LOG_BASE"
  "${ctl[@]}" await_startup --timeout "$RABBITMQ_START_TIMEOUT_S" >/dev/null ||
    rabbitmq_fail "the rabbit app did not come back within $RABBITMQ_START_TIMEOUT_S s"
  rabbitmq_apply_settings
  echo "rabbitmq: $BROKERLAB_RABBITMQ_NODE restarted (app) in $((SECONDS - t0)) s"
)

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  case "${1:-}" in
    start) rabbitmq_start ;;
    stop) rabbitmq_stop ;;
    restart) rabbitmq_restart ;;
    restart-app) rabbitmq_restart_app ;;
    url) rabbitmq_url ;;
    *) echo "usage: $0 start|stop|restart|restart-app|url" >&2; exit 2 ;;
  esac
fi
