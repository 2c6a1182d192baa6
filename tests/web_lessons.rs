//! Browser tests of the lessons, driven as a learner would: controls found
//! by their accessible names, clicks and key presses, every wait a
//! `yew::scheduler::flush()` or the next animation frame (never a sleep).
//! Virtual time moves with the lesson's own "Step" and "Run to the end".
//!
//! Each test starts from a known URL and stored progress (it sets both) and
//! unmounts its site at the end, so a test's history listeners never see
//! the next test's navigation.
#![cfg(target_arch = "wasm32")]

#[path = "support/dom.rs"]
mod dom;
use dom::click_and_render as click;

use brokerlab::app::learn::PROGRESS_KEY;
use brokerlab::ui::route::Site;
use wasm_bindgen::JsCast;
use wasm_bindgen_test::*;
use web_sys::Element;
use yew::AppHandle;

wasm_bindgen_test_configure!(run_in_browser);

fn window() -> web_sys::Window {
    web_sys::window().expect("a window")
}

fn storage() -> web_sys::Storage {
    window().local_storage().unwrap().expect("localStorage")
}

/// Sets the URL's fragment without a history entry, as a typed link would
/// arrive on a page load.
fn set_hash(hash: &str) {
    let url = if hash.is_empty() { "#" } else { hash };
    (window().history().unwrap())
        .replace_state_with_url(&wasm_bindgen::JsValue::NULL, "", Some(url))
        .unwrap();
}

fn hash() -> String {
    window().location().hash().unwrap()
}

/// A first visit: no stored progress.
fn forget_progress() {
    storage().remove_item(PROGRESS_KEY).unwrap();
}

async fn mount() -> (Element, AppHandle<Site>) {
    let root = dom::fresh_root();
    let app = yew::Renderer::<Site>::with_root(root.clone()).render();
    yew::scheduler::flush().await;
    (root, app)
}

fn unmount(root: Element, app: AppHandle<Site>) {
    app.destroy();
    root.remove();
}

async fn click_link(root: &Element, name: &str) {
    (dom::get_by_role(root, "link", name).dyn_into::<web_sys::HtmlElement>())
        .unwrap()
        .click();
    yew::scheduler::flush().await;
}

/// Whether the button named `name` is disabled.
fn disabled(root: &Element, name: &str) -> bool {
    dom::get_by_role(root, "button", name).has_attribute("disabled")
}

/// "Lesson 1 of 14 · step 2 of 6", the line over the lesson's heading.
fn kicker(root: &Element) -> String {
    let p = root.query_selector(".lesson-kicker").unwrap();
    p.expect("a lesson is shown")
        .text_content()
        .unwrap_or_default()
}

fn text(root: &Element) -> String {
    root.text_content().unwrap_or_default()
}

/// The lines of the checklist as (class, text).
fn goals(root: &Element) -> Vec<(String, String)> {
    let region = dom::get_by_role(root, "region", "Goals");
    let list = region.query_selector_all("li").unwrap();
    (0..list.length())
        .filter_map(|i| list.item(i)?.dyn_into::<Element>().ok())
        .map(|li| (li.class_name(), li.text_content().unwrap_or_default()))
        .collect()
}

