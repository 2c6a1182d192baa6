//! Share links: a whole run in a URL fragment.
//!
//! A run is a pure function of where it started (the playground's setup, a
//! bundled example or a scenario file), the live actions a person took (each
//! at the exact point of the run it was taken, see [`Mark`]) and how far it
//! has got. A [`Shared`] holds exactly that; [`encode`] turns it into
//! `<version>.<payload>`, where the payload is the JSON deflated with
//! `miniz_oxide` and written in base64url (no padding), so it goes into a URL
//! fragment unescaped. Opening the link replays the run
//! ([`crate::app::session::Session::from_shared`]) and gets the same history,
//! byte for byte.
//!
//! [`decode`] never panics: an empty, damaged, truncated, oversized or
//! future-version link is a [`LinkError`] whose sentence says what was wrong;
//! the page then opens the default playground and shows it.

use crate::app::playground::{ConsumerSettings, ProducerSettings, Setup};
use crate::config::{ClientSpec, Setting};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde::{Deserialize, Serialize};
use std::fmt;

include!(concat!(env!("OUT_DIR"), "/bundled_scenarios.rs"));

/// The link format this build writes and reads. A link names its version
/// before the first `.`, so a newer format is told apart before decoding.
pub const SHARE_VERSION: u32 = 1;
/// Longest link accepted, in characters (browsers keep far longer URLs,
/// but a link this long is no longer something to paste in a chat).
pub const LINK_CHARS_MAX: usize = 256 * 1024;
/// Longest JSON a link may inflate to: a bound on what a hostile link can
/// make the page allocate.
pub const JSON_BYTES_MAX: usize = 4 * 1024 * 1024;
/// Live actions one link may carry (the world's own bound on live settings).
pub const ACTIONS_MAX: usize = crate::config::setting::bounds::SETTINGS_MAX;

/// A point of a run, exact to the event: how many events had run and the
/// virtual clock. Time alone is not enough: a paused run may stand between
/// two events of the same millisecond (after Step), and an action taken
/// there must replay there.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Mark {
    /// Events run so far ([`crate::world::World::events_run`]).
    pub events: u64,
    /// The virtual clock, ms.
    pub time_ms: u64,
}

/// One thing a person did to a live run, as the page's buttons and fields
/// do it. Replaying these in order, each at its [`Mark`], rebuilds the run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LiveAction {
    /// "Crash broker".
    CrashBroker,
    /// "Crash broker mid-write": the disk's batch in flight lands torn.
    CrashBrokerTorn,
    /// "Restart broker".
    RestartBroker,
    /// A client's Crash button.
    CrashClient(String),
    /// A client's Restart button.
    RestartClient(String),
    /// "Drop acks": publisher confirms vanish for a while.
    DropAcks,
    /// "Add producer" with these settings.
    AddProducer(ProducerSettings),
    /// "Add consumer" with these settings.
    AddConsumer(ConsumerSettings),
    /// A client added by a lesson step (any kind).
    AddClient(Box<ClientSpec>),
    /// A consumer's Slow toggle.
    ToggleSlow(String),
    /// One field of a client's settings row.
    Set(String, Setting),
}

impl LiveAction {
    /// A few words for the action, as a list of what was done shows it.
    pub fn label(&self) -> String {
        match self {
            LiveAction::CrashBroker => "crash broker".into(),
            LiveAction::CrashBrokerTorn => "crash broker mid-write".into(),
            LiveAction::RestartBroker => "restart broker".into(),
            LiveAction::CrashClient(id) => format!("crash {id}"),
            LiveAction::RestartClient(id) => format!("restart {id}"),
            LiveAction::DropAcks => "drop acks".into(),
            LiveAction::AddProducer(_) => "add producer".into(),
            LiveAction::AddConsumer(_) => "add consumer".into(),
            LiveAction::AddClient(spec) => format!("add {}", spec.id()),
            LiveAction::ToggleSlow(id) => format!("slow {id}"),
            LiveAction::Set(id, set) => format!("{id} {} = {}", set.name(), set.value_text()),
        }
    }
}

/// A live action and the point of the run it was taken at.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Recorded {
    /// Where in the run.
    pub at: Mark,
    /// What was done.
    pub action: LiveAction,
}

/// Where a run started.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Origin {
    /// The playground's controls, as they were when the run started.
    Setup(Setup),
    /// A bundled example, by file stem (`prefetch`): the link stays short.
    Bundled(String),
    /// Any other scenario (a picked file, a lesson's setup): its name and
    /// its JSON text.
    File {
        /// Shown as the run's name.
        name: String,
        /// The scenario, validated again when the link is opened.
        json: String,
    },
}

impl Origin {
    /// A scenario file as an origin: a bundled example by name when its
    /// text is one of them, else the whole text.
    pub fn file(name: &str, json: &str) -> Origin {
        let stem = name.trim_end_matches(".json");
        match BUNDLED.iter().find(|(n, text)| *n == stem && *text == json) {
            Some((n, _)) => Origin::Bundled((*n).to_string()),
            None => Origin::File {
                name: name.to_string(),
                json: json.to_string(),
            },
        }
    }

