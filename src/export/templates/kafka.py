# ---- Apache Kafka, through confluent-kafka ----

from confluent_kafka import Consumer, KafkaError, KafkaException, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

BOOTSTRAP = os.environ.get("KAFKA_BOOTSTRAP", "127.0.0.1:9092")
BROKER = SCENARIO["broker"]
# The compose file's cluster: replicas per partition, and how many must have a write for acks=all.
REPLICATION_FACTOR = int(os.environ.get("KAFKA_REPLICATION_FACTOR", "1"))
MIN_INSYNC_REPLICAS = os.environ.get("KAFKA_MIN_INSYNC_REPLICAS", "1")


def setup():
    """Deletes and creates the scenario's topics."""
    admin = AdminClient({"bootstrap.servers": BOOTSTRAP})
    names = [t["name"] for t in BROKER["topics"]]
    for future in admin.delete_topics(names, operation_timeout=30).values():
        try:
            future.result()
        except KafkaException:
            pass
    time.sleep(2)
    topics = []
    for t in BROKER["topics"]:
        config = {"min.insync.replicas": MIN_INSYNC_REPLICAS}
        if t.get("retention.ms"):
            config["retention.ms"] = str(t["retention.ms"])
        topics.append(NewTopic(t["name"], num_partitions=t["partitions"], replication_factor=REPLICATION_FACTOR, config=config))
    for future in admin.create_topics(topics, operation_timeout=30).values():
        future.result()


def run_client(index, spec, recorder, rng):
    """One client: connects, waits for time 0 (ready), then runs.
    `recorder` makes its Recorder once time 0 is known."""
    if spec["kind"] == "log_producer":
        run_producer(index, spec, recorder)
    elif spec["kind"] == "log_consumer":
        run_consumer(spec, recorder, rng)
    else:
        sys.exit("experiment: %s clients do not run on Kafka" % spec["kind"])


def producer_config(spec):
    """The scenario's producer settings under their Kafka names."""
    return {
        "bootstrap.servers": BOOTSTRAP,
        "acks": spec.get("acks", "all"),
        "retries": spec.get("retries", 0),
        "request.timeout.ms": spec.get("request.timeout.ms", 30000),
        "enable.idempotence": bool(spec.get("enable.idempotence")),
        "max.in.flight.requests.per.connection": spec.get("max.in.flight.requests", 5),
        "partitioner": "murmur2_random",
        "linger.ms": 0,
    }


def run_producer(index, spec, recorder):
    producer = Producer(producer_config(spec))
    producer.list_topics(timeout=30)
    ready(spec["id"])
    rec = recorder()
    drops = drop_windows(spec["id"])

    def report(err, m, msg=None, key=None):
        if err is not None:
            rec("publish", "info" if err.retriable() else "fail", msg=msg, key=key)
        elif in_window(drops, now_ms()):
            # drop_acks: the delivery report is dropped on the client's side.
            rec("publish", "info", msg=msg, key=key)
        else:
            rec("produced", msg=msg, partition=m.partition(), offset=m.offset())
            rec("publish", "ok", msg=msg, key=key)

    for t, msg, key in publishes(index, spec):
        sleep_until_ms(t)
        rec("publish", "invoke", msg=msg, key=key)
        body = json.dumps({"msg": msg, "key": key})
        producer.produce(spec["topic"], value=body, key=key, on_delivery=lambda e, m, msg=msg, key=key: report(e, m, msg, key))
        producer.poll(0)
    producer.flush(30)


def consumer_config(spec):
    """The scenario's consumer settings under their Kafka names."""
    return {
        "bootstrap.servers": BOOTSTRAP,
        "group.id": spec["group.id"],
        "enable.auto.commit": bool(spec.get("enable.auto.commit", True)),
        "auto.commit.interval.ms": spec.get("auto.commit.interval.ms", 5000),
        "auto.offset.reset": spec.get("auto.offset.reset", "latest"),
        "session.timeout.ms": spec.get("session.timeout.ms", 45000),
        "heartbeat.interval.ms": spec.get("heartbeat.interval.ms", 3000),
        "isolation.level": spec.get("isolation.level", "read_uncommitted"),
        "partition.assignment.strategy": spec.get("partition.assignment.strategy", "range"),
    }


def run_consumer(spec, recorder, rng):
    consumer = Consumer(consumer_config(spec))
    consumer.list_topics(timeout=30)
    ready(spec["id"])
    rec = recorder()
    generation = [0]

    def assigned(_consumer, partitions):
        generation[0] += 1
        rec("assigned", generation=generation[0], partitions=sorted(p.partition for p in partitions))

    consumer.subscribe([spec["topic"]], on_assign=assigned)
    rec("join_group", group=spec["group.id"])
    after = spec.get("commit") == "after_processing"
    before = spec.get("commit") == "before_processing"
    poll = 0
    idle = Idle()
    while not idle.done():
        rec("poll", "invoke", poll=poll)
        batch = consumer.consume(num_messages=spec.get("max.poll.records", 500), timeout=0.2)
        records = []
        for m in batch:
            if m.error() is not None:
                continue
            data = json.loads(m.value())
            where = {"msg": data["msg"], "key": data.get("key"), "partition": m.partition(), "offset": m.offset()}
            rec("read", poll=poll, **where)
            records.append((m, where))
        for m, where in records:
            if before:
                consumer.commit(message=m, asynchronous=False)
                rec("commit", partition=where["partition"], offset=where["offset"] + 1)
            rec("process", "invoke", **where)
            time.sleep(processing_ms(spec, rng) / 1000.0)
            rec("process", "ok", **where)
            if after:
                consumer.commit(message=m, asynchronous=False)
                rec("commit", partition=where["partition"], offset=where["offset"] + 1)
        if records:
            idle.busy()
        poll += 1
    consumer.close()


def finish(rec):
    """Reads every partition from the start after the run: `append` lines."""
    reader = Consumer({"bootstrap.servers": BOOTSTRAP, "group.id": "brokerlab-scan", "enable.auto.commit": False})
    for t in BROKER["topics"]:
        for p in range(t["partitions"]):
            low, high = reader.get_watermark_offsets(TopicPartition(t["name"], p), timeout=10)
            reader.assign([TopicPartition(t["name"], p, low)])
            offset = low
            while offset < high:
                m = reader.poll(1.0)
                if m is None or m.error() is not None:
                    break
                data = json.loads(m.value())
                rec("append", process="broker", msg=data["msg"], topic=t["name"], partition=p, offset=m.offset())
                offset = m.offset() + 1
    reader.close()


if __name__ == "__main__":
    main()
