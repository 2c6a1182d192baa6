#!/usr/bin/env python3
"""A brokerlab scenario run against a real broker, recorded as a brokerlab history.

    python3 experiment.py run       the whole experiment (what the `run` script does)
    python3 experiment.py client ID one client; the orchestrator starts these

The orchestrator resets the broker's state for this scenario, starts every
client of scenario.json as its own process, plays the fault schedule on the
wall clock (a client crash is a SIGKILL of its process, a restart starts it
again, a broker crash runs $BROKER_KILL and a restart $BROKER_START), waits
for the clients to finish, records what the broker still holds, and merges
every process's lines into out/history.jsonl, in brokerlab's JSONL format.
Check it with:  brokerlab check out/history.jsonl --guarantee GUARANTEE

Times are milliseconds since the experiment's start. Message ids are
m<producer index * 1000000 + n>, so each producer's ids grow in the order
it meant to publish them, as in brokerlab.
"""

import json
import os
import random
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
with open(os.path.join(HERE, "scenario.json"), encoding="utf-8") as scenario_file:
    SCENARIO = json.load(scenario_file)
# Where each process writes its lines, and the merged history.
OUT = os.environ.get("BROKERLAB_OUT", os.path.join(HERE, "out"))
# The wall-clock second that is time 0: the orchestrator writes it to OUT/t0 once
# every client is connected (see ready()).
T0 = 0.0
# How long the orchestrator waits for the clients to connect.
READY_S = 60
# Which start of this client this is (1, then 2 after a restart...): delivery tags say it.
LIFE = int(os.environ.get("BROKERLAB_LIFE", "1"))
# After duration_ms consumers keep reading until they have been idle for IDLE_MS,
# and DRAIN_MS at most (the scenario's drain limit), so what was published gets read.
DRAIN_MS = int(os.environ.get("BROKERLAB_DRAIN_MS", SCENARIO.get("limits", {}).get("drain_ms", 10000)))
IDLE_MS = int(os.environ.get("BROKERLAB_IDLE_MS", "1000"))
# A client that has not stopped this long after the end is killed.
STRAGGLER_S = 15


def ready(client_id):
    """Called by a client once connected: says so, then waits for time 0."""
    global T0
    with open(os.path.join(OUT, "%s.%d.ready" % (client_id, LIFE)), "w", encoding="utf-8"):
        pass
    path = os.path.join(OUT, "t0")
    while not os.path.exists(path):
        time.sleep(0.005)
    with open(path, encoding="utf-8") as f:
        T0 = float(f.read())


def now_ms():
    """Milliseconds since the experiment's time 0."""
    return max(0, int((time.time() - T0) * 1000))


def sleep_until_ms(t_ms):
    """Sleeps until experiment time t_ms (returns at once if it has passed)."""
    delay = T0 + t_ms / 1000.0 - time.time()
    if delay > 0:
        time.sleep(delay)


def end_ms():
    """When consumers stop: the scenario's duration plus the drain."""
    return SCENARIO["duration_ms"] + DRAIN_MS


class Idle:
    """When a consumer may stop: past the duration and idle for IDLE_MS, or at end_ms()."""

    def __init__(self):
        self.last = now_ms()

    def busy(self):
        self.last = now_ms()

    def done(self):
        t = now_ms()
        return t >= end_ms() or (t >= SCENARIO["duration_ms"] and t - self.last >= IDLE_MS)


def processing_ms(spec, rng):
    """One message's processing time from the client's `processing`."""
    p = spec.get("processing", {"fixed_ms": 0})
    if "fixed_ms" in p:
        return p["fixed_ms"]
    u = p["uniform_ms"]
    return rng.randint(u["min"], u["max"])


def producer_interval_ms(spec):
    """Milliseconds between a producer's publishes."""
    if spec.get("interval_ms"):
        return spec["interval_ms"]
    return 1000.0 / max(1, spec.get("rate_per_s") or 1)


def msg_name(index, n):
    """The id of producer `index`'s n-th message (n from 0)."""
    return "m%d" % (index * 1000000 + n + 1)


def key_of(spec, n):
    """The key of a producer's n-th message: its keys in turn, as brokerlab does."""
    keys = spec.get("keys") or []
    return keys[n % len(keys)] if keys else None


def publishes(index, spec):
    """A producer's schedule: (time_ms, msg, key) for each message it sends,
    `count` of them, every interval from start_ms, none at or after duration_ms."""
    interval = producer_interval_ms(spec)
    for n in range(spec["count"]):
        t = spec.get("start_ms", 0) + n * interval
        if t >= SCENARIO["duration_ms"]:
            return
        yield t, msg_name(index, n), key_of(spec, n)


def drop_windows(client_id):
    """The [from, until) times of this client's drop_acks faults."""
    return [
        (f["at_ms"], f.get("until_ms") or f["at_ms"])
        for f in SCENARIO.get("faults", [])
        if f["action"] == "drop_acks" and f["target"] == client_id
    ]


def in_window(windows, t_ms):
    """True while a drop_acks fault is on."""
    return any(a <= t_ms < b for a, b in windows)


class Recorder:
    """Appends history lines for one process. Each line is one os.write on an
    O_APPEND file, so a SIGKILL leaves whole lines behind."""

    def __init__(self, name, life=LIFE):
        os.makedirs(OUT, exist_ok=True)
        path = os.path.join(OUT, "%s.%d.part.jsonl" % (name, life))
        self.fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        self.name = name

    def __call__(self, f, type_="event", process=None, **fields):
        line = {"time_ms": now_ms(), "process": process or self.name, "type": type_, "f": f}
        line.update({k: v for k, v in fields.items() if v is not None})
        os.write(self.fd, (json.dumps(line, separators=(",", ":")) + "\n").encode())


