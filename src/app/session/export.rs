//! The run's history as files a learner can download: JSON Lines with every
//! event (the bytes the history hash reads) and EDN in Jepsen's conventions
//! for Jepsen and Elle (see [`crate::history::History::to_edn`]); and the
//! file the run came from, which an export to a real broker names.

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

    /// The name of the file this run came from (a bundled example or a file
    /// the learner opened), or `None` for the playground's own setup: an
    /// export to a real broker says which (`crate::export::Origin`).
    pub fn source_file(&self) -> Option<&str> {
        match &self.source {
            Source::Playground(_) => None,
            Source::File { name } => Some(name),
        }
    }
}
