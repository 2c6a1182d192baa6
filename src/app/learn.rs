//! Where a learner is and what they have done: the page's routes
//! (`#/learn/<lesson>/<step>`, with an instant of the experiment
//! `#/learn/<lesson>/<step>/<t>ms` and maybe the learner's own actions up to
//! it `#/learn/<lesson>/<step>/<t>ms/<actions>`, and friends) and the
//! progress kept between visits. Plain data and text, so it is tested natively; the page reads the
//! URL and the browser's storage and hands the text here.
//!
//! Both come from outside the program (a link someone typed, a value an older
//! version stored), so both are parsed strictly and a bad one gives a
//! sentence saying what was wrong; the page shows it and falls back to a
//! place that exists. Nothing here panics on bad input.

use crate::app::lesson::TimedAction;
use crate::app::share;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The localStorage key the progress is kept under.
pub const PROGRESS_KEY: &str = "brokerlab.progress";
/// The stored format's version; another number is refused (and reset).
pub const PROGRESS_VERSION: u32 = 1;
/// Lessons remembered at most: more than ever ship, so a bloated stored
/// value cannot make the page do unbounded work.
pub const LESSONS_REMEMBERED_MAX: usize = 64;
/// Longest URL fragment parsed; anything longer is refused unread.
const HASH_LEN_MAX: usize = 200;
/// Longest `#/play/<link>` fragment parsed (see [`crate::app::share`]), and
/// longest lesson link (its actions are packed the same way).
const SHARE_HASH_LEN_MAX: usize = crate::app::share::LINK_CHARS_MAX + "#/play/".len();

/// A page of the site. Read by [`crate::json::tagged`] (see its doc for
/// why not serde's `tag`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "page", rename_all = "snake_case")]
pub enum Route {
    /// The lesson list with progress marks (`#/learn`).
    Index,
    /// Step `step` (0-based) of lesson `id` (`#/learn/<id>/<step>`), and
    /// maybe an instant of its experiment (`#/learn/<id>/<step>/<t>ms`).
    Lesson {
        /// The lesson's id, its file stem (`03_broker_crash`).
        id: String,
        /// The step, 0-based, as [`crate::app::lesson::LessonRun::step`].
        step: usize,
        /// The experiment's virtual time to open at, ms: a deep link to
        /// a moment of the run (the prediction is then skipped). Only on
        /// the experiment and debrief steps, which show the run. Never
        /// stored: a visit returns to the step, from its start.
        #[serde(skip)]
        at_ms: Option<u64>,
        /// The learner's own actions up to the instant (crashes, choices),
        /// packed like a share link's run ([`write_actions`]), so the link
        /// reopens the run they saw. Only with an instant; never stored.
        #[serde(skip)]
        actions: Option<String>,
    },
    /// An in-memory broker and a log crashed side by side (`#/crash-test`).
    CrashTest,
    /// One run under two settings in two panes (`#/compare`).
    Compare,
    /// The free playground (`#/play`).
    Playground,
    /// A Kafka-style replicated cluster (`#/cluster`, see
    /// [`crate::app::cluster`]).
    Cluster,
    /// The playground opening a shared run (`#/play/<link>`, see
    /// [`crate::app::share`]); the link is read when the page opens it.
    Shared {
        /// The link's fragment after `#/play/`.
        link: String,
    },
}

/// The `page` of a stored [`Route`].
#[derive(Deserialize)]
#[serde(variant_identifier, rename_all = "snake_case")]
enum Page {
    Index,
    Lesson,
    CrashTest,
    Compare,
    Playground,
    Cluster,
    Shared,
}

/// The fields of [`Route::Lesson`].
#[derive(Deserialize)]
struct LessonAt {
    id: String,
    step: usize,
}

/// The fields of [`Route::Shared`].
#[derive(Deserialize)]
struct SharedAt {
    link: String,
}