#[wasm_bindgen_test]
async fn a_learner_completes_lesson_one() {
    forget_progress();
    set_hash("");
    let (root, app) = mount().await;
    // A first visit lands on lesson 1, in a region named by its heading.
    let lesson = dom::get_by_role(&root, "region", "What a broker is for");
    assert!(text(&lesson).contains("The idea:"), "{}", text(&lesson));
    assert_eq!(hash(), "#/learn/01_backlog/0");
    assert!(disabled(&root, "Back"), "no step before the first");
    dom::get_by_role(&root, "link", "Skip to the playground");
    for _ in 0..3 {
        click(&root, "Next").await;
    }
    dom::get_by_role(&root, "heading", "Predict");
    // Run waits for the prediction: the experiment step says so.
    click(&root, "Next").await;
    assert!(disabled(&root, "Run"), "Run before a prediction");
    assert!(text(&root).contains("Run is disabled until you answer the prediction"));
    click(&root, "Go to the prediction").await;
    let right = "The broker holds them: a backlog of 30 or more builds up, and every video is still encoded in the end.";
    click(&root, right).await;
    assert_eq!(
        dom::get_by_role(&root, "button", right).get_attribute("aria-pressed"),
        Some("true".into())
    );
    click(&root, "Next").await;
    assert!(!disabled(&root, "Run"), "Run after a prediction");
    // The experiment: slow c1 early, then let the run finish.
    let before = goals(&root);
    assert!(
        before.iter().all(|(class, _)| !class.contains("met")),
        "{before:?}"
    );
    click(&root, "Step 100 ms").await;
    click(&root, "Slow c1").await;
    assert_eq!(
        dom::get_by_role(&root, "button", "Slow c1").get_attribute("aria-pressed"),
        Some("true".into())
    );
    click(&root, "Run to the end").await;
    let after = goals(&root);
    assert_eq!(after.len(), 3);
    for (class, line) in &after {
        assert!(
            class.split(' ').any(|c| c == "met") && line.contains("met"),
            "{after:?}"
        );
    }
    // Goals to reach say when they were reached.
    assert!(after[0].1.contains("met at t ="), "{after:?}");
    // The live region said a goal was met.
    let live = root.query_selector(".goals [aria-live]").unwrap().unwrap();
    assert!(live.text_content().unwrap().starts_with("Goal met: "));
    let outcome = dom::get_by_role(&root, "status", "Outcome");
    let said = outcome.text_content().unwrap();
    assert!(said.contains(&format!("You predicted: {right}")), "{said}");
    assert!(
        said.contains("The checker saw: ") && said.contains("It happened at t = "),
        "{said}"
    );
    assert!(said.contains("Your prediction was right."), "{said}");
    // The debrief names the real settings.
    click(&root, "Next").await;
    dom::get_by_role(&root, "heading", "Debrief");
    let table = root
        .query_selector("table.settings")
        .unwrap()
        .expect("a settings table");
    assert!(table.text_content().unwrap().contains("prefetch"));
    // The index marks the lesson done.
    click_link(&root, "Lessons").await;
    let row = root.query_selector(".lesson-row").unwrap().unwrap();
    assert!(row.class_name().contains("done"), "{}", row.class_name());
    assert!(text(&root).contains("1 of 14 done"), "{}", text(&root));
    unmount(root, app);
}

#[wasm_bindgen_test]
async fn a_wrong_prediction_never_blocks_the_lesson() {
    forget_progress();
    set_hash("#/learn/01_backlog/3");
    let (root, app) = mount().await;
    // Wrong once c1 is slowed: nothing is dropped.
    click(
        &root,
        "A backlog builds up, but the videos that do not fit are dropped.",
    )
    .await;
    click(&root, "Next").await;
    click(&root, "Step 100 ms").await;
    click(&root, "Slow c1").await;
    click(&root, "Run to the end").await;
    let said = dom::get_by_role(&root, "status", "Outcome")
        .text_content()
        .unwrap();
    assert!(said.contains("Not what you predicted"), "{said}");
    click(&root, "Next").await;
    dom::get_by_role(&root, "heading", "Debrief");
    unmount(root, app);
}

#[wasm_bindgen_test]
async fn a_deep_link_opens_its_step_and_a_bad_one_says_so() {
    forget_progress();
    set_hash("#/learn/03_broker_crash/4");
    let (root, app) = mount().await;
    dom::get_by_role(&root, "region", "An in-memory broker forgets on a crash");
    assert!(
        kicker(&root).contains("Lesson 3 of 14 · step 5 of 7"),
        "{}",
        kicker(&root)
    );
    dom::get_by_role(&root, "heading", "Predict");
    unmount(root, app);

    set_hash("#/learn/99_nope/2");
    let (root, app) = mount().await;
    let alert = dom::text_of_role(&root, "alert");
    assert!(alert.contains("There is no lesson `99_nope`"), "{alert}");
    dom::get_by_role(&root, "region", "Lessons");
    assert_eq!(hash(), "#/learn");
    unmount(root, app);
}

