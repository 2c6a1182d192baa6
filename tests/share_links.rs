//! Share links (issue 15 item 3): a link rebuilds the run byte for byte, a
//! typical playground run fits in 2,000 characters, and a bad link opens
//! the default playground with a sentence saying what was wrong, never a
//! panic.
//!
//! `cargo test --test share_links -- --nocapture` prints the link size of
//! every bundled scenario.
#![cfg(not(target_arch = "wasm32"))]

use brokerlab::app::playground::{BrokerKind, ConsumerSettings, ProducerSettings, Setup};
use brokerlab::app::session::Session;
use brokerlab::app::share::{self, LinkError, LiveAction, SHARE_VERSION};
use brokerlab::config::{Guarantee, ProcessingSpec, Setting};

fn hash(s: &Session) -> u64 {
    s.world().history().hash(s.world().names())
}

fn run_ms(s: &mut Session, ms: u64) {
    s.advance(ms, &mut || false);
}

/// Opens `link` as the page does and checks it is the same run as `live`.
fn assert_reopens(live: &mut Session, what: &str) -> String {
    live.refresh_summary();
    let link = live.share_link().expect("shareable");
    let (opened, notice) = Session::open_link(&link);
    assert_eq!(notice, None, "{what}");
    assert_eq!(opened.mark(), live.mark(), "{what}: the same instant");
    assert_eq!(hash(&opened), hash(live), "{what}: the same history bytes");
    assert_eq!(opened.summary(), live.summary(), "{what}: the same summary");
    assert_eq!(
        opened.recorded(),
        live.recorded(),
        "{what}: the same actions"
    );
    link
}

/// A playground run with every kind of live action, some taken between
/// two events of one millisecond (after Step).
fn busy_run(setup: &Setup) -> Session {
    let mut s = Session::from_setup(setup).expect("valid");
    run_ms(&mut s, 1_500);
    s.act(LiveAction::CrashClient("c1".into())).unwrap();
    run_ms(&mut s, 700);
    s.act(LiveAction::RestartClient("c1".into())).unwrap();
    s.act(LiveAction::DropAcks).unwrap();
    for _ in 0..3 {
        s.step_once();
    }
    s.act(LiveAction::AddConsumer(ConsumerSettings::default()))
        .unwrap();
    s.act(LiveAction::AddProducer(ProducerSettings {
        rate_per_s: 20,
        keys: 2,
    }))
    .unwrap();
    run_ms(&mut s, 900);
    s.act(LiveAction::ToggleSlow("c2".into())).unwrap();
    s.act(LiveAction::Set(
        "c1".into(),
        Setting::Processing(ProcessingSpec::FixedMs(7)),
    ))
    .unwrap();
    s.act(LiveAction::Set("p1".into(), Setting::RatePerS(80)))
        .unwrap();
    s.step_once();
    s.act(LiveAction::CrashBroker).unwrap();
    run_ms(&mut s, 400);
    s.act(LiveAction::RestartBroker).unwrap();
    run_ms(&mut s, 2_000);
    s
}

#[test]
fn a_link_rebuilds_a_queue_run_with_every_live_action_byte_for_byte() {
    let mut live = busy_run(&Setup::default());
    assert!(live.recorded().len() >= 10);
    let link = assert_reopens(&mut live, "queue playground");
    println!("busy queue playground run: {} characters", link.len());
    assert!(link.len() <= 2_000, "{} characters", link.len());
}

#[test]
fn a_link_rebuilds_a_log_run_byte_for_byte() {
    let setup = Setup {
        broker: BrokerKind::Log,
        delivery: Guarantee::AtLeastOnce,
        partitions: 3,
        seed: 42,
        ..Setup::default()
    };
    let mut live = busy_run(&setup);
    let link = assert_reopens(&mut live, "log playground");
    assert!(link.len() <= 2_000, "{} characters", link.len());
}

#[test]
fn every_bundled_scenario_reopens_from_its_link_and_the_sizes_are_printed() {
    println!("share link sizes (characters; a third of the run, a crash, a third more):");
    for (stem, text) in share::BUNDLED {
        let name = format!("{stem}.json");
        let mut live = Session::from_json(&name, text).expect("bundled scenarios load");
        let third_ms = live.world().end_ms() / 3;
        run_ms(&mut live, third_ms);
        let crash_first = live.world().clients().first().map(|c| c.id.clone());
        if let Some(id) = crash_first {
            live.act(LiveAction::CrashClient(id)).unwrap();
        }
        run_ms(&mut live, third_ms);
        let link = assert_reopens(&mut live, stem);
        println!("  {stem:<32} {:>5}", link.len());
        assert!(link.len() <= 2_000, "{stem}: {} characters", link.len());
    }
}