impl<'de> Deserialize<'de> for Route {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Route, D::Error> {
        crate::json::tagged(d, "internally tagged enum Route", "page", |page, fields| {
            Ok(match page {
                Page::Index => Route::Index,
                Page::Lesson => {
                    let LessonAt { id, step } = serde_json::from_value(fields)?;
                    Route::lesson(&id, step)
                }
                Page::CrashTest => Route::CrashTest,
                Page::Compare => Route::Compare,
                Page::Playground => Route::Playground,
                Page::Cluster => Route::Cluster,
                Page::Shared => {
                    let SharedAt { link } = serde_json::from_value(fields)?;
                    Route::Shared { link }
                }
            })
        })
    }
}

impl Route {
    /// The URL fragment for this page, `#` included.
    pub fn to_hash(&self) -> String {
        match self {
            Route::Index => "#/learn".into(),
            Route::Lesson {
                id,
                step,
                at_ms: None,
                ..
            } => format!("#/learn/{id}/{step}"),
            Route::Lesson {
                id,
                step,
                at_ms: Some(t),
                actions,
            } => match actions {
                Some(actions) => format!("#/learn/{id}/{step}/{t}ms/{actions}"),
                None => format!("#/learn/{id}/{step}/{t}ms"),
            },
            Route::CrashTest => "#/crash-test".into(),
            Route::Compare => "#/compare".into(),
            Route::Playground => "#/play".into(),
            Route::Cluster => "#/cluster".into(),
            Route::Shared { link } => format!("#/play/{link}"),
        }
    }

    /// Step `step` of lesson `id`, from its start.
    pub fn lesson(id: &str, step: usize) -> Route {
        Route::Lesson {
            id: id.to_string(),
            step,
            at_ms: None,
            actions: None,
        }
    }

    /// Reads a URL fragment (`#/learn/03_broker_crash/2`). An empty one
    /// (`""` or `"#"`) is `Ok(None)`: the landing page decides. Anything
    /// else that is not a page is an error saying what was not understood.
    pub fn parse(hash: &str) -> Result<Option<Route>, String> {
        // A share link carries a whole run; every other page is short.
        let max = if hash.starts_with("#/play/") || hash.starts_with("#/learn/") {
            SHARE_HASH_LEN_MAX
        } else {
            HASH_LEN_MAX
        };
        if hash.len() > max {
            return Err(format!("The link is too long ({} characters).", hash.len()));
        }
        let path = hash.trim_start_matches('#').trim_end_matches('/');
        let parts: Vec<&str> = path.split('/').filter(|p| !p.is_empty()).collect();
        let route = match parts.as_slice() {
            [] => return Ok(None),
            ["learn"] => Route::Index,
            ["learn", id] => Route::lesson(id, 0),
            ["learn", id, step, at @ ..] if at.len() <= 2 => Route::Lesson {
                id: (*id).to_string(),
                step: step
                    .parse()
                    .map_err(|_| format!("The step `{step}` in the link is not a number."))?,
                at_ms: at.first().map(|t| parse_instant(t)).transpose()?,
                actions: at.get(1).map(|a| a.to_string()),
            },
            ["crash-test"] => Route::CrashTest,
            ["compare"] => Route::Compare,
            ["play"] => Route::Playground,
            ["cluster"] => Route::Cluster,
            ["play", link] => Route::Shared {
                link: (*link).to_string(),
            },
            _ => return Err(format!("The link `{hash}` names no page.")),
        };
        Ok(Some(route))
    }

    /// Checks a lesson route against the lessons that exist (id, step
    /// count, the experiment's length in ms): an unknown lesson falls back
    /// to the index, a step past the end to step 1, an instant on a step
    /// without the run or past its end, or with actions that cannot be
    /// read, to the step from its start, each with a sentence saying so.
    pub fn resolve(self, lessons: &[(&str, usize, u64)]) -> (Route, Option<String>) {
        let Route::Lesson {
            id,
            step,
            at_ms,
            actions,
        } = self
        else {
            return (self, None);
        };
        let Some(&(_, steps, end_ms)) = lessons.iter().find(|l| l.0 == id) else {
            let why = format!("There is no lesson `{id}`: here is the list of lessons.");
            return (Route::Index, Some(why));
        };
        // Step numbers in sentences count from 1, as the page shows them.
        let why = match at_ms {
            _ if step >= steps => format!(
                "That lesson has {steps} steps, so step {} does not exist: showing step 1.",
                step + 1
            ),
            Some(_) if step + 2 < steps => format!(
                "Step {} has no experiment running, so the link's instant is left out.",
                step + 1
            ),
            Some(t) if t > end_ms => format!(
                "The experiment lasts {end_ms} ms, so {t} ms is past its end: showing it from the start."
            ),
            Some(t) => match actions.as_deref().map(|a| read_actions(a, t)) {
                Some(Err(e)) => format!("{e} Showing step {} from the start.", step + 1),
                _ => return (Route::Lesson { id, step, at_ms, actions }, None),
            },
            None => return (Route::lesson(&id, step), None),
        };
        let step = if step >= steps { 0 } else { step };
        (Route::lesson(&id, step), Some(why))
    }
}

