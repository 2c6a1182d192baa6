//! Browser test, issue 18: a saved setup must never brick the page.
//!
//! The bug: "Rate (msgs/s) for p1" took up to 10,000, but a producer sends
//! rate × 3,600 messages and a run holds 10,000,000, so 2,778 or more built
//! an invalid scenario; the page saved that setup next to its log and every
//! later load panicked. Here the page refuses 2,778 with the reason, a
//! reload (a new App on the same IndexedDB) still offers Resume, and a
//! setup an older page did save shows the damaged-setup banner, where Start
//! fresh works. Driven by accessible names; every wait is
//! `yew::scheduler::flush()` or an animation frame, never a sleep.
//!
//! In its own file (its own browser session) because it leaves a stored log
//! in the page's database, which other suites expect to be empty.
#![cfg(target_arch = "wasm32")]

#[path = "support/dom.rs"]
mod dom;

use brokerlab::app::playground::{BrokerKind, Setup};
use brokerlab::storage::acked::ACKED_KEY;
use brokerlab::storage::idb::{IdbConfig, IdbStore};
use brokerlab::ui::persist::DB_NAME;
use brokerlab::ui::App;
use wasm_bindgen::JsCast;
use wasm_bindgen_test::*;
use web_sys::Element;

wasm_bindgen_test_configure!(run_in_browser);

/// What the page says when 2,778 msgs/s is typed for a producer.
const TOO_FAST: &str =
    "must be from 1 to 2777: a run lasts 3,600 s and holds at most 10,000,000 messages per producer";

fn alerts(root: &Element) -> Vec<String> {
    let found = dom::all_by_role(root, "alert");
    found.into_iter().map(|(_, text)| text).collect()
}

fn caption(root: &Element) -> String {
    let caption = root.query_selector(".topology .caption").unwrap();
    caption.and_then(|c| c.text_content()).unwrap_or_default()
}

fn field_value(root: &Element, name: &str) -> String {
    dom::get_by_role(root, "textbox", name)
        .dyn_into::<web_sys::HtmlInputElement>()
        .expect("an input")
        .value()
}

fn button_disabled(root: &Element, name: &str) -> bool {
    dom::get_by_role(root, "button", name).has_attribute("disabled")
}

async fn mount() -> (Element, yew::AppHandle<App>) {
    let root = dom::fresh_root();
    let app = yew::Renderer::<App>::with_root(root.clone()).render();
    yew::scheduler::flush().await;
    (root, app)
}

/// A fresh page database (and no record of earlier acknowledgements, which
/// would report the deleted log as vanished), the page mounted, and Broker
/// set to Log: a log run writing to IndexedDB, its setup saved beside it.
async fn mount_log_run() -> (Element, yew::AppHandle<App>) {
    IdbStore::delete_database(DB_NAME)
        .await
        .expect("clear the page's log");
    let local = web_sys::window().unwrap().local_storage().unwrap().unwrap();
    local.remove_item(ACKED_KEY).unwrap();
    let (root, app) = mount().await;
    dom::change(&dom::get_by_label(&root, "Broker"), "Log");
    dom::until("the log run on IndexedDB", || {
        caption(&root).contains("log in IndexedDB")
    })
    .await;
    (root, app)
}

/// Plays until `n` more messages are confirmed, then pauses.
async fn run_until_confirmed(root: &Element, n: u64) {
    let from = dom::counter(root, "Confirmed");
    dom::click(root, "Play");
    dom::until("messages to be confirmed", || {
        dom::counter(root, "Confirmed") >= from + n
    })
    .await;
    dom::click(root, "Pause");
    yew::scheduler::flush().await;
}

