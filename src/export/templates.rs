//! The template texts an export is made from, and where the scenario came
//! from (the README's first line).
//!
//! The texts live in `src/export/templates/` as plain files. `brokerlab
//! export-real` compiles them in ([`Templates::built_in`]); the page does
//! not, to keep them out of its bundle: Trunk copies the folder next to the
//! page (`export-templates/`, see `index.html`) and the page fetches the
//! files a target needs ([`Target::template_files`]) when the learner asks
//! for an export, then hands them over with [`Templates::from_texts`]. Both
//! run the same [`super::export`] on the same text, so the files are the
//! same byte for byte.

use super::{ExportError, Target};

/// Every template file, by name, with its text as compiled in.
const BUILT_IN: [(&str, &str); 10] = [
    ("README.md", include_str!("templates/README.md")),
    ("common.py", include_str!("templates/common.py")),
    ("rabbitmq.py", include_str!("templates/rabbitmq.py")),
    ("nats.py", include_str!("templates/nats.py")),
    ("kafka.py", include_str!("templates/kafka.py")),
    ("run.sh", include_str!("templates/run.sh")),
    ("compose.yaml", include_str!("templates/compose.yaml")),
    (
        "mapping-rabbitmq.md",
        include_str!("templates/mapping-rabbitmq.md"),
    ),
    ("mapping-nats.md", include_str!("templates/mapping-nats.md")),
    (
        "mapping-kafka.md",
        include_str!("templates/mapping-kafka.md"),
    ),
];

/// A template must be text of a sane size: the largest is ~11 KB.
const TEMPLATE_BYTES_MAX: usize = 256 * 1024;

/// Template texts by file name (`common.py`, `README.md`, ...).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Templates {
    /// (file name, text) pairs: a handful, so a list is the simplest map.
    texts: Vec<(String, String)>,
}

impl Templates {
    /// The texts compiled into the binary: what `brokerlab export-real`
    /// uses (the page never calls this, so its bundle does not carry them).
    pub fn built_in() -> Templates {
        Templates::from_texts(
            BUILT_IN
                .iter()
                .map(|(name, text)| ((*name).to_string(), (*text).to_string())),
        )
    }

    /// Texts loaded elsewhere (the page fetches them): (file name, text).
    pub fn from_texts(texts: impl IntoIterator<Item = (String, String)>) -> Templates {
        Templates {
            texts: texts.into_iter().collect(),
        }
    }

    /// The text of template `name`, or an error naming the missing or
    /// oversized file.
    pub fn text(&self, name: &str) -> Result<&str, ExportError> {
        let found = self.texts.iter().find(|(n, _)| n == name);
        let fail = |reason: &str| ExportError {
            path: format!("templates/{name}"),
            reason: reason.to_string(),
        };
        match found {
            None => Err(fail("the template was not loaded")),
            Some((_, text)) if text.len() > TEMPLATE_BYTES_MAX => Err(fail(&format!(
                "the template is over {TEMPLATE_BYTES_MAX} bytes"
            ))),
            Some((_, text)) => Ok(text),
        }
    }
}

impl Target {
    /// The template with this target's clients (one part of `experiment.py`).
    pub(super) fn clients_template(self) -> &'static str {
        match self {
            Target::Rabbitmq => "rabbitmq.py",
            Target::Nats => "nats.py",
            Target::Kafka => "kafka.py",
        }
    }

    /// The template with the README's mapping table for this target: the
    /// scenario's words on the left, the real broker's on the right.
    pub(super) fn mapping_template(self) -> &'static str {
        match self {
            Target::Rabbitmq => "mapping-rabbitmq.md",
            Target::Nats => "mapping-nats.md",
            Target::Kafka => "mapping-kafka.md",
        }
    }

    /// The template files an export to this target reads (the page fetches
    /// exactly these).
    pub fn template_files(self) -> &'static [&'static str] {
        match self {
            Target::Rabbitmq => &[
                "README.md",
                "mapping-rabbitmq.md",
                "common.py",
                "rabbitmq.py",
                "run.sh",
            ],
            Target::Nats => &[
                "README.md",
                "mapping-nats.md",
                "common.py",
                "nats.py",
                "run.sh",
            ],
            Target::Kafka => &[
                "README.md",
                "mapping-kafka.md",
                "common.py",
                "kafka.py",
                "run.sh",
                "compose.yaml",
            ],
        }
    }
}

/// Where an export's scenario came from: the README's first line says so,
/// and the export's name (its stem) is taken from it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Origin<'a> {
    /// `brokerlab export-real PATH`: the scenario file the command read.
    Command {
        /// The path as the command was given it.
        path: &'a str,
    },
    /// The page, running a bundled example or a file the learner opened.
    PageFile {
        /// The file's name (`nack_requeue.json`).
        name: &'a str,
    },
    /// The page, running the playground's own setup (its controls).
    Playground,
}

impl Origin<'_> {
    /// The name exports are called by: the file's name without its
    /// extension (as `brokerlab export-real` always took it), `playground`
    /// for the playground's setup, or `fallback` (the scenario's name) for
    /// a path with no file name.
    pub fn stem(self, fallback: &str) -> String {
        let path = match self {
            Origin::Command { path } => path,
            Origin::PageFile { name } => name,
            Origin::Playground => return "playground".to_string(),
        };
        let file = path.rsplit(['/', '\\']).next().unwrap_or(path);
        let stem = match file.rsplit_once('.') {
            Some((stem, _)) if !stem.is_empty() => stem,
            _ => file,
        };
        if stem.is_empty() {
            fallback.to_string()
        } else {
            stem.to_string()
        }
    }

    /// The README's sentence on where the export came from.
    pub(super) fn sentence(self, target: Target) -> String {
        match self {
            Origin::Command { path } => format!(
                "Exported by `brokerlab export-real {path} --target {}`.",
                target.name()
            ),
            Origin::PageFile { name } => format!(
                "Exported from the brokerlab page, which was running the scenario file `{name}`; \
                 `scenario.json` in this folder is that scenario with its guarantee applied."
            ),
            Origin::Playground => "Exported from the brokerlab page: the playground's own \
                 setup (its controls, not a file), written out as `scenario.json` in this folder."
                .to_string(),
        }
    }
}