/// The learner's actions as a lesson link's last part (see
/// [`share::pack`]: compressed, versioned).
pub fn write_actions(actions: &[TimedAction]) -> String {
    share::pack(&serde_json::to_vec(actions).expect("actions always serialize"))
}

/// Reads the learner's actions a lesson link carries (made by
/// [`write_actions`]): at most [`share::ACTIONS_MAX`], in the order of the
/// run and none after the link's instant `t_ms`. A damaged, truncated or
/// newer part says what was wrong, as a bad share link does.
pub fn read_actions(text: &str, t_ms: u64) -> Result<Vec<TimedAction>, String> {
    let json = share::unpack(text).map_err(|e| e.to_string())?;
    let actions: Vec<TimedAction> = crate::json::from_str(&json)
        .map_err(|e| format!("The link's actions are not readable: {}.", e.error))?;
    let times = actions.iter().map(|a| a.at_ms);
    let in_order = times.clone().zip(times.skip(1)).all(|(a, b)| a <= b);
    if actions.len() > share::ACTIONS_MAX {
        let n = actions.len();
        return Err(format!(
            "The link carries {n} actions (at most {}).",
            share::ACTIONS_MAX
        ));
    }
    if !in_order || actions.last().is_some_and(|a| a.at_ms > t_ms) {
        return Err(format!(
            "The link's actions are not in the order of the run up to {t_ms} ms."
        ));
    }
    Ok(actions)
}

/// Reads a link's instant, `1500ms`.
fn parse_instant(text: &str) -> Result<u64, String> {
    (text.strip_suffix("ms").and_then(|t| t.parse().ok()))
        .ok_or_else(|| format!("The instant `{text}` in the link is not a time such as `1500ms`."))
}

/// What the page remembers of one lesson.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LessonMark {
    /// The step last shown: where "continue" takes the learner.
    pub step: usize,
    /// Every goal was met in one run at least once.
    pub done: bool,
}

/// How far a lesson has got, for the index's marks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mark {
    /// Never opened.
    NotStarted,
    /// Opened; the step last shown.
    InProgress(usize),
    /// Every goal met once.
    Done,
}

/// Everything remembered between visits (stored as JSON under
/// [`PROGRESS_KEY`]).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Progress {
    /// [`PROGRESS_VERSION`]: a format change must not be misread.
    pub version: u32,
    /// Per lesson id.
    pub lessons: BTreeMap<String, LessonMark>,
    /// The page last shown: a returning visitor lands there.
    pub last: Option<Route>,
}

impl Default for Progress {
    fn default() -> Progress {
        Progress {
            version: PROGRESS_VERSION,
            lessons: BTreeMap::new(),
            last: None,
        }
    }
}

impl Progress {
    /// Reads stored progress. A value this version cannot read (broken
    /// JSON, an unknown field, another version, too many lessons) is an
    /// error naming the field, for the page to show before it starts over.
    pub fn from_text(text: &str) -> Result<Progress, String> {
        let progress: Progress = crate::json::from_str(text).map_err(|e| e.to_string())?;
        if progress.version != PROGRESS_VERSION {
            return Err(format!(
                "version: {} is not {PROGRESS_VERSION}",
                progress.version
            ));
        }
        if progress.lessons.len() > LESSONS_REMEMBERED_MAX {
            return Err(format!(
                "lessons: {} entries, more than {LESSONS_REMEMBERED_MAX}",
                progress.lessons.len()
            ));
        }
        Ok(progress)
    }

