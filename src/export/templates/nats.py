# ---- NATS JetStream, through nats-py ----

import asyncio

import nats
import nats.errors
import nats.js.errors
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy, StorageType, StreamConfig

NATS_URL = os.environ.get("NATS_URL", "nats://127.0.0.1:4222")
BROKER = SCENARIO["broker"]
# How long the stream remembers a Nats-Msg-Id (the idempotent producer's window).
DUPLICATE_WINDOW_S = 120.0


async def connect():
    """A connection that keeps reconnecting while the server is down."""
    return await nats.connect(NATS_URL, max_reconnect_attempts=-1, reconnect_time_wait=0.1)


async def setup_streams():
    nc = await connect()
    js = nc.jetstream()
    for topic in BROKER["topics"]:
        try:
            await js.delete_stream(topic["name"])
        except nats.js.errors.NotFoundError:
            pass
        config = StreamConfig(
            name=topic["name"],
            subjects=[topic["name"]],
            storage=StorageType.FILE,
            duplicate_window=DUPLICATE_WINDOW_S,
        )
        if topic.get("retention.ms"):
            config.max_age = topic["retention.ms"] / 1000.0
        if topic.get("retention.records"):
            config.max_msgs = topic["retention.records"]
        await js.add_stream(config)
    await nc.close()


def setup():
    """Deletes and creates one stream per topic."""
    asyncio.run(setup_streams())


def run_client(index, spec, recorder, rng):
    """One client: connects, waits for time 0 (ready), then runs.
    `recorder` makes its Recorder once time 0 is known."""
    if spec["kind"] == "log_producer":
        asyncio.run(run_producer(index, spec, recorder))
    elif spec["kind"] == "log_consumer":
        asyncio.run(run_consumer(spec, recorder, rng))
    else:
        sys.exit("experiment: %s clients do not run on JetStream" % spec["kind"])


async def sleep_until(t_ms):
    delay = T0 + t_ms / 1000.0 - time.time()
    if delay > 0:
        await asyncio.sleep(delay)


async def publish(nc, js, spec, msg, key, rec, drops):
    """One record with the producer's acks, retries and idempotence: ok or info."""
    topic = spec["topic"]
    body = json.dumps({"msg": msg, "key": key}).encode()
    headers = {"Nats-Msg-Id": msg} if spec.get("enable.idempotence") else None
    if spec.get("acks") == "0":
        await nc.publish(topic, body, headers=headers)
        return "info"
    timeout = spec.get("request.timeout.ms", 30000) / 1000.0
    for attempt in range(1 + spec.get("retries", 0)):
        if attempt:
            rec("retry", msg=msg, attempt=attempt)
        try:
            ack = await js.publish(topic, body, timeout=timeout, headers=headers)
        except (nats.errors.TimeoutError, nats.errors.NoRespondersError, nats.js.errors.APIError):
            continue
        if in_window(drops, now_ms()):
            # drop_acks: the PubAck is dropped on the client's side.
            await asyncio.sleep(timeout)
            continue
        rec("produced", msg=msg, partition=0, offset=ack.seq - 1)
        return "ok"
    return "info"


async def run_producer(index, spec, recorder):
    nc = await connect()
    js = nc.jetstream()
    await asyncio.to_thread(ready, spec["id"])
    rec = recorder()
    drops = drop_windows(spec["id"])
    for t, msg, key in publishes(index, spec):
        await sleep_until(t)
        rec("publish", "invoke", msg=msg, key=key)
        outcome = await publish(nc, js, spec, msg, key, rec, drops)
        rec("publish", outcome, msg=msg, key=key)
    await nc.close()


async def subscribe(js, spec):
    """The group's durable pull consumer (created on first use)."""
    earliest = spec.get("auto.offset.reset", "latest") == "earliest"
    config = ConsumerConfig(
        durable_name=spec["group.id"],
        ack_policy=AckPolicy.EXPLICIT,
        deliver_policy=DeliverPolicy.ALL if earliest else DeliverPolicy.NEW,
        ack_wait=max(1.0, spec.get("session.timeout.ms", 10000) / 1000.0),
    )
    return await js.pull_subscribe(spec["topic"], durable=spec["group.id"], stream=spec["topic"], config=config)


async def commit(m, offset, rec, drops):
    """An ack is this record's commit (lost on the way during drop_acks)."""
    rec("commit", partition=0, offset=offset + 1)
    if not in_window(drops, now_ms()):
        try:
            await m.ack_sync(timeout=2.0)
        except (nats.errors.TimeoutError, nats.errors.Error):
            pass


async def run_consumer(spec, recorder, rng):
    nc = await connect()
    js = nc.jetstream()
    sub = await subscribe(js, spec)
    await asyncio.to_thread(ready, spec["id"])
    rec = recorder()
    rec("join_group", group=spec["group.id"])
    rec("assigned", generation=LIFE, partitions=[0])
    early = spec.get("commit") == "before_processing" or (spec.get("enable.auto.commit", True) and spec.get("commit") is None)
    drops = drop_windows(spec["id"])
    poll = 0
    idle = Idle()
    while not idle.done():
        rec("poll", "invoke", poll=poll)
        try:
            batch = await sub.fetch(spec.get("max.poll.records", 500), timeout=0.2)
        except nats.errors.TimeoutError:
            batch = []
        records = []
        for m in batch:
            data = json.loads(m.data)
            where = {"msg": data["msg"], "key": data.get("key"), "partition": 0, "offset": m.metadata.sequence.stream - 1}
            rec("read", poll=poll, **where)
            records.append((m, where))
        for m, where in records:
            if early:
                await commit(m, where["offset"], rec, drops)
            rec("process", "invoke", **where)
            await asyncio.sleep(processing_ms(spec, rng) / 1000.0)
            rec("process", "ok", **where)
            if not early:
                await commit(m, where["offset"], rec, drops)
        if records:
            idle.busy()
        poll += 1
    await nc.close()


async def scan(rec):
    """Every record of every stream, as `append` lines."""
    nc = await connect()
    js = nc.jetstream()
    for topic in BROKER["topics"]:
        info = await js.stream_info(topic["name"])
        for seq in range(info.state.first_seq, info.state.last_seq + 1):
            try:
                m = await js.get_msg(topic["name"], seq)
            except nats.js.errors.NotFoundError:
                continue
            data = json.loads(m.data)
            rec("append", process="broker", msg=data["msg"], topic=topic["name"], partition=0, offset=seq - 1)
    await nc.close()


def finish(rec):
    """Reads the streams after the run: where each record sits."""
    asyncio.run(scan(rec))


if __name__ == "__main__":
    main()
