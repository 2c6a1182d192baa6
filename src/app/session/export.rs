//! The run's history as files a learner can download: JSON Lines with every
//! event (the bytes the history hash reads) and EDN in Jepsen's conventions
//! for Jepsen and Elle (see [`crate::history::History::to_edn`]); and the
//! stem an export to a real broker is named by (see `crate::export::zipped`).

use super::{Session, Source};

impl Session {
    /// The history so far as JSON Lines, one event per line.
    pub fn history_jsonl(&self) -> String {
        let world = self.world();
        world.history().to_jsonl(world.names())
    }

    /// The history so far as Jepsen's `history.edn`: client operations
    /// (`:send`, `:poll`) and faults, one map per line.
    pub fn history_edn(&self) -> String {
        let world = self.world();
        world.history().to_edn(world.names())
    }

    /// A file name stem for this run's downloads: its source and seed.
    pub fn file_stem(&self) -> String {
        let world = self.world();
        let name = world
            .scenario()
            .name
            .replace(|c: char| !c.is_ascii_alphanumeric(), "-");
        format!("brokerlab-{name}-seed{}", world.scenario().seed)
    }

    /// The stem `brokerlab export-real` would take from the scenario's file
    /// name: a loaded file's name without `.json`, `playground` for a run
    /// built from the page's controls.
    pub fn export_stem(&self) -> String {
        match &self.source {
            Source::Playground(_) => "playground".into(),
            Source::File { name } => name.strip_suffix(".json").unwrap_or(name).to_string(),
        }
    }
}
