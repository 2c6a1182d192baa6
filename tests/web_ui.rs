//! Browser tests of the playground page, driven the way a person uses it:
//! controls are found by their accessible names, changes are made with clicks,
//! `change` events and key presses, and every wait is `yew::scheduler::flush()`.
//! Virtual time moves with "Fast-forward" or "Step", never with sleeps.
#![cfg(target_arch = "wasm32")]

#[path = "support/dom.rs"]
mod dom;
use dom::{click_and_render as click, mount_app as mount};

use std::cell::Cell;
use std::rc::Rc;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_test::*;
use web_sys::Element;

wasm_bindgen_test_configure!(run_in_browser);

async fn change(root: &Element, label: &str, value: &str) {
    dom::change(&dom::get_by_label(root, label), value);
    yew::scheduler::flush().await;
}

fn select_value(root: &Element, label: &str) -> String {
    dom::get_by_label(root, label)
        .dyn_into::<web_sys::HtmlSelectElement>()
        .expect("a select")
        .value()
}

/// Inline messages of the toolbar's fields (page-wide banners are separate).
fn field_alerts(root: &Element) -> Vec<String> {
    let toolbar = root.query_selector(".toolbar").unwrap().expect("a toolbar");
    dom::all_by_role(&toolbar, "alert")
        .into_iter()
        .map(|(_, text)| text)
        .collect()
}

fn event_log_rows(root: &Element) -> u32 {
    let log = dom::get_by_role(root, "region", "Event log");
    log.query_selector_all("li").expect("li selector").length()
}

#[wasm_bindgen_test]
async fn in_memory_queue_crash_loses_confirmed_messages() {
    let (root, app) = mount().await;
    assert_eq!(select_value(&root, "Broker"), "In-memory queue");
    assert_eq!(select_value(&root, "Delivery"), "At least once");
    // Slow both consumers so the broker holds a backlog when it dies.
    click(&root, "Slow c1").await;
    click(&root, "Slow c2").await;
    click(&root, "Play").await;
    click(&root, "Fast-forward").await;
    assert!(dom::counter(&root, "Published") > 100);
    assert_eq!(
        dom::counter(&root, "Lost"),
        0,
        "nothing lost before the crash"
    );
    assert_eq!(dom::text_of_role(&root, "status"), "At least once: holds");

    click(&root, "Crash broker").await;
    click(&root, "Restart broker").await;
    click(&root, "Fast-forward").await;
    click(&root, "Pause").await;
    let lost = dom::counter(&root, "Lost");
    assert!(lost > 0, "an in-memory broker crash loses its queue");
    // Its messages are transient: an expected loss, yet not at least once.
    assert_eq!(
        dom::text_of_role(&root, "status"),
        format!("At least once: violated: {lost} findings (transient_lost)")
    );
    app.destroy();
}

#[wasm_bindgen_test]
async fn clicking_a_finding_tells_the_story_of_its_message() {
    let (root, app) = mount().await;
    click(&root, "Slow c1").await;
    click(&root, "Slow c2").await;
    click(&root, "Fast-forward").await;
    click(&root, "Crash broker").await;
    click(&root, "Fast-forward").await;
    let (finding, name) = dom::all_by_role(&root, "button")
        .into_iter()
        .find(|(_, name)| name.starts_with("transient_lost"))
        .expect("a transient_lost finding is listed");
    finding.dyn_into::<web_sys::HtmlElement>().unwrap().click();
    yew::scheduler::flush().await;
    // Named like "transient_lost m40 at 16.160 s".
    let msg = name
        .split_whitespace()
        .nth(1)
        .expect("the finding names its message");
    let story = dom::get_by_role(&root, "region", &format!("Story of {msg}"));
    let text = story.text_content().unwrap_or_default();
    assert!(
        text.contains("publish"),
        "the story starts at the publish: {text}"
    );
    assert!(
        text.contains(&format!("{msg} was lost from")) && text.contains("in the crash"),
        "and ends in the crash: {text}"
    );
    assert!(
        !text.contains("\"f\":"),
        "raw fields are hidden at first: {text}"
    );
    dom::get_by_label(&root, "Raw fields")
        .dyn_into::<web_sys::HtmlElement>()
        .unwrap()
        .click();
    yew::scheduler::flush().await;
    let story = dom::get_by_role(&root, "region", &format!("Story of {msg}"));
    let text = story.text_content().unwrap_or_default();
    assert!(
        text.contains("\"f\":\"lost_in_crash\""),
        "the switch shows each row's raw fields: {text}"
    );
    app.destroy();
}