/// The experiment's clock, "t = 1.500 s of 3.000 s".
fn clock(root: &Element) -> String {
    let clock = root.query_selector("[aria-label='Virtual time']").unwrap();
    clock
        .expect("the experiment's clock")
        .text_content()
        .unwrap()
}

/// Presses "Copy link to this step" and returns the link's fragment.
async fn copy_link(root: &Element) -> String {
    click(root, "Copy link to this step").await;
    let link = dom::get_by_role(root, "textbox", "Copied link");
    let url = link
        .dyn_into::<web_sys::HtmlInputElement>()
        .unwrap()
        .value();
    url[url.find('#').expect("a fragment")..].to_string()
}

/// A link to a step and an instant opens the experiment there; "Copy link
/// to this step" makes such a link; a bad part of one says what was wrong.
#[wasm_bindgen_test]
async fn a_deep_link_to_an_instant_opens_the_run_there() {
    forget_progress();
    set_hash("#/learn/03_broker_crash/5/1500ms");
    let (root, app) = mount().await;
    dom::get_by_role(&root, "heading", "The experiment");
    assert!(kicker(&root).contains("step 6 of 7"), "{}", kicker(&root));
    assert!(clock(&root).starts_with("t = 1.500 s"), "{}", clock(&root));
    assert!(!disabled(&root, "Run"), "the link skipped the prediction");
    click(&root, "Step 100 ms").await;
    let fragment = copy_link(&root).await;
    assert_eq!(fragment, "#/learn/03_broker_crash/5/1600ms");
    unmount(root, app);

    // The copied link, opened afresh, shows the same instant.
    set_hash(&fragment);
    let (root, app) = mount().await;
    assert!(clock(&root).starts_with("t = 1.600 s"), "{}", clock(&root));
    unmount(root, app);

    // Bad parts: each says what was wrong and opens a page that exists.
    for (hash, said, lands) in [
        ("#/learn/03_broker_crash/5/soon", "`soon`", "#/learn"),
        (
            "#/learn/03_broker_crash/9/100ms",
            "step 10 does not exist",
            "#/learn/03_broker_crash/0",
        ),
        (
            "#/learn/03_broker_crash/5/9000ms",
            "past its end",
            "#/learn/03_broker_crash/5",
        ),
        (
            "#/learn/03_broker_crash/1/100ms",
            "no experiment running",
            "#/learn/03_broker_crash/1",
        ),
    ] {
        set_hash(hash);
        let (root, app) = mount().await;
        let alert = dom::text_of_role(&root, "alert");
        assert!(alert.contains(said), "{hash}: {alert}");
        assert_eq!(self::hash(), lands);
        unmount(root, app);
    }
    set_hash("#/learn/03_broker_crash/5/9000ms");
    let (root, app) = mount().await;
    assert!(clock(&root).starts_with("t = 0 ms"), "{}", clock(&root));
    unmount(root, app);
}