    /// The bundled example's (file name, text), or the file's own.
    pub fn scenario_text(&self) -> Result<Option<(String, String)>, LinkError> {
        match self {
            Origin::Setup(_) => Ok(None),
            Origin::Bundled(stem) => BUNDLED
                .iter()
                .find(|(n, _)| n == stem)
                .map(|(n, text)| Some((format!("{n}.json"), (*text).to_string())))
                .ok_or_else(|| LinkError::UnknownExample(stem.clone())),
            Origin::File { name, json } => Ok(Some((name.clone(), json.clone()))),
        }
    }
}

/// Everything a link holds (see the module doc).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Shared {
    /// Where the run started.
    pub origin: Origin,
    /// What was done to it, in order.
    pub actions: Vec<Recorded>,
    /// How far it had got when the link was made.
    pub at: Mark,
}

/// Why a link could not be opened; each says what was wrong, in a sentence.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LinkError {
    /// Nothing after `#/play/`.
    Empty,
    /// Longer than [`LINK_CHARS_MAX`].
    TooLong(usize),
    /// No `<version>.` in front.
    NoVersion,
    /// Made by a newer brokerlab.
    FutureVersion(u32),
    /// Not base64url, or cut short, or not deflate data, or too big inflated.
    Damaged(String),
    /// The run it describes is not one this page can build.
    Content(String),
    /// A bundled example this build does not ship.
    UnknownExample(String),
}

impl fmt::Display for LinkError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LinkError::Empty => write!(f, "The share link is empty."),
            LinkError::TooLong(n) => write!(
                f,
                "The share link is too long ({n} characters; at most {LINK_CHARS_MAX})."
            ),
            LinkError::NoVersion => write!(
                f,
                "The share link does not start with its version (like `1.`), so it is not one this page made."
            ),
            LinkError::FutureVersion(v) => write!(
                f,
                "The share link was made by a newer brokerlab (link version {v}; this page reads version {SHARE_VERSION}). Reload to get the newest page."
            ),
            LinkError::Damaged(why) => write!(
                f,
                "The share link is damaged or cut short ({why}). Copy the whole link again."
            ),
            LinkError::Content(why) => write!(f, "The share link's run cannot be built: {why}."),
            LinkError::UnknownExample(name) => write!(
                f,
                "The share link names the example `{name}`, which this page does not have."
            ),
        }
    }
}

impl std::error::Error for LinkError {}

/// `shared` as a link fragment (see [`pack`]).
pub fn encode(shared: &Shared) -> String {
    pack(&serde_json::to_vec(shared).expect("a share always serializes"))
}

/// `json` as a link part: `1.` then the JSON deflated, in base64url. A
/// share link is one; a lesson link carries the learner's actions in one.
pub fn pack(json: &[u8]) -> String {
    let packed = miniz_oxide::deflate::compress_to_vec(json, 9);
    format!("{SHARE_VERSION}.{}", URL_SAFE_NO_PAD.encode(packed))
}

/// Reads a link fragment made by [`encode`] (see [`LinkError`]).
pub fn decode(link: &str) -> Result<Shared, LinkError> {
    let json = unpack(link)?;
    let shared: Shared = crate::json::from_str(&json)
        .map_err(|e| LinkError::Damaged(format!("the run inside is not readable: {}", e.error)))?;
    check(&shared)?;
    Ok(shared)
}

/// The JSON inside a link part made by [`pack`]: bounded, of this version
/// or older, and never a panic (see [`LinkError`]).
pub fn unpack(link: &str) -> Result<String, LinkError> {
    let link = link.trim();
    if link.is_empty() {
        return Err(LinkError::Empty);
    }
    if link.len() > LINK_CHARS_MAX {
        return Err(LinkError::TooLong(link.len()));
    }
    let (version, payload) = link.split_once('.').ok_or(LinkError::NoVersion)?;
    let version: u32 = version.parse().map_err(|_| LinkError::NoVersion)?;
    if version > SHARE_VERSION {
        return Err(LinkError::FutureVersion(version));
    }
    if version == 0 {
        return Err(LinkError::NoVersion);
    }
    let packed = URL_SAFE_NO_PAD
        .decode(payload)
        .map_err(|e| LinkError::Damaged(format!("not base64url: {e}")))?;
    let json = miniz_oxide::inflate::decompress_to_vec_with_limit(&packed, JSON_BYTES_MAX)
        .map_err(|e| LinkError::Damaged(format!("the compressed run does not inflate: {e}")))?;
    String::from_utf8(json)
        .map_err(|e| LinkError::Damaged(format!("the run inside is not readable: {e}")))
}

/// What a decoded link must hold before it is replayed: bounded, in order.
fn check(shared: &Shared) -> Result<(), LinkError> {
    if shared.actions.len() > ACTIONS_MAX {
        return Err(LinkError::Content(format!(
            "{} live actions (at most {ACTIONS_MAX})",
            shared.actions.len()
        )));
    }
    let marks = shared.actions.iter().map(|r| r.at);
    let in_order = marks.clone().zip(marks.skip(1)).all(|(a, b)| a <= b);
    let last = shared.actions.last().map_or(Mark::default(), |r| r.at);
    if !in_order || last > shared.at {
        return Err(LinkError::Content(
            "its actions are not in the order of the run".into(),
        ));
    }
    shared.origin.scenario_text()?;
    Ok(())
}