fn press(key: &str) {
    let init = web_sys::KeyboardEventInit::new();
    init.set_key(key);
    init.set_bubbles(true);
    let event =
        web_sys::KeyboardEvent::new_with_keyboard_event_init_dict("keydown", &init).unwrap();
    dom::document().dispatch_event(&event).unwrap();
}

#[wasm_bindgen_test]
async fn space_plays_and_pauses_and_s_steps() {
    let (root, app) = mount().await;
    press(" ");
    yew::scheduler::flush().await;
    dom::get_by_role(&root, "button", "Pause");
    press(" ");
    yew::scheduler::flush().await;
    dom::get_by_role(&root, "button", "Play");

    let before = event_log_rows(&root);
    press("s");
    yew::scheduler::flush().await;
    press("S");
    yew::scheduler::flush().await;
    assert!(event_log_rows(&root) > before, "each S runs one event");
    app.destroy();
}

#[wasm_bindgen_test]
async fn bad_numbers_are_rejected_inline_and_the_last_good_value_stays() {
    let (root, app) = mount().await;
    change(&root, "Partitions", "3").await;
    let queues = || {
        let svg = root.query_selector(".topology svg").unwrap().unwrap();
        svg.query_selector_all(".queue").unwrap().length()
    };
    assert_eq!(queues(), 3, "three partitions: three queues");
    assert!(field_alerts(&root).is_empty());

    change(&root, "Partitions", "0").await;
    assert_eq!(field_alerts(&root), ["must be a whole number from 1 to 16"]);
    assert_eq!(queues(), 3, "the last good value stays");

    change(&root, "Seed", "twelve").await;
    assert_eq!(field_alerts(&root).len(), 2);
    change(&root, "Partitions", "2").await;
    change(&root, "Seed", "12").await;
    assert!(
        field_alerts(&root).is_empty(),
        "fixing a field clears its message"
    );
    assert_eq!(queues(), 2);
    app.destroy();
}

/// The Delivery select's options as (value, disabled, title).
fn delivery_options(root: &Element) -> Vec<(String, bool, String)> {
    let select: web_sys::HtmlSelectElement =
        dom::get_by_label(root, "Delivery").dyn_into().unwrap();
    (0..select.length())
        .filter_map(|i| select.item(i))
        .filter_map(|o| o.dyn_into::<web_sys::HtmlOptionElement>().ok())
        .map(|o| (o.value(), o.disabled(), o.title()))
        .collect()
}

#[wasm_bindgen_test]
async fn guarantees_a_broker_cannot_run_are_listed_but_disabled() {
    use brokerlab::app::playground::BrokerKind;
    use brokerlab::config::Guarantee;
    let (root, app) = mount().await;
    for (broker, label) in [
        (BrokerKind::Queue, "In-memory queue"),
        (BrokerKind::Log, "Log"),
    ] {
        change(&root, "Broker", label).await;
        let options = delivery_options(&root);
        let listed: Vec<&str> = options.iter().map(|o| o.0.as_str()).collect();
        let all: Vec<&str> = Guarantee::ALL.iter().map(|d| d.label()).collect();
        assert_eq!(listed, all, "every guarantee is listed, runnable or not");
        for ((_, disabled, title), delivery) in options.iter().zip(Guarantee::ALL) {
            let reason = broker.unavailable(delivery).map(|u| u.to_string());
            assert_eq!(
                *disabled,
                reason.is_some(),
                "{} on {label}",
                delivery.label()
            );
            assert_eq!(
                title.as_str(),
                reason.unwrap_or_default(),
                "a disabled option says why"
            );
        }
    }
    // Transactions need the log: the queue broker greys that option out,
    // and says what it needs (it is built; issue 12's stale "not built yet").
    assert!(BrokerKind::Queue
        .unavailable(Guarantee::ExactlyOnceTransactional)
        .is_some());
    change(&root, "Broker", "In-memory queue").await;
    let select = dom::get_by_label(&root, "Delivery");
    let texts: Vec<String> = (0..select.child_element_count())
        .filter_map(|i| select.children().item(i))
        .map(|o| o.text_content().unwrap_or_default())
        .collect();
    assert_eq!(
        texts.last().map(String::as_str),
        Some("Exactly once (transactional) (needs the log broker)"),
        "{texts:?}"
    );
    assert!(
        texts.iter().all(|t| !t.contains("not built yet")),
        "{texts:?}"
    );
    app.destroy();
}