/// "Copy link to this step" after the learner crashed the broker: the link
/// carries the crash, so reopened in a fresh page it shows the same run
/// (clock and counters); a damaged actions part says so and opens the step.
#[wasm_bindgen_test]
async fn a_copied_link_carries_the_learners_actions() {
    forget_progress();
    set_hash("#/learn/03_broker_crash/5/1200ms");
    let (root, app) = mount().await;
    click(&root, "Crash broker").await;
    for _ in 0..3 {
        click(&root, "Step 100 ms").await;
    }
    let fragment = copy_link(&root).await;
    assert!(
        fragment.starts_with("#/learn/03_broker_crash/5/1500ms/1."),
        "{fragment}"
    );
    let counters = ["Published", "Confirmed", "Delivered", "Processed", "Lost"];
    let seen: Vec<u64> = counters.iter().map(|c| dom::counter(&root, c)).collect();
    assert!(disabled(&root, "Crash broker"), "the broker is down");
    unmount(root, app);

    set_hash(&fragment);
    let (root, app) = mount().await;
    assert!(clock(&root).starts_with("t = 1.500 s"), "{}", clock(&root));
    let again: Vec<u64> = counters.iter().map(|c| dom::counter(&root, c)).collect();
    assert_eq!(again, seen, "the same run: {counters:?}");
    assert!(disabled(&root, "Crash broker"), "the broker is down again");
    unmount(root, app);

    let cut = &fragment[..fragment.len() - 6];
    set_hash(cut);
    let (root, app) = mount().await;
    let alert = dom::text_of_role(&root, "alert");
    assert!(alert.contains("damaged or cut short"), "{alert}");
    assert_eq!(hash(), "#/learn/03_broker_crash/5");
    assert!(clock(&root).starts_with("t = 0 ms"), "{}", clock(&root));
    unmount(root, app);
}

#[wasm_bindgen_test]
async fn progress_survives_a_reload() {
    forget_progress();
    set_hash("#/learn/02_ack_redelivery/0");
    let (root, app) = mount().await;
    click(&root, "Next").await;
    click(&root, "Next").await;
    assert_eq!(hash(), "#/learn/02_ack_redelivery/2");
    unmount(root, app);

    // A reload without a link lands where the learner was.
    set_hash("");
    let (root, app) = mount().await;
    assert!(
        kicker(&root).contains("Lesson 2 of 14 · step 3 of 6"),
        "{}",
        kicker(&root)
    );
    click_link(&root, "Lessons").await;
    let rows = root.query_selector_all(".lesson-row").unwrap();
    let second: Element = rows.item(1).unwrap().dyn_into().unwrap();
    assert!(
        second.class_name().contains("in-progress"),
        "{}",
        second.class_name()
    );
    unmount(root, app);

    // Stored progress this version cannot read: a message, and a fresh start.
    storage()
        .set_item(PROGRESS_KEY, "{\"version\": 1, \"lessons\": 7}")
        .unwrap();
    set_hash("");
    let (root, app) = mount().await;
    let alert = dom::text_of_role(&root, "alert");
    assert!(
        alert.contains("could not be read") && alert.contains("lessons"),
        "{alert}"
    );
    assert!(
        kicker(&root).contains("Lesson 1 of 14 · step 1 of"),
        "{}",
        kicker(&root)
    );
    unmount(root, app);
}

#[wasm_bindgen_test]
async fn the_back_button_and_the_arrow_keys_move_between_steps() {
    forget_progress();
    set_hash("#/learn/01_backlog/0");
    let (root, app) = mount().await;
    click(&root, "Next").await;
    click(&root, "Next").await;
    assert!(kicker(&root).contains("step 3 of 6"), "{}", kicker(&root));
    window().history().unwrap().back().unwrap();
    dom::until("the back button's step", || {
        kicker(&root).contains("step 2 of 6")
    })
    .await;
    assert_eq!(hash(), "#/learn/01_backlog/1");

    let key = |k: &str| {
        let init = web_sys::KeyboardEventInit::new();
        init.set_key(k);
        init.set_bubbles(true);
        let event = web_sys::KeyboardEvent::new_with_keyboard_event_init_dict("keydown", &init);
        dom::document().dispatch_event(&event.unwrap()).unwrap();
    };
    key("ArrowRight");
    yew::scheduler::flush().await;
    assert!(kicker(&root).contains("step 3 of 6"), "{}", kicker(&root));
    key("ArrowLeft");
    yew::scheduler::flush().await;
    key("ArrowLeft");
    yew::scheduler::flush().await;
    assert!(kicker(&root).contains("step 1 of 6"), "{}", kicker(&root));
    unmount(root, app);
}