def client_index(client_id):
    """(index, spec) of a client in scenario.json."""
    for i, spec in enumerate(SCENARIO["clients"]):
        if spec["id"] == client_id:
            return i, spec
    sys.exit("experiment: no client %r in scenario.json" % client_id)


def broker_command(name):
    """A broker fault's shell command from the environment, or a clear stop."""
    command = os.environ.get(name)
    if not command:
        sys.exit("experiment: the scenario crashes the broker; set %s to the command that does it" % name)
    return command


class Orchestrator:
    """Starts the clients, plays the faults, collects the history."""

    def __init__(self):
        self.procs = {}
        self.lives = {}
        self.rec = None

    def spawn(self, client_id):
        life = self.lives.get(client_id, 0) + 1
        self.lives[client_id] = life
        env = dict(os.environ, BROKERLAB_LIFE=str(life), BROKERLAB_OUT=OUT)
        self.procs[client_id] = subprocess.Popen([sys.executable, os.path.abspath(__file__), "client", client_id], env=env)

    def fault(self, f):
        """One fault of the schedule, on time."""
        sleep_until_ms(f["at_ms"])
        action, target = f["action"], f["target"]
        if target == "broker" and action in ("crash", "crash_torn"):
            subprocess.run(broker_command("BROKER_KILL"), shell=True, check=False)
            self.rec("crash", process="broker")
        elif target == "broker" and action == "restart":
            self.rec("restart", process="broker")
            subprocess.run(broker_command("BROKER_START"), shell=True, check=False)
        elif action == "crash" and target in self.procs:
            self.procs[target].kill()
            self.procs[target].wait()
            self.rec("crash", process=target)
            del self.procs[target]
        elif action == "restart":
            self.rec("restart", process=target)
            self.spawn(target)
        # drop_acks is played by the client itself; armed crashes are not reproduced.

    def run(self):
        global T0
        os.makedirs(OUT, exist_ok=True)
        for name in os.listdir(OUT):
            if name.endswith((".jsonl", ".ready")) or name == "t0":
                os.remove(os.path.join(OUT, name))
        faults = sorted(SCENARIO.get("faults", []), key=lambda f: f["at_ms"])
        if any(f["target"] == "broker" for f in faults):
            broker_command("BROKER_KILL")
            broker_command("BROKER_START")
        setup()
        for spec in SCENARIO["clients"]:
            self.spawn(spec["id"])
        self.wait_ready()
        T0 = time.time() + 0.1
        with open(os.path.join(OUT, "t0.tmp"), "w", encoding="utf-8") as f:
            f.write(repr(T0))
        os.rename(os.path.join(OUT, "t0.tmp"), os.path.join(OUT, "t0"))
        self.rec = Recorder("zz-orchestrator")
        for f in faults:
            self.fault(f)
        self.wait()
        finish(self.rec)
        merge()

    def wait_ready(self):
        """Waits until every client has connected (its .ready file)."""
        deadline = time.time() + READY_S
        for client_id in self.procs:
            path = os.path.join(OUT, "%s.1.ready" % client_id)
            while not os.path.exists(path):
                if self.procs[client_id].poll() is not None or time.time() > deadline:
                    sys.exit("experiment: client %s did not connect (is the broker up?)" % client_id)
                time.sleep(0.01)

    def wait(self):
        """Waits for every client; one still running long after the end is killed."""
        deadline = T0 + end_ms() / 1000.0 + STRAGGLER_S
        for client_id, proc in list(self.procs.items()):
            try:
                proc.wait(timeout=max(0.1, deadline - time.time()))
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
                self.rec("crash", process=client_id)
                print("experiment: %s did not stop by the end and was killed" % client_id, file=sys.stderr)


def merge():
    """Joins every process's lines into out/history.jsonl, by time. At equal
    times clients keep the scenario's order and the orchestrator comes last."""
    rank = {spec["id"]: i for i, spec in enumerate(SCENARIO["clients"])}
    lines = []
    for name in sorted(os.listdir(OUT)):
        if not name.endswith(".part.jsonl"):
            continue
        who = name.split(".")[0]
        with open(os.path.join(OUT, name), encoding="utf-8") as part:
            for n, text in enumerate(part):
                try:
                    line = json.loads(text)
                except ValueError:
                    print("experiment: %s line %d was torn by a kill; left out" % (name, n + 1), file=sys.stderr)
                    continue
                lines.append((line["time_ms"], rank.get(who, len(rank)), len(lines), line))
    lines.sort(key=lambda x: x[:3])
    with open(os.path.join(OUT, "history.jsonl"), "w", encoding="utf-8") as out:
        for *_, line in lines:
            out.write(json.dumps(line, separators=(",", ":")) + "\n")
    print("experiment: %d lines in %s" % (len(lines), os.path.join(OUT, "history.jsonl")))


def main():
    if len(sys.argv) >= 2 and sys.argv[1] == "run":
        Orchestrator().run()
    elif len(sys.argv) == 3 and sys.argv[1] == "client":
        index, spec = client_index(sys.argv[2])
        run_client(index, spec, lambda: Recorder(spec["id"]), random.Random(SCENARIO["seed"] * 1000003 + index * 101 + LIFE))
    else:
        sys.exit(__doc__)


# ---- The target's part: setup(), run_client(), finish() ----