/// Counts `console.error` calls while it lives; restores the original on drop.
struct ConsoleErrors {
    count: Rc<Cell<u32>>,
    original: JsValue,
    _hook: Closure<dyn Fn()>,
}

impl ConsoleErrors {
    fn install() -> ConsoleErrors {
        let console = js_sys::Reflect::get(&js_sys::global(), &"console".into()).unwrap();
        let original = js_sys::Reflect::get(&console, &"error".into()).unwrap();
        let count = Rc::new(Cell::new(0));
        let seen = count.clone();
        let hook = Closure::<dyn Fn()>::new(move || seen.set(seen.get() + 1));
        js_sys::Reflect::set(&console, &"error".into(), hook.as_ref()).unwrap();
        ConsoleErrors {
            count,
            original,
            _hook: hook,
        }
    }
}

impl Drop for ConsoleErrors {
    fn drop(&mut self) {
        let console = js_sys::Reflect::get(&js_sys::global(), &"console".into()).unwrap();
        js_sys::Reflect::set(&console, &"error".into(), &self.original).unwrap();
    }
}

#[wasm_bindgen_test]
async fn two_hundred_random_clicks_cause_no_panic_and_no_console_error() {
    let errors = ConsoleErrors::install();
    let (root, app) = mount().await;
    // A fixed-seed LCG (Knuth's MMIX constants) picks the next control.
    let mut state: u64 = 0x5eed;
    let mut next = move |n: usize| {
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((state >> 33) % n as u64) as usize
    };
    for _ in 0..200 {
        let buttons: Vec<Element> = dom::all_by_role(&root, "button")
            .into_iter()
            .filter(|(_, name)| name != "Export scenario" && name != "Export for a real broker")
            .map(|(el, _)| el)
            .filter(|el| !el.has_attribute("disabled"))
            .collect();
        let pick = next(buttons.len() + 2);
        if pick < buttons.len() {
            buttons[pick]
                .clone()
                .dyn_into::<web_sys::HtmlElement>()
                .unwrap()
                .click();
        } else if pick == buttons.len() {
            dom::change(&dom::get_by_label(&root, "Speed"), &next(8).to_string());
        } else {
            dom::change(
                &dom::get_by_label(&root, "Partitions"),
                &(1 + next(4)).to_string(),
            );
        }
        yew::scheduler::flush().await;
    }
    assert!(dom::text_of_role(&root, "status").contains("At least once"));
    assert_eq!(errors.count.get(), 0, "console.error was called");
    app.destroy();
}

#[wasm_bindgen_test]
async fn log_broker_at_least_once_survives_a_broker_crash() {
    let (root, app) = mount().await;
    change(&root, "Broker", "Log").await;
    assert_eq!(select_value(&root, "Broker"), "Log");
    assert_eq!(select_value(&root, "Delivery"), "At least once");
    let partitions = || {
        root.query_selector_all(".topology .partition")
            .unwrap()
            .length()
    };
    assert_eq!(partitions(), 1, "one partition to start");
    change(&root, "Partitions", "3").await;
    assert_eq!(partitions(), 3);

    click(&root, "Fast-forward").await;
    let before = dom::counter(&root, "Processed");
    assert!(before > 100, "the log was read: {before}");
    click(&root, "Crash broker").await;
    click(&root, "Restart broker").await;
    click(&root, "Fast-forward").await;
    click(&root, "Fast-forward").await;
    assert!(
        dom::counter(&root, "Processed") > before,
        "reading resumed after the restart"
    );
    assert_eq!(
        dom::counter(&root, "Lost"),
        0,
        "acks=all: nothing acknowledged is lost"
    );
    assert_eq!(dom::text_of_role(&root, "status"), "At least once: holds");
    app.destroy();
}