    /// The text to store.
    pub fn to_text(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    /// Records that `route` is shown: it becomes the landing page of the
    /// next visit, and a lesson step becomes that lesson's place.
    pub fn visit(&mut self, route: &Route) {
        if let Route::Lesson { id, step, .. } = route {
            if self.lessons.len() < LESSONS_REMEMBERED_MAX || self.lessons.contains_key(id) {
                self.lessons.entry(id.clone()).or_default().step = *step;
            }
        }
        // A shared run is not a place to come back to: the next visit
        // lands in the playground, and the link is not kept in storage.
        // Nor is an instant or the learner's actions: the next visit opens
        // the step from its start.
        self.last = Some(match route {
            Route::Shared { .. } => Route::Playground,
            Route::Lesson { id, step, .. } => Route::lesson(id, *step),
            other => other.clone(),
        });
    }

    /// Records that every goal of lesson `id` was met.
    pub fn complete(&mut self, id: &str) {
        if let Some(mark) = self.lessons.get_mut(id) {
            mark.done = true;
        }
    }

    /// The index's mark for lesson `id`.
    pub fn mark(&self, id: &str) -> Mark {
        match self.lessons.get(id) {
            None => Mark::NotStarted,
            Some(m) if m.done => Mark::Done,
            Some(m) => Mark::InProgress(m.step),
        }
    }

    /// Where a visit without a link starts: the page last shown, or, for
    /// a first visit, the first step of `first_lesson`.
    pub fn landing(&self, first_lesson: &str) -> Route {
        self.last
            .clone()
            .unwrap_or_else(|| Route::lesson(first_lesson, 0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// (id, steps, experiment ms): the experiment is step `steps - 2`.
    const LESSONS: [(&str, usize, u64); 2] =
        [("01_backlog", 6, 2_000), ("03_broker_crash", 7, 3_000)];

    fn at(id: &str, step: usize, at_ms: Option<u64>) -> Route {
        Route::Lesson {
            id: id.into(),
            step,
            at_ms,
            actions: None,
        }
    }

    /// Every page a visit can leave as `last` comes back from storage: a
    /// page the stored form cannot name would throw the whole progress away
    /// on the next visit (Compare and the cluster page once did).
    #[test]
    fn every_stored_last_page_reads_back() {
        let pages = [
            Route::Index,
            Route::lesson("03_broker_crash", 4),
            Route::CrashTest,
            Route::Compare,
            Route::Playground,
            Route::Cluster,
            Route::Shared {
                link: "v1.x".into(),
            },
        ];
        for page in pages {
            let mut progress = Progress::default();
            progress.visit(&page);
            progress.complete("01_backlog");
            let text = progress.to_text();
            let back = Progress::from_text(&text);
            assert_eq!(back.as_ref().map(|p| &p.last), Ok(&progress.last), "{text}");
            assert_eq!(
                back.map(|p| p.mark("01_backlog")),
                Ok(progress.mark("01_backlog"))
            );
        }
    }

    #[test]
    fn routes_round_trip_through_their_hash() {
        let routes = [
            Route::Index,
            Route::lesson("03_broker_crash", 4),
            at("03_broker_crash", 5, Some(1_500)),
            at("03_broker_crash", 6, Some(0)),
            Route::CrashTest,
            Route::Compare,
            Route::Playground,
            Route::Cluster,
            Route::Shared {
                link: "1.eJwrSS0u0S0u".into(),
            },
        ];
        for r in routes {
            assert_eq!(Route::parse(&r.to_hash()), Ok(Some(r.clone())));
        }
        assert_eq!(Route::parse(""), Ok(None));
        assert_eq!(Route::parse("#"), Ok(None));
        assert_eq!(Route::parse("#/"), Ok(None));
        assert_eq!(
            at("03_broker_crash", 5, Some(1_500)).to_hash(),
            "#/learn/03_broker_crash/5/1500ms"
        );
        assert_eq!(
            Route::parse("#/learn/03_broker_crash/5/1500ms/"),
            Ok(Some(at("03_broker_crash", 5, Some(1_500))))
        );
    }

    #[test]
    fn bad_links_say_what_is_wrong() {
        let e = Route::parse("#/learn/01_backlog/two").unwrap_err();
        assert!(e.contains("`two`"), "{e}");
        let e = Route::parse("#/nowhere").unwrap_err();
        assert!(e.contains("names no page"), "{e}");
        assert!(Route::parse(&"#/learn/".repeat(100)).is_err());
        for bad in [
            "1500",
            "ms",
            "-3ms",
            "1.5ms",
            "99999999999999999999ms",
            "1500 ms",
        ] {
            let e = Route::parse(&format!("#/learn/01_backlog/4/{bad}")).unwrap_err();
            assert!(
                e.contains(&format!("`{bad}`")) && e.contains("1500ms"),
                "{e}"
            );
        }
        let e = Route::parse("#/learn/01_backlog/4/1500ms/1.eJw/more").unwrap_err();
        assert!(e.contains("names no page"), "{e}");
    }

    #[test]
    fn resolve_falls_back_to_pages_that_exist() {
        let (r, why) = at("99_nope", 0, Some(10)).resolve(&LESSONS);
        assert_eq!(r, Route::Index);
        assert!(why.unwrap().contains("`99_nope`"));
        // A step past the end: step 1, and the sentence counts from 1.
        let (r, why) = at("01_backlog", 40, Some(10)).resolve(&LESSONS);
        assert_eq!(r, Route::lesson("01_backlog", 0));
        let why = why.unwrap();
        assert!(why.contains("6 steps") && why.contains("step 41"), "{why}");
        // An instant where no run shows (an idea, the prediction).
        for step in [0, 3] {
            let (r, why) = at("01_backlog", step, Some(10)).resolve(&LESSONS);
            assert_eq!(r, Route::lesson("01_backlog", step));
            assert!(why.unwrap().contains("no experiment"));
        }
        // An instant past the experiment's end.
        let (r, why) = at("01_backlog", 4, Some(2_001)).resolve(&LESSONS);
        assert_eq!(r, Route::lesson("01_backlog", 4));
        assert!(why.unwrap().contains("2000 ms"));
        // Instants on the experiment and the debrief, up to the end, stand.
        for (step, t) in [(4, 0), (4, 2_000), (5, 700)] {
            let r = at("01_backlog", step, Some(t));
            assert_eq!(r.clone().resolve(&LESSONS), (r, None));
        }
        assert_eq!(Route::CrashTest.resolve(&LESSONS), (Route::CrashTest, None));
    }

    #[test]
    fn progress_round_trips_and_marks_lessons() {
        let mut p = Progress::default();
        assert_eq!(p.mark("01_backlog"), Mark::NotStarted);
        assert_eq!(p.landing("01_backlog"), Route::lesson("01_backlog", 0));
        p.visit(&at("01_backlog", 4, Some(900)));
        assert_eq!(p.landing("01_backlog"), Route::lesson("01_backlog", 4));
        p.visit(&Route::lesson("01_backlog", 3));
        assert_eq!(p.mark("01_backlog"), Mark::InProgress(3));
        p.complete("01_backlog");
        assert_eq!(p.mark("01_backlog"), Mark::Done);
        p.visit(&Route::Playground);
        let back = Progress::from_text(&p.to_text()).unwrap();
        assert_eq!(back, p);
        assert_eq!(back.landing("01_backlog"), Route::Playground);
    }

    #[test]
    fn bad_stored_progress_names_the_field() {
        for (text, field) in [
            ("{", ""),
            (r#"{"version":2,"lessons":{},"last":null}"#, "version"),
            (
                r#"{"version":1,"lessons":{"01_backlog":{"step":"x","done":false}},"last":null}"#,
                "lessons.01_backlog.step",
            ),
            (
                r#"{"version":1,"lessons":{},"last":{"page":"moon"}}"#,
                "last",
            ),
        ] {
            let e = Progress::from_text(text).unwrap_err();
            assert!(e.contains(field), "{text}: {e}");
        }
    }
}
