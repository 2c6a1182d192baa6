"""Compares one real run with the simulation, for scripts/real-brokers.sh.

    real-brokers-compare.py SCENARIO TARGET DIR SECONDS
        DIR/expected.json (the simulation) against DIR/check.json (`brokerlab
        check` on the real history). Prints one table row; exits 1 when the
        verdict (holds, or violated with which kinds) or the anomaly kinds differ.
    real-brokers-compare.py --kafka-shape SCENARIO DIR
        A Kafka export, not run: compose.yaml parses as YAML with a KRaft node
        per broker, and every dotted config name experiment.py sets is a real
        Kafka config name. Prints one table row; exits 1 on a problem.
"""

import json
import re
import sys

import yaml

# Real Apache Kafka config names (producer, consumer, topic and broker) the
# export may set. A name outside this list is a typo or an invention.
KAFKA_NAMES = {
    "bootstrap.servers", "acks", "retries", "request.timeout.ms", "enable.idempotence",
    "max.in.flight.requests.per.connection", "linger.ms", "batch.size", "delivery.timeout.ms",
    "transactional.id", "transaction.timeout.ms", "compression.type", "client.id",
    "group.id", "enable.auto.commit", "auto.commit.interval.ms", "auto.offset.reset",
    "session.timeout.ms", "heartbeat.interval.ms", "isolation.level", "max.poll.records",
    "max.poll.interval.ms", "partition.assignment.strategy", "fetch.min.bytes",
    "min.insync.replicas", "retention.ms", "retention.bytes", "cleanup.policy",
    "replication.factor", "unclean.leader.election.enable",
}
# The counts worth showing beside the verdict (they may differ: timing).
SHOWN = ["lost", "duplicated", "out_of_order", "redeliveries", "dead_lettered", "pending"]


def verdict_kinds(text):
    """`holds` -> ("holds", ()); `violated: 3 findings (lost, duplicated)` -> ("violated", ("lost", "duplicated"))."""
    if text == "holds":
        return ("holds", ())
    match = re.match(r"violated: \d+ findings? \(([^)]*)\)", text or "")
    if not match:
        return ("unknown: %s" % text, ())
    return ("violated", tuple(sorted(k.strip() for k in match.group(1).split(","))))


def described(verdict, anomalies, counts):
    shown = ", ".join("%s %d" % (k, counts[k]) for k in SHOWN if counts.get(k))
    return "%s; anomalies: %s%s" % (verdict, ", ".join(anomalies) or "none", "; " + shown if shown else "")


def compare(scenario, target, directory, seconds):
    with open(directory + "/expected.json", encoding="utf-8") as f:
        sim = json.load(f)
    with open(directory + "/check.json", encoding="utf-8") as f:
        real = json.load(f)
    same = (verdict_kinds(sim["verdict"]), sorted(sim["anomalies"])) == (
        verdict_kinds(real["verdict"]),
        sorted(real["anomalies"]),
    )
    print("| %s | %s | %s | %s (%s s) | %s |" % (
        scenario, target,
        described(sim["verdict"], sim["anomalies"], sim["counts"]),
        described(real["verdict"], real["anomalies"], real["counts"]), seconds,
        "yes" if same else "**NO**"))
    return 0 if same else 1


def kafka_shape(scenario, directory):
    with open(directory + "/compose.yaml", encoding="utf-8") as f:
        compose = yaml.safe_load(f)
    services = compose["services"]
    assert services and all("KAFKA_PROCESS_ROLES" in s["environment"] for s in services.values()), "every service is a KRaft node"
    with open(directory + "/experiment.py", encoding="utf-8") as f:
        program = f.read()
    names = set(re.findall(r'^\s*"([a-z]+(?:\.[a-z]+)+)":', program, re.M))
    names |= set(re.findall(r'config\["([a-z]+(?:\.[a-z]+)+)"\]', program))
    unknown = sorted(names - KAFKA_NAMES)
    assert names and not unknown, "not Kafka config names: %s" % unknown
    with open(directory + "/expected.json", encoding="utf-8") as f:
        sim = json.load(f)
    print("| %s | kafka | %s | not run here; shape: compose.yaml parses (%d KRaft node(s)), experiment.py compiles, %d config names are Kafka's | shape ok |" % (
        scenario, described(sim["verdict"], sim["anomalies"], sim["counts"]), len(services), len(names)))
    return 0


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--kafka-shape":
        sys.exit(kafka_shape(sys.argv[2], sys.argv[3]))
    if len(sys.argv) == 5:
        sys.exit(compare(*sys.argv[1:]))
    sys.exit(__doc__)