#[test]
fn a_typical_playground_run_fits_in_2000_characters() {
    let mut live = Session::from_setup(&Setup::default()).unwrap();
    run_ms(&mut live, 10_000);
    live.act(LiveAction::CrashClient("c1".into())).unwrap();
    run_ms(&mut live, 2_000);
    live.act(LiveAction::RestartClient("c1".into())).unwrap();
    run_ms(&mut live, 5_000);
    let link = assert_reopens(&mut live, "typical");
    println!("typical playground run: {} characters", link.len());
    assert!(link.len() <= 2_000);
}

/// Opens a bad link: the default playground, and the message.
fn refused(link: &str) -> String {
    let (session, notice) = Session::open_link(link);
    assert_eq!(session.setup(), Some(&Setup::default()), "{link:.40}");
    assert_eq!(session.world().now_ms(), 0);
    let notice = notice.unwrap_or_else(|| panic!("{link:.40} was accepted"));
    assert!(notice.ends_with("The default playground opened instead."));
    notice
}

fn good_link() -> String {
    let mut live = Session::from_setup(&Setup::default()).unwrap();
    run_ms(&mut live, 2_000);
    live.act(LiveAction::CrashClient("c2".into())).unwrap();
    run_ms(&mut live, 500);
    live.share_link().unwrap()
}

#[test]
fn bad_links_open_the_default_playground_and_say_what_was_wrong() {
    assert!(refused("").contains("empty"));
    assert!(refused("hello").contains("does not start with its version"));
    let future = format!("{}.{}", SHARE_VERSION + 1, &good_link()[2..]);
    let msg = refused(&future);
    assert!(
        msg.contains("newer brokerlab") && msg.contains("version 2"),
        "{msg}"
    );
    assert!(refused("1.not*base64!").contains("not base64url"));
    let link = good_link();
    let truncated = &link[..link.len() / 2];
    assert!(refused(truncated).contains("damaged or cut short"));
    assert!(refused("1.AAAA").contains("does not inflate"));
    let too_long = format!("1.{}", "A".repeat(share::LINK_CHARS_MAX));
    assert!(refused(&too_long).contains("too long"));
}

/// A link whose JSON says `json`, deflated and encoded as the page does.
fn link_with_json(json: &str) -> String {
    use base64::Engine;
    let packed = miniz_oxide::deflate::compress_to_vec(json.as_bytes(), 6);
    format!(
        "1.{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(packed)
    )
}

#[test]
fn a_link_whose_run_cannot_be_built_says_why() {
    let msg = refused(&link_with_json(
        "{\"origin\":{\"bundled\":\"nope\"},\"actions\":[],\"at\":{\"events\":0,\"time_ms\":0}}",
    ));
    assert!(msg.contains("`nope`"), "{msg}");
    let mut setup = serde_json::to_value(Setup::default()).unwrap();
    setup["partitions"] = 999.into();
    let json = serde_json::json!({"origin": {"setup": setup}, "actions": [], "at": {"events": 0, "time_ms": 0}});
    let msg = refused(&link_with_json(&json.to_string()));
    assert!(msg.contains("Partitions"), "{msg}");
    // An action the run refuses (no client c9) names the action.
    let json = serde_json::json!({"origin": {"setup": serde_json::to_value(Setup::default()).unwrap()},
        "actions": [{"at": {"events": 0, "time_ms": 0}, "action": {"crash_client": "c9"}}],
        "at": {"events": 0, "time_ms": 0}});
    let msg = refused(&link_with_json(&json.to_string()));
    assert!(msg.contains("crash c9"), "{msg}");
    // A point the run never reaches.
    let json = serde_json::json!({"origin": {"setup": serde_json::to_value(Setup::default()).unwrap()},
        "actions": [], "at": {"events": 5, "time_ms": 0}});
    assert!(refused(&link_with_json(&json.to_string())).contains("diverged"));
    assert!(refused(&link_with_json("[1, 2")).contains("not readable"));
}

#[test]
fn no_mutation_of_a_link_panics() {
    let link = good_link();
    let bytes = link.as_bytes();
    let alphabet = b"ABCxyz019-_.";
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    for _ in 0..400 {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        let mut mutated = bytes.to_vec();
        let at = (state % bytes.len() as u64) as usize;
        mutated[at] = alphabet[(state >> 32) as usize % alphabet.len()];
        let cut = (state >> 16) as usize % (bytes.len() + 1);
        let text = String::from_utf8_lossy(&mutated[..cut.max(at.min(cut))]).to_string();
        // Either the same kind of run opens, or the default with a message.
        let _ = Session::open_link(&text);
        let _ = share::decode(&text).map_err(|e: LinkError| e.to_string());
    }
}
