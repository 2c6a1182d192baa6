# ---- RabbitMQ, through pika ----

import pika
import pika.exceptions

AMQP_URL = os.environ.get("AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/%2f")
BROKER = SCENARIO["broker"]
# How long a client waits between attempts to reach a broker that is down.
RECONNECT_S = 0.2


def connect():
    """A blocking connection to AMQP_URL."""
    return pika.BlockingConnection(pika.URLParameters(AMQP_URL))


def connect_until(deadline_ms):
    """A connection, retried while the broker is down; None past the deadline."""
    while now_ms() < deadline_ms:
        try:
            return connect()
        except pika.exceptions.AMQPConnectionError:
            time.sleep(RECONNECT_S)
    return None


def queue_arguments(q):
    """The x-arguments of one queue from the scenario's words."""
    args = {}
    if q.get("type") == "quorum":
        args["x-queue-type"] = "quorum"
    if q.get("delivery_limit") is not None:
        args["x-delivery-limit"] = q["delivery_limit"]
    if q.get("dead_letter_queue"):
        args["x-dead-letter-exchange"] = ""
        args["x-dead-letter-routing-key"] = q["dead_letter_queue"]
    if q.get("max_length") is not None:
        args["x-max-length"] = q["max_length"]
    if q.get("max_length_bytes") is not None:
        args["x-max-length-bytes"] = q["max_length_bytes"]
    if q.get("overflow"):
        args["x-overflow"] = q["overflow"]
    if q.get("message_ttl_ms") is not None:
        args["x-message-ttl"] = q["message_ttl_ms"]
    return args


def setup():
    """Deletes and declares this scenario's queues, exchanges and bindings."""
    conn = connect()
    ch = conn.channel()
    for q in BROKER.get("queues", []):
        ch.queue_delete(q["name"])
    for x in BROKER.get("exchanges", []):
        ch.exchange_delete(x["name"])
    for q in BROKER.get("queues", []):
        durable = bool(q.get("durable")) or q.get("type") == "quorum"
        ch.queue_declare(q["name"], durable=durable, arguments=queue_arguments(q))
    for x in BROKER.get("exchanges", []):
        ch.exchange_declare(x["name"], exchange_type=x["kind"])
        for b in x.get("bindings", []):
            ch.queue_bind(b["queue"], x["name"], routing_key=b.get("routing_key") or "")
    conn.close()


def run_client(index, spec, recorder, rng):
    """One client: connects, waits for time 0 (ready), then runs.
    `recorder` makes its Recorder once time 0 is known."""
    if spec["kind"] == "producer":
        run_producer(index, spec, recorder)
    elif spec["kind"] == "consumer":
        Consumer(spec, recorder, rng).run()
    else:
        sys.exit("experiment: %s clients do not run on RabbitMQ" % spec["kind"])


def publish_once(ch, spec, msg, key):
    """One basic.publish: ok (confirmed), fail (basic.nack) or info (unknown)."""
    body = json.dumps({"msg": msg, "key": key})
    props = pika.BasicProperties(
        delivery_mode=2 if spec.get("persistent") else 1,
        message_id=msg,
        headers={"brokerlab-key": key} if key is not None else None,
    )
    try:
        ch.basic_publish(spec.get("exchange", ""), spec["routing_key"], body, props)
    except pika.exceptions.NackError:
        return "fail"
    except pika.exceptions.UnroutableError:
        return "ok"
    return "ok" if spec.get("confirms") else "info"


