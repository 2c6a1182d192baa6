//! The cluster page in a browser test: mounted on the IndexedDB
//! databases its brokers keep their logs in, closed as a reload closes
//! it, and run to its verdict (a kept run may stop for its disks, so
//! this waits for what the page shows). Needs `mod dom` beside it.

use super::dom;
use brokerlab::storage::idb::IdbStore;
use brokerlab::ui::cluster::disks::{db_name, STORES};
use brokerlab::ui::cluster::ClusterPage;
use web_sys::Element;

/// Deletes every broker's database.
pub async fn clear() {
    for n in 1..=STORES {
        let deleted = IdbStore::delete_database(&db_name(n)).await;
        deleted.expect("delete");
    }
}

/// Renders the page into a fresh root.
pub async fn mount() -> (Element, yew::AppHandle<ClusterPage>) {
    let root = dom::fresh_root();
    let app = yew::Renderer::<ClusterPage>::with_root(root.clone()).render();
    yew::scheduler::flush().await;
    (root, app)
}

/// The page closes: its leases go, as a reload finds them.
pub async fn unmount(app: yew::AppHandle<ClusterPage>) {
    app.destroy();
    for n in 1..=STORES {
        dom::lease_free(&db_name(n)).await;
    }
}

/// The verdict region's text.
pub fn verdict(root: &Element) -> String {
    let section = dom::get_by_role(root, "region", "Verdict");
    section.text_content().unwrap_or_default()
}

/// Clicks "Run to the end" and waits for the verdict.
pub async fn run_to_the_end(root: &Element) {
    dom::click(root, "Run to the end");
    dom::until("the verdict", || !verdict(root).contains("comes when")).await;
}