#[wasm_bindgen_test]
async fn a_rate_a_run_cannot_hold_is_refused_and_the_reloaded_page_still_works() {
    let (root, app) = mount_log_run().await;

    // The live settings row refuses 2,778 msgs/s and says why; 50 stays.
    dom::click(&root, "Settings for p1");
    yew::scheduler::flush().await;
    let rate = dom::get_by_role(&root, "textbox", "Rate (msgs/s) for p1");
    dom::change(&rate, "2778");
    yew::scheduler::flush().await;
    assert_eq!(
        dom::alerts_in_group(&root, "Settings of p1"),
        [format!("{TOO_FAST}; still 50")]
    );
    // The largest rate a run can hold is taken.
    dom::change(&rate, "2777");
    yew::scheduler::flush().await;
    assert!(dom::alerts_in_group(&root, "Settings of p1").is_empty());
    dom::change(&rate, "50");
    yew::scheduler::flush().await;

    // "Add producer" never gets a rate that cannot run: the field refuses
    // it, and the producer added has the last good rate.
    dom::change(&dom::get_by_label(&root, "Rate"), "10000");
    yew::scheduler::flush().await;
    let refused = alerts(&root);
    assert!(
        refused
            .iter()
            .any(|a| a.starts_with("must be a whole number from 1 to 2777: ")),
        "{refused:?}"
    );
    dom::click(&root, "Add producer");
    yew::scheduler::flush().await;
    dom::click(&root, "Settings for p2");
    yew::scheduler::flush().await;
    assert_eq!(field_value(&root, "Rate (msgs/s) for p2"), "50");

    run_until_confirmed(&root, 10).await;
    app.destroy();
    yew::scheduler::flush().await;

    // The reload: a new page on the same database offers the saved setup.
    let (root, app) = mount().await;
    dom::until("the stored-log banner", || {
        alerts(&root).iter().any(|a| a.contains("earlier visit"))
    })
    .await;
    let banner = alerts(&root).join(" ");
    assert!(
        banner.contains("It was written by: Log, At least once, 1 partition, seed 1, 2 producers and 2 consumers"),
        "{banner}"
    );
    assert!(!button_disabled(&root, "Resume"));
    dom::click(&root, "Resume");
    dom::until("the resumed run", || {
        caption(&root).contains("log in IndexedDB")
    })
    .await;
    dom::click(&root, "Settings for p1");
    yew::scheduler::flush().await;
    assert_eq!(field_value(&root, "Rate (msgs/s) for p1"), "50");
    run_until_confirmed(&root, 10).await;
    assert_eq!(dom::counter(&root, "Lost"), 0);
    app.destroy();
}

#[wasm_bindgen_test]
async fn a_saved_setup_an_older_page_allowed_is_reported_and_start_fresh_works() {
    // A log run through the page, then the setup an older page would have
    // saved beside it: 3,000 msgs/s, which it allowed.
    let (root, app) = mount_log_run().await;
    run_until_confirmed(&root, 10).await;
    app.destroy();
    yew::scheduler::flush().await;
    let mut setup = Setup {
        broker: BrokerKind::Log,
        ..Setup::default()
    };
    setup.producers[0].rate_per_s = 3_000;
    let idb = IdbStore::open(IdbConfig::new(DB_NAME))
        .await
        .expect("open IndexedDB");
    idb.save_setup(&brokerlab::app::resume::to_text(&setup))
        .unwrap();
    idb.close().await;

    let (root, app) = mount().await;
    dom::until("the stored-log banner", || {
        alerts(&root).iter().any(|a| a.contains("earlier visit"))
    })
    .await;
    let banner = alerts(&root).join(" ");
    assert!(banner.contains("cannot be resumed"), "{banner}");
    assert!(banner.contains(&format!("Rate: {TOO_FAST}")), "{banner}");
    assert!(button_disabled(&root, "Resume"));

    dom::click(&root, "Start fresh");
    dom::until("the log to be cleared", || alerts(&root).is_empty()).await;
    dom::change(&dom::get_by_label(&root, "Broker"), "Log");
    dom::until("a log run on IndexedDB", || {
        caption(&root).contains("log in IndexedDB")
    })
    .await;
    run_until_confirmed(&root, 10).await;
    assert_eq!(dom::counter(&root, "Lost"), 0);
    app.destroy();
}
