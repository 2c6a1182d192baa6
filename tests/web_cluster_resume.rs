//! Browser test of the cluster page's storage (issue 13): each broker
//! keeps its log in an IndexedDB database of its own, so a reload (the
//! page unmounted and mounted again on the same databases) offers to
//! resume the whole cluster, and Resume brings every replica's log back.
//! Stored data whose layout no longer fits is refused naming the stored
//! item, and Start fresh deletes it.
//!
//! In its own file (its own browser session): it leaves stored clusters
//! behind, which `web_cluster.rs` clears before each of its tests.
#![cfg(target_arch = "wasm32")]

#[path = "support/dom.rs"]
mod dom;

#[path = "support/cluster_page.rs"]
mod page;

use brokerlab::storage::idb::{IdbConfig, IdbStore};
use brokerlab::ui::cluster::disks::{db_name, STORES};
use page::{clear, mount, run_to_the_end, unmount, verdict};
use wasm_bindgen::JsCast;
use wasm_bindgen_test::*;
use web_sys::Element;

wasm_bindgen_test_configure!(run_in_browser);

/// (broker, partition, LEO, on disk) of every replica row on the page.
fn replicas(root: &Element) -> Vec<(String, String, u64, u64)> {
    let mut rows = Vec::new();
    for (section, name) in dom::all_by_role(root, "region") {
        let Some(broker) = name.strip_prefix("Broker ") else {
            continue;
        };
        let trs = section.query_selector_all("tbody tr").expect("rows");
        for i in 0..trs.length() {
            let tr = trs.item(i).and_then(|n| n.dyn_into::<Element>().ok());
            let cells = tr.expect("a row").query_selector_all("td").expect("cells");
            let cell = |j| {
                cells
                    .item(j)
                    .and_then(|c| c.text_content())
                    .unwrap_or_default()
            };
            let number = |j| cell(j).parse::<u64>().expect("a number");
            rows.push((broker.to_string(), cell(0), number(2), number(4)));
        }
    }
    rows
}

fn alerts(root: &Element) -> String {
    let found = dom::all_by_role(root, "alert");
    let texts: Vec<String> = found.into_iter().map(|(_, t)| t).collect();
    texts.join(" | ")
}

fn text(root: &Element) -> String {
    root.text_content().unwrap_or_default()
}

/// The page says the run on screen keeps its brokers' logs.
fn kept(root: &Element) -> bool {
    let mut statuses = dom::all_by_role(root, "status").into_iter();
    statuses.any(|(s, _)| {
        let text = s.text_content().unwrap_or_default();
        text.contains("a reload offers to resume")
    })
}

/// Waits for the stored cluster's banner (or an alert that says why not).
async fn banner(root: &Element) {
    dom::until("the disks to open", || !alerts(root).is_empty()).await;
    let said = alerts(root);
    assert!(said.contains("earlier visit"), "{said} / {}", text(root));
}

#[wasm_bindgen_test]
async fn a_reload_resumes_a_3_broker_cluster() {
    clear().await;
    let (root, app) = mount().await;
    dom::until("the run to be kept", || kept(&root)).await;
    run_to_the_end(&root).await;
    assert!(
        verdict(&root).contains("At least once holds"),
        "{}",
        verdict(&root)
    );
    let before = replicas(&root);
    assert_eq!(
        before.len(),
        9,
        "3 partitions x replication.factor 3: {before:?}"
    );
    assert!(before.iter().all(|r| r.2 > 50), "{before:?}");
    assert!(
        before.iter().all(|r| r.3 == r.2),
        "a clean shutdown wrote every log: {before:?}"
    );
    unmount(app).await;

    // The reload: the same databases, a new page.
    let (root, app) = mount().await;
    banner(&root).await;
    let banner = alerts(&root);
    assert!(
        banner.contains("3 brokers, replication.factor 3, acks=all, seed 1"),
        "{banner}"
    );
    let records: u64 = before.iter().map(|r| r.2).sum();
    assert!(banner.contains(&format!("({records} records")), "{banner}");
    dom::click(&root, "Resume");
    dom::until("the resumed cluster", || {
        text(&root).contains("Resumed the cluster")
    })
    .await;
    assert_eq!(alerts(&root), "", "no alert after Resume");
    let back = replicas(&root);
    assert_eq!(
        back, before,
        "every replica's log came back, all of it on disk"
    );

    // It runs on, on the same disks, and nothing is lost.
    run_to_the_end(&root).await;
    assert!(
        verdict(&root).contains("At least once holds"),
        "{}",
        verdict(&root)
    );
    let after = replicas(&root);
    for (old, new) in before.iter().zip(&after) {
        assert!(new.2 > old.2 && new.3 == new.2, "{old:?} then {new:?}");
    }
    unmount(app).await;
}

#[wasm_bindgen_test]
async fn a_stored_cluster_of_another_layout_is_refused_by_name_and_start_fresh_deletes_it() {
    clear().await;
    let (root, app) = mount().await;
    dom::until("the run to be kept", || kept(&root)).await;
    run_to_the_end(&root).await;
    unmount(app).await;
    // An older page saved a 2-broker layout beside these 3 brokers' logs.
    for n in 1..=STORES {
        let store = IdbStore::open(IdbConfig::new(&db_name(n)))
            .await
            .expect("open");
        let two = "cluster-v1 topic=events partitions=3 brokers=2 replication.factor=2 \
                   min.insync.replicas=1 acks=all unclean.leader.election.enable=false seed=1";
        store.save_setup(two).expect("saved");
        store.close().await;
    }

    let (root, app) = mount().await;
    banner(&root).await;
    dom::click(&root, "Resume");
    yew::scheduler::flush().await;
    let refused = alerts(&root);
    assert!(
        refused.contains("Cannot resume: stored.b"),
        "names the stored item: {refused}"
    );
    assert!(dom::get_by_role(&root, "button", "Resume").has_attribute("disabled"));
    dom::click(&root, "Start fresh");
    yew::scheduler::flush().await;
    assert_eq!(alerts(&root), "", "the stored cluster is gone");
    assert!(kept(&root), "and the new run is kept");
    unmount(app).await;

    // Nothing is offered after Start fresh but the new run's own cluster
    // (it had not run: nothing on its disks).
    let (root, app) = mount().await;
    dom::until("the run to be kept", || kept(&root)).await;
    assert_eq!(alerts(&root), "");
    unmount(app).await;
}
