//! The interactive-control API the page drives the world with: faults applied
//! now, clients added mid-run, the Slow toggle, and messages on the wire.
#![cfg(not(target_arch = "wasm32"))]

use brokerlab::config::{
    ClientSpec, ConsumerSpec, FaultAction, FaultSpec, ProcessingSpec, ProducerSpec, Scenario,
};
use brokerlab::history::{Entry, OpType, Proc};
use brokerlab::node::NodeId;
use brokerlab::world::World;

fn scenario(file: &str) -> Scenario {
    let path = format!("{}/scenarios/{file}", env!("CARGO_MANIFEST_DIR"));
    Scenario::from_json(&std::fs::read_to_string(&path).unwrap()).unwrap()
}

fn fault(action: FaultAction, target: &str) -> FaultSpec {
    FaultSpec {
        at_ms: 999_999, // ignored: inject applies it now
        action,
        target: target.to_string(),
        until_ms: None,
    }
}

fn consumer(id: &str, queue: &str, processing_ms: u64) -> ConsumerSpec {
    ConsumerSpec {
        dedup_ids_max: None,
        id: id.to_string(),
        queue: queue.to_string(),
        prefetch: 2,
        ack_mode: Default::default(),
        processing: ProcessingSpec::FixedMs(processing_ms),
        exclusive: false,
        fail_keys: vec![],
        fail_probability: 0.0,
        on_failure: Default::default(),
        network: None,
    }
}

/// (time, process) of every event matching `f`.
fn times(world: &World, f: impl Fn(&Entry) -> bool) -> Vec<(u64, Proc)> {
    let events = world.history().events().iter();
    events
        .filter(|e| f(&e.entry))
        .map(|e| (e.time_ms, e.process))
        .collect()
}

#[test]
fn next_event_ms_is_the_earliest_pending_event() {
    let mut world = World::new(&scenario("prefetch.json"));
    assert_eq!(world.next_event_ms(), Some(0), "the first publish is at 0");
    world.run_until(100).unwrap();
    let next = world.next_event_ms().expect("the consumer is still busy");
    assert!(next > 100);
    world.step().unwrap();
    assert_eq!(world.now_ms(), next, "step runs exactly that event");
}

#[test]
fn inject_crashes_and_restarts_the_broker_now_and_records_it_in_the_scenario() {
    let mut world = World::new(&scenario("prefetch.json"));
    world.run_until(40).unwrap();
    let faults_before = world.scenario().faults.len();
    world.inject(fault(FaultAction::Crash, "broker")).unwrap();
    assert!(!world.broker().is_up());
    let crashes = times(&world, |e| matches!(e, Entry::Crash));
    assert_eq!(crashes, vec![(40, Proc::Broker(NodeId::FIRST))]);
    world.run_until(90).unwrap();
    world.inject(fault(FaultAction::Restart, "broker")).unwrap();
    assert!(world.broker().is_up());
    let added = &world.scenario().faults[faults_before..];
    let at: Vec<(u64, FaultAction)> = added.iter().map(|f| (f.at_ms, f.action)).collect();
    assert_eq!(
        at,
        vec![(40, FaultAction::Crash), (90, FaultAction::Restart)]
    );
    // The exported scenario is still a valid scenario file.
    Scenario::from_json(&world.scenario().to_json_pretty()).expect("exported JSON reloads");
}

#[test]
fn inject_crashes_and_restarts_a_client() {
    let mut world = World::new(&scenario("prefetch.json"));
    world.run_until(30).unwrap();
    world.inject(fault(FaultAction::Crash, "c1")).unwrap();
    let alive = |w: &World| w.clients().iter().find(|c| c.id == "c1").unwrap().alive;
    assert!(!alive(&world));
    world.run_until(200).unwrap();
    world.inject(fault(FaultAction::Restart, "c1")).unwrap();
    assert!(alive(&world));
    world.run().unwrap();
    assert_eq!(
        world.summary().counts.lost,
        0,
        "redelivered after the restart"
    );
}

#[test]
fn inject_rejects_unknown_targets_and_misfit_actions_naming_the_field() {
    let mut world = World::new(&scenario("prefetch.json"));
    let n = world.scenario().faults.len();
    let e = world
        .inject(fault(FaultAction::Crash, "nobody"))
        .unwrap_err();
    assert_eq!(e.path, format!("faults[{n}].target"));
    let mut drop_broker = fault(FaultAction::DropAcks, "broker");
    drop_broker.until_ms = Some(100);
    let e = world.inject(drop_broker).unwrap_err();
    assert_eq!(e.path, format!("faults[{n}].target"));
    let e = world
        .inject(fault(FaultAction::DropAcks, "c1"))
        .unwrap_err();
    assert_eq!(e.path, format!("faults[{n}].until_ms"));
    assert_eq!(
        world.scenario().faults.len(),
        n,
        "nothing recorded on error"
    );
    assert!(world.broker().is_up());
}