/// The seed's first surprise from the landing page: at most 3 clicks and
/// 60 seconds to see the in-memory broker lose messages and the log not.
#[wasm_bindgen_test]
async fn three_clicks_show_memory_loses_and_the_log_does_not() {
    forget_progress();
    set_hash("");
    let started_ms = window().performance().unwrap().now();
    let (root, app) = mount().await;
    click_link(&root, "Crash test").await; // click 1
    click(&root, "Crash both brokers").await; // click 2
    let verdict = root
        .query_selector(".crash-verdict")
        .unwrap()
        .expect("a verdict");
    let said = verdict.text_content().unwrap();
    let numbers: Vec<u64> = said
        .split(|c: char| !c.is_ascii_digit())
        .filter_map(|n| n.parse().ok())
        .collect();
    assert_eq!(numbers.len(), 2, "{said}");
    assert!(
        numbers[0] >= 20,
        "the in-memory queue loses its backlog: {said}"
    );
    assert_eq!(numbers[1], 0, "the log loses nothing acknowledged: {said}");
    let memory = dom::get_by_role(
        &root,
        "region",
        "In-memory queue (like RabbitMQ without persistence)",
    );
    assert_eq!(dom::counter(&memory, "Lost"), numbers[0]);
    let log = dom::get_by_role(&root, "region", "Log broker with acks=all (like Kafka)");
    assert_eq!(dom::counter(&log, "Lost"), 0);
    let took_ms = window().performance().unwrap().now() - started_ms;
    assert!(took_ms < 60_000.0, "took {took_ms} ms");
    unmount(root, app);
}

#[wasm_bindgen_test]
async fn open_in_the_playground_carries_the_lesson_setup() {
    forget_progress();
    set_hash("#/learn/08_log_durability/3");
    let (root, app) = mount().await;
    click(&root, "Skip the prediction").await;
    click(&root, "Next").await;
    click(&root, "acks=all").await;
    click(&root, "Open in the playground").await;
    assert_eq!(hash(), "#/play");
    dom::get_by_role(&root, "main", "Playground");
    dom::until("the carried scenario", || {
        text(&root).contains("08_log_durability")
    })
    .await;
    let export = text(&root);
    assert!(export.contains("08_log_durability"), "{export}");
    unmount(root, app);
}

/// A cluster lesson plays its solution through the page, by accessible
/// name: acks=all chosen before the run, the leader's broker crashed by
/// its button a second and a half in and restarted a second later. Every
/// goal is met, and the brokers and the checker's verdict are the cluster
/// page's own drawing.
#[wasm_bindgen_test]
async fn a_learner_crashes_the_leaders_broker_in_a_cluster_lesson() {
    forget_progress();
    set_hash("#/learn/13_replicated_acks/5");
    let (root, app) = mount().await;
    dom::get_by_role(&root, "heading", "Predict");
    click(&root, "Skip the prediction").await;
    click(&root, "Next").await;
    assert!(
        dom::all_by_role(&root, "button")
            .iter()
            .all(|(_, n)| n != "Open in the playground"),
        "a cluster does not run in the playground"
    );
    click(&root, "acks=all").await;
    for _ in 0..15 {
        click(&root, "Step 100 ms").await;
    }
    assert!(
        disabled(&root, "Restart broker b1"),
        "b1 runs: nothing to restart"
    );
    click(&root, "Crash broker b1").await;
    let b1 = dom::get_by_role(&root, "region", "Broker b1");
    let heading = dom::get_by_role(&b1, "heading", "b1 (crashed)");
    assert!(heading.text_content().is_some());
    assert!(disabled(&root, "Crash broker b1"), "b1 is down");
    for _ in 0..10 {
        click(&root, "Step 100 ms").await;
    }
    click(&root, "Restart broker b1").await;
    click(&root, "Run to the end").await;
    let after = goals(&root);
    assert_eq!(after.len(), 3);
    for (class, line) in &after {
        assert!(class.split(' ').any(|c| c == "met"), "{after:?} ({line})");
    }
    let verdict = dom::get_by_role(&root, "region", "Verdict");
    let said = verdict.text_content().unwrap_or_default();
    assert!(said.contains("At least once holds"), "{said}");
    unmount(root, app);
}
