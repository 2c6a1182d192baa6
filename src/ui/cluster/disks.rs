//! The cluster page's disks: one IndexedDB database per broker
//! (`brokerlab-cluster-b1` … `-b5`), the single broker's store
//! ([`IdbStore`], shared as [`SharedStore`]) once per broker. Each holds
//! its broker's replicas, one stream per partition, and the setup as text
//! ([`ClusterSetup::to_text`]), so the layout a stored log was written
//! under travels with it.
//!
//! Opening reads what an earlier visit left without writing anything; the
//! person then chooses Resume or Start fresh, and until then runs are not
//! kept. A new run (a setting, Reset, Start fresh) empties all five and
//! writes through them.

use crate::app::cluster::{ClusterSetup, FSYNC_LATENCY_MS};
use crate::storage::idb::{IdbConfig, IdbStore};
use crate::storage::{Recovery, Storage};
use crate::ui::persist::SharedStore;
use std::cell::RefCell;
use std::rc::Rc;

/// Brokers the page can have, and so stores it opens.
pub const STORES: u8 = 5;

/// The database of broker `b{n}`.
pub fn db_name(n: u8) -> String {
    format!("brokerlab-cluster-b{n}")
}

/// What the page knows about the brokers' stores.
#[derive(Clone, Debug, Default, PartialEq)]
pub enum Disks {
    /// Being opened: runs are not kept yet.
    #[default]
    Opening,
    /// `stores[i]` is `b{i+1}`'s, open.
    Ready {
        /// The five stores.
        stores: Vec<SharedStore>,
        /// A cluster an earlier visit left, until the person chooses.
        found: Option<Found>,
    },
    /// Why runs are not kept (the banner's text).
    Unavailable(String),
}

/// A cluster an earlier visit left on the brokers' disks.
#[derive(Clone, Debug, PartialEq)]
pub struct Found {
    /// Records on the disks, every replica counted.
    pub records: u64,
    /// The setup saved with it, or why it cannot be resumed.
    pub setup: Result<ClusterSetup, String>,
}

/// Opens the five stores and counts what they hold.
pub async fn open() -> Disks {
    let mut stores = Vec::new();
    for n in 1..=STORES {
        let mut config = IdbConfig::new(&db_name(n));
        config.fsync_latency_ms = FSYNC_LATENCY_MS;
        match IdbStore::open(config).await {
            Ok(store) => stores.push(SharedStore(Rc::new(RefCell::new(store)))),
            Err(e) => {
                return Disks::Unavailable(format!(
                    "b{n}'s IndexedDB database cannot be used ({e}). The cluster runs in memory: nothing survives a reload."
                ))
            }
        }
    }
    let mut records = 0;
    for store in &stores {
        let (recovery, _) = crate::storage::recovery::recover(&store.0.borrow().durable());
        records += recovery
            .report
            .streams
            .values()
            .map(|r| r.records)
            .sum::<u64>();
    }
    let saved = stores[0].0.borrow().saved_setup();
    let found = (records > 0).then(|| Found {
        records,
        setup: match saved {
            Ok(Some(text)) => ClusterSetup::from_text(&text),
            Ok(None) => Err("stored.setup: no setup was saved with it".into()),
            Err(why) => Err(format!("stored.setup: {why}")),
        },
    });
    Disks::Ready { stores, found }
}

/// Empties every store and saves `setup` in each: a new run's disks.
pub fn fresh(stores: &[SharedStore], setup: &ClusterSetup) -> Vec<Box<dyn Storage>> {
    let text = setup.to_text();
    for store in stores {
        store.clone().start_fresh();
        // A store that refuses says so again at the run's first flush.
        let _ = store.0.borrow().save_setup(&text);
    }
    boxed(stores)
}

/// What each store kept, recovered for a resume.
pub fn recover(stores: &[SharedStore]) -> Vec<Recovery> {
    stores.iter().map(|s| s.clone().recover()).collect()
}

/// The stores as a run writes through them.
pub fn boxed(stores: &[SharedStore]) -> Vec<Box<dyn Storage>> {
    let each = stores
        .iter()
        .map(|s| Box::new(s.clone()) as Box<dyn Storage>);
    each.collect()
}