def run_producer(index, spec, recorder):
    """Publishes on the scenario's schedule, with confirms and retries if asked."""
    conn = connect()
    ch = conn.channel()
    confirms = spec.get("confirms")
    if confirms:
        ch.confirm_delivery()
    ready(spec["id"])
    rec = recorder()
    drops = drop_windows(spec["id"])
    for t, msg, key in publishes(index, spec):
        sleep_until_ms(t)
        rec("publish", "invoke", msg=msg, key=key)
        attempts = 1 + (confirms or {}).get("max_retries", 0)
        outcome = "info"
        for attempt in range(attempts):
            if attempt:
                rec("retry", msg=msg, attempt=attempt)
            try:
                outcome = publish_once(ch, spec, msg, key)
            except pika.exceptions.AMQPError:
                outcome = "info"
                conn = connect_until(SCENARIO["duration_ms"])
                if conn is None:
                    break
                ch = conn.channel()
                if confirms:
                    ch.confirm_delivery()
                continue
            if outcome == "ok" and confirms and in_window(drops, now_ms()):
                # drop_acks: the confirm is dropped on the client's side.
                outcome = "info"
                time.sleep(confirms["timeout_ms"] / 1000.0)
                continue
            break
        rec("publish", outcome, msg=msg, key=key)
    conn.close()


class Consumer:
    """basic.consume with the scenario's prefetch, ack mode and failures."""

    def __init__(self, spec, recorder, rng):
        self.spec, self.recorder, self.rng = spec, recorder, rng
        self.rec = None
        self.mode = spec.get("ack_mode", "after_processing")
        self.drops = drop_windows(spec["id"])
        self.idle = None

    def run(self):
        conn = connect()
        ch = conn.channel()
        if self.mode != "auto":
            ch.basic_qos(prefetch_count=self.spec.get("prefetch", 0))
        ready(self.spec["id"])
        self.rec = self.recorder()
        self.idle = Idle()
        ch.basic_consume(self.spec["queue"], self.on_message, auto_ack=self.mode == "auto")
        try:
            while not self.idle.done():
                conn.process_data_events(time_limit=0.05)
            conn.close()
        except pika.exceptions.AMQPError:
            return

    def ack(self, ch, method, fields):
        """basic.ack, unless a drop_acks fault is on: then it is lost on the way."""
        self.rec("ack", msg=fields["msg"], tag=fields["tag"])
        if not in_window(self.drops, now_ms()):
            ch.basic_ack(method.delivery_tag)

    def on_message(self, ch, method, props, body):
        data = json.loads(body)
        count = (props.headers or {}).get("x-delivery-count")
        fields = {
            "msg": data["msg"],
            "key": data.get("key"),
            "queue": self.spec["queue"],
            "tag": "%d.%d" % (LIFE, method.delivery_tag),
            "redelivered": bool(method.redelivered),
            "delivery_count": count + 1 if count is not None else None,
        }
        f = "redeliver" if method.redelivered else "deliver"
        self.rec(f, process="broker", consumer=self.spec["id"], **fields)
        if self.mode == "before_processing":
            self.ack(ch, method, fields)
        self.rec("process", "invoke", **fields)
        time.sleep(processing_ms(self.spec, self.rng) / 1000.0)
        failed = fields["key"] in (self.spec.get("fail_keys") or []) or self.rng.random() < self.spec.get("fail_probability", 0.0)
        if failed:
            self.rec("process", "fail", **fields)
            if self.mode in ("after_processing",):
                requeue = self.spec.get("on_failure", "requeue") == "requeue"
                self.rec("nack", msg=fields["msg"], tag=fields["tag"], requeue=requeue)
                ch.basic_nack(method.delivery_tag, requeue=requeue)
            self.idle.busy()
            return
        self.rec("process", "ok", **fields)
        if self.mode == "after_processing":
            self.ack(ch, method, fields)
        self.idle.busy()


def finish(rec):
    """Drains every queue after the run: what was still there is `held`."""
    conn = connect_until(now_ms() + 30000)
    ch = conn.channel()
    for q in BROKER.get("queues", []):
        while True:
            method, _props, body = ch.basic_get(q["name"], auto_ack=True)
            if method is None:
                break
            rec("held", process="broker", msg=json.loads(body)["msg"], queue=q["name"])
    conn.close()


if __name__ == "__main__":
    main()
