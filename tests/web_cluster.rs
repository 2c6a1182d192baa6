//! Browser test of the cluster page (issue 13): crash the leader's broker
//! by name, and the verdict still holds under `acks=all`; the same with
//! `acks=1` shows a lost record with its chain. An impossible setting is
//! refused next to the field it names.
//!
//! The page keeps each broker's log in IndexedDB: each test starts on
//! empty databases and closes its page, and waits for the run (which may
//! stop for the disks) by what the page shows.
#![cfg(target_arch = "wasm32")]

#[path = "support/dom.rs"]
mod dom;

#[path = "support/cluster_page.rs"]
mod page;

use brokerlab::ui::cluster::ClusterPage;
use page::unmount;
use wasm_bindgen::JsCast;
use wasm_bindgen_test::*;
use web_sys::Element;

wasm_bindgen_test_configure!(run_in_browser);

/// The broker whose replica of `partition` is drawn as its leader, read
/// from the page: each broker's region and its replica rows.
fn leader_of(root: &Element, partition: &str) -> String {
    let mut leaders = Vec::new();
    for (section, name) in dom::all_by_role(root, "region") {
        let Some(broker) = name.strip_prefix("Broker ") else {
            continue;
        };
        let rows = section.query_selector_all("tbody tr").expect("rows");
        for i in 0..rows.length() {
            let row = rows.item(i).and_then(|n| n.dyn_into::<Element>().ok());
            let cells: Vec<String> = row
                .map(|r| r.query_selector_all("td").expect("cells"))
                .map(|c| {
                    (0..c.length())
                        .filter_map(|j| c.item(j)?.text_content())
                        .collect()
                })
                .unwrap_or_default();
            if cells.first().map(String::as_str) == Some(partition)
                && cells.get(1).is_some_and(|role| role.starts_with("leader"))
            {
                leaders.push(broker.to_string());
            }
        }
    }
    assert_eq!(leaders.len(), 1, "one leader of {partition}: {leaders:?}");
    leaders.remove(0)
}

/// A page on empty databases.
async fn mount() -> (Element, yew::AppHandle<ClusterPage>) {
    page::clear().await;
    page::mount().await
}

/// Three seconds in, crash the leader of `events-0` by its button, run to
/// the end: the verdict's text.
async fn crash_the_leader(root: &Element) -> String {
    for s in 1..=3 {
        dom::click(root, "Forward 1 s");
        let clock = || dom::get_by_role(root, "status", "Clock").text_content();
        let at = format!("t = {s}.0 s");
        dom::until(&at, || clock().is_some_and(|c| c.starts_with(&at))).await;
    }
    let leader = leader_of(root, "events-0");
    dom::click(root, &format!("Crash broker {leader}"));
    yew::scheduler::flush().await;
    let region = dom::get_by_role(root, "region", &format!("Broker {leader}"));
    dom::get_by_role(&region, "button", &format!("Restart broker {leader}"));
    page::run_to_the_end(root).await;
    page::verdict(root)
}

#[wasm_bindgen_test]
async fn a_leader_crash_keeps_acks_all_and_loses_a_record_with_acks_1() {
    let (root, app) = mount().await;
    for b in ["b1", "b2", "b3"] {
        dom::get_by_role(&root, "button", &format!("Crash broker {b}"));
        dom::get_by_role(&root, "button", &format!("Isolate broker {b}"));
    }

    let held = crash_the_leader(&root).await;
    assert!(held.contains("At least once holds"), "{held}");

    dom::click(&root, "Reset");
    dom::change(&dom::get_by_label(&root, "acks"), "1");
    yew::scheduler::flush().await;
    let lost = crash_the_leader(&root).await;
    assert!(lost.contains("At least once is violated"), "{lost}");
    assert!(lost.contains("lost: m"), "{lost}");
    for part in [
        "acknowledged by b1 (leader, epoch 0, acks=1)",
        "b1 crashed",
        "became leader at epoch 1",
    ] {
        assert!(lost.contains(part), "the chain tells {part:?}: {lost}");
    }
    unmount(app).await;
}

#[wasm_bindgen_test]
async fn an_impossible_combination_is_refused_by_the_field_it_names() {
    let (root, app) = mount().await;
    dom::change(&dom::get_by_label(&root, "brokers"), "2");
    yew::scheduler::flush().await;
    let label = root.query_selector_all("label").expect("labels");
    let refused: Vec<String> = (0..label.length())
        .filter_map(|i| label.item(i)?.text_content())
        .filter(|t| t.starts_with("replication.factor"))
        .collect();
    assert!(
        refused
            .iter()
            .any(|t| t.contains("replication.factor 3 with 2 brokers")),
        "{refused:?}"
    );
    let brokers = |root: &Element| {
        dom::all_by_role(root, "region")
            .iter()
            .filter(|(_, n)| n.starts_with("Broker "))
            .count()
    };
    assert_eq!(brokers(&root), 3, "the last good cluster stays");
    dom::change(&dom::get_by_label(&root, "replication.factor"), "2");
    yew::scheduler::flush().await;
    assert_eq!(brokers(&root), 2, "a runnable setup starts at once");
    assert!(dom::all_by_role(&root, "alert").is_empty());
    unmount(app).await;
}