#[test]
fn a_consumer_added_mid_run_receives_deliveries() {
    let mut s = scenario("prefetch.json");
    if let ClientSpec::Producer(p) = &mut s.clients[0] {
        p.count = 200;
        p.rate_per_s = Some(100);
    }
    let mut world = World::new(&s);
    world.run_until(500).unwrap();
    world
        .add_client(ClientSpec::Consumer(consumer("late", "work", 5)))
        .unwrap();
    let late = world
        .names()
        .clients
        .iter()
        .position(|c| c == "late")
        .unwrap() as u32;
    world.run().unwrap();
    let deliveries = times(
        &world,
        |e| matches!(e, Entry::Deliver { to, .. } if *to == late),
    );
    assert!(deliveries.len() > 20, "late got {}", deliveries.len());
    assert!(deliveries.iter().all(|(t, _)| *t >= 500));
    assert_eq!(world.scenario().clients.last().unwrap().id(), "late");
    let e = world
        .add_client(ClientSpec::Consumer(consumer("late", "work", 5)))
        .unwrap_err();
    assert_eq!(e.path, "clients[3].id", "ids stay unique");
    let e = world
        .add_client(ClientSpec::Consumer(consumer("x", "nope", 5)))
        .unwrap_err();
    assert_eq!(e.path, "clients[3].queue");
}

#[test]
fn a_producer_added_mid_run_with_new_keys_routes_through_the_consistent_hash_exchange() {
    let mut world = World::new(&scenario("fanout_partitions.json"));
    world.run_until(1000).unwrap();
    let keys_before = world.names().keys.len();
    let producer = ProducerSpec {
        id: "p-late".into(),
        exchange: "orders".into(),
        routing_key: String::new(),
        keys: vec!["zed".into(), "yara".into(), "alice".into()],
        rate_per_s: None,
        interval_ms: Some(2),
        count: 60,
        start_ms: 0,
        payload_bytes: 0,
        confirms: None,
        persistent: false,
        expiration_ms: None,
        headers: Default::default(),
        network: None,
    };
    world.add_client(ClientSpec::Producer(producer)).unwrap();
    assert_eq!(world.names().keys.len(), keys_before + 2, "two new keys");
    match &world.scenario().clients.last().unwrap() {
        ClientSpec::Producer(p) => assert_eq!(p.start_ms, 1000, "starts now, not at 0"),
        _ => unreachable!(),
    }
    world.run().unwrap();
    let effects = world.effects();
    assert_eq!(effects["zed"], 20);
    assert_eq!(effects["yara"], 20);
    let first_publish = times(
        &world,
        |e| matches!(e, Entry::Publish { ty: OpType::Invoke, key: Some(k), .. } if *k as usize >= keys_before),
    );
    assert!(first_publish[0].0 >= 1000);
    let s = world.summary();
    assert_eq!(s.counts.lost, 0);
    assert_eq!(s.counts.out_of_order_per_key, 0, "one queue per key still");
}

#[test]
fn set_processing_changes_the_busy_time_from_the_next_message_on() {
    let mut world = World::new(&scenario("prefetch.json"));
    world.run_until(100).unwrap();
    let busy_before = world.clients()[1].busy_ms;
    let processed_before = world.clients()[1].count;
    world
        .set_processing("c1", ProcessingSpec::FixedMs(50))
        .unwrap();
    world.run().unwrap();
    let c1 = &world.clients()[1];
    assert_eq!(c1.count, 30);
    // One message was in progress at 20 ms; every later one takes 50 ms.
    let later = c1.count - processed_before - 1;
    assert_eq!(c1.busy_ms - busy_before, later * 50);
    assert!(world
        .set_processing("p1", ProcessingSpec::FixedMs(1))
        .is_err());
    assert!(world
        .set_processing("ghost", ProcessingSpec::FixedMs(1))
        .is_err());
    let bad = ProcessingSpec::UniformMs { min: 5, max: 1 };
    assert!(world.set_processing("c1", bad).is_err());
}

#[test]
fn in_flight_lists_messages_on_the_wire_earliest_arrival_first() {
    let mut s = scenario("prefetch.json");
    s.network.latency_ms_min = 5;
    s.network.latency_ms_max = 15;
    let mut world = World::new(&s);
    world.run_until(12).unwrap();
    let all = world.in_flight(1000);
    assert!(all.len() >= 5, "publishes in flight: {}", all.len());
    let now = world.now_ms();
    for f in &all {
        assert!(f.sent_ms <= now && now < f.arrives_ms, "{f:?} at {now}");
        assert!(f.msg.starts_with('m'));
    }
    assert!(all.windows(2).all(|w| w[0].arrives_ms <= w[1].arrives_ms));
    assert!(all.iter().any(|f| f.to_broker && f.client == "p1"));
    let few = world.in_flight(3);
    assert_eq!(few, all[..3].to_vec());
}

#[test]
fn live_control_is_deterministic() {
    let run = || {
        let mut world = World::new(&scenario("fanout_partitions.json"));
        world.run_until(700).unwrap();
        world.inject(fault(FaultAction::Crash, "c2")).unwrap();
        world
            .add_client(ClientSpec::Consumer(consumer("c9", "orders.0", 1)))
            .unwrap();
        world
            .set_processing("c1", ProcessingSpec::FixedMs(30))
            .unwrap();
        world.run().unwrap();
        world.history().hash(world.names())
    };
    assert_eq!(run(), run());
}