/// Lost confirms (producers re-publish) and consumer crashes (unacked
/// messages go to the other consumer), clicked under `delivery`; returns
/// (Duplicated, Redelivered, Lost, verdict).
async fn duplicates_under(delivery: &str) -> (u64, u64, u64, String) {
    let (root, app) = mount().await;
    change(&root, "Delivery", delivery).await;
    assert_eq!(select_value(&root, "Delivery"), delivery);
    click(&root, "Fast-forward").await;
    click(&root, "Drop acks").await;
    for consumer in ["c1", "c2", "c1"] {
        click(&root, "Fast-forward").await;
        click(&root, &format!("Crash {consumer}")).await;
        click(&root, "Fast-forward").await;
        click(&root, &format!("Restart {consumer}")).await;
    }
    click(&root, "Fast-forward").await;
    let result = (
        dom::counter(&root, "Duplicated"),
        dom::counter(&root, "Redelivered"),
        dom::counter(&root, "Lost"),
        dom::text_of_role(&root, "status"),
    );
    app.destroy();
    result
}

#[wasm_bindgen_test]
async fn exactly_once_idempotent_keeps_out_the_duplicates_at_least_once_lets_in() {
    // The control: the same clicks under at least once do duplicate effects.
    let (duplicated, _, lost, verdict) = duplicates_under("At least once").await;
    assert!(duplicated > 0, "at least once duplicates: {verdict}");
    assert_eq!(lost, 0);

    let (duplicated, redelivered, lost, verdict) =
        duplicates_under("Exactly once (idempotent)").await;
    assert!(
        redelivered > 0,
        "the crashes handed messages to the other consumer"
    );
    assert_eq!((duplicated, lost), (0, 0));
    assert_eq!(verdict, "Exactly once (idempotent): holds");
}

#[wasm_bindgen_test]
async fn exactly_once_transactional_holds_across_consumer_and_broker_crashes() {
    let (root, app) = mount().await;
    // On the queue broker the option is there, greyed out, saying why.
    let options = delivery_options(&root);
    let txn = options
        .iter()
        .find(|o| o.0 == "Exactly once (transactional)")
        .expect("listed");
    assert!(txn.1, "disabled on the in-memory queue");
    assert!(
        txn.2.contains("needs the log broker"),
        "says why: {}",
        txn.2
    );

    change(&root, "Broker", "Log").await;
    change(&root, "Delivery", "Exactly once (transactional)").await;
    assert_eq!(
        select_value(&root, "Delivery"),
        "Exactly once (transactional)"
    );
    // Play for real frames, then crash consumers and the broker mid-run.
    click(&root, "Play").await;
    for _ in 0..20 {
        dom::next_frame().await;
    }
    click(&root, "Pause").await;
    click(&root, "Fast-forward").await;
    for consumer in ["c1", "c2"] {
        click(&root, &format!("Crash {consumer}")).await;
        click(&root, "Fast-forward").await;
        click(&root, &format!("Restart {consumer}")).await;
        click(&root, "Fast-forward").await;
    }
    click(&root, "Crash broker").await;
    click(&root, "Fast-forward").await;
    click(&root, "Restart broker").await;
    for _ in 0..3 {
        click(&root, "Fast-forward").await;
    }
    let processed = dom::counter(&root, "Processed");
    assert!(processed > 100, "the pipeline ran: {processed}");
    assert_eq!(dom::counter(&root, "Duplicated"), 0);
    assert_eq!(dom::counter(&root, "Lost"), 0);
    assert_eq!(
        dom::text_of_role(&root, "status"),
        "Exactly once (transactional): holds"
    );
    app.destroy();
}

/// The settings row of `id`: its inline messages.
fn settings_alerts(root: &Element, id: &str) -> Vec<String> {
    dom::alerts_in_group(root, &format!("Settings of {id}"))
}

async fn set_field(root: &Element, name: &str, value: &str) {
    dom::change(&dom::get_by_role(root, "textbox", name), value);
    yew::scheduler::flush().await;
}

fn field_value(root: &Element, name: &str) -> String {
    dom::get_by_role(root, "textbox", name)
        .dyn_into::<web_sys::HtmlInputElement>()
        .expect("an input")
        .value()
}

/// Issue 7: a consumer added live gets a settings row; prefetch and
/// processing change while the run plays, show in the event log, and a bad
/// number is refused inline while the last good value stays.
#[wasm_bindgen_test]
async fn a_live_consumers_settings_change_while_playing_and_bad_numbers_are_refused() {
    let (root, app) = mount().await;
    click(&root, "Add consumer").await;
    click(&root, "Settings for c3").await;
    assert_eq!(field_value(&root, "Prefetch for c3"), "5");
    click(&root, "Play").await;
    for _ in 0..3 {
        dom::next_frame().await;
        yew::scheduler::flush().await;
    }
    click(&root, "Fast-forward").await;

    set_field(&root, "Prefetch for c3", "1").await;
    assert!(settings_alerts(&root, "c3").is_empty());
    assert_eq!(field_value(&root, "Prefetch for c3"), "1");
    let log = dom::get_by_role(&root, "region", "Event log");
    let text = log.text_content().unwrap_or_default();
    assert!(
        text.contains("c3 set prefetch to 1"),
        "the change is in the event log: {text}"
    );

    set_field(&root, "Processing time (ms) for c3", "80").await;
    assert_eq!(field_value(&root, "Processing time (ms) for c3"), "80");
    click(&root, "Fast-forward").await;
    let text = log.text_content().unwrap_or_default();
    assert!(text.contains("process"), "c3 goes on processing: {text}");

    set_field(&root, "Prefetch for c3", "0").await;
    assert_eq!(
        settings_alerts(&root, "c3"),
        ["must be from 1 to 1000; still 1"]
    );
    let input = dom::get_by_role(&root, "textbox", "Prefetch for c3");
    assert_eq!(input.get_attribute("aria-invalid").as_deref(), Some("true"));
    let described = input.get_attribute("aria-describedby").expect("described");
    let message = dom::document()
        .get_element_by_id(&described)
        .expect("the message");
    assert_eq!(message.get_attribute("role").as_deref(), Some("alert"));

    set_field(&root, "Processing time (ms) for c3", "slow").await;
    assert_eq!(settings_alerts(&root, "c3").len(), 2);
    set_field(&root, "Prefetch for c3", "2").await;
    set_field(&root, "Processing time (ms) for c3", "40").await;
    assert!(
        settings_alerts(&root, "c3").is_empty(),
        "fixed values clear"
    );
    assert_eq!(field_value(&root, "Prefetch for c3"), "2");

    // Delivery sets the ack mode: shown, not changeable, and the page says why.
    let ack = dom::get_by_role(&root, "combobox", "Ack mode for c3");
    assert!(ack.has_attribute("disabled"));
    let note = ack.get_attribute("aria-describedby").expect("a note");
    let note = dom::document().get_element_by_id(&note).unwrap();
    assert!(note
        .text_content()
        .unwrap_or_default()
        .starts_with("Set by Delivery (At least once)"));
    click(&root, "Pause").await;
    assert_eq!(dom::text_of_role(&root, "status"), "At least once: holds");
    app.destroy();
}

#[wasm_bindgen_test]
async fn a_loaded_scenario_says_what_it_is_about() {
    let (root, app) = mount().await;
    assert!(
        root.query_selector(".about").unwrap().is_none(),
        "the playground's own setup has no description"
    );
    change(&root, "Scenario", "broker_crash").await;
    let about = root
        .query_selector(".about")
        .unwrap()
        .expect("a description");
    let text = about.text_content().unwrap();
    assert!(
        text.starts_with("broker_crash.json: The broker crashes at t=400"),
        "{text}"
    );
    app.destroy();
}
