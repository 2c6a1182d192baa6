//! The rules a lesson file must obey beyond its types (see
//! [`super::format`]): the setup is a valid scenario where it runs (the
//! world or a cluster), every control and counter fits that room, every
//! action of the solution is one of the lesson's controls and names a
//! client or broker that exists, and bounds hold.

use super::format::{bounds, Condition, Control, Counter, Lesson};
use super::LessonError;
use crate::config::{BrokerSpec, ClientSpec, Scenario};

fn err<T>(path: impl Into<String>, reason: impl Into<String>) -> Result<T, LessonError> {
    Err(LessonError {
        file: String::new(),
        path: path.into(),
        reason: reason.into(),
    })
}

/// Whether `setup` is a cluster's: a log broker with a `cluster` object.
/// Its lesson runs in the replication core's harness, not in the world.
pub fn is_cluster(setup: &Scenario) -> bool {
    matches!(&setup.broker, BrokerSpec::Log(l) if l.cluster.is_some())
}

/// Validates a setup where it runs: the world's rules, or a cluster's.
pub fn validate_setup(setup: &Scenario) -> Result<(), crate::config::ScenarioError> {
    match is_cluster(setup) {
        true => setup.validate_cluster(),
        false => setup.validate(),
    }
}

/// Why `name` (a control or a counter) does not fit a lesson's setup.
fn fits_not(cluster: bool, name: &str) -> String {
    match cluster {
        true => format!("`{name}` is not measured or offered on a cluster (setup.broker.cluster)"),
        false => format!("`{name}` needs a cluster (setup.broker.cluster)"),
    }
}

fn check_text(path: &str, text: &str) -> Result<(), LessonError> {
    if text.trim().is_empty() || text.chars().count() > bounds::TEXT_CHARS_MAX {
        return err(
            path,
            format!("must be 1..={} characters", bounds::TEXT_CHARS_MAX),
        );
    }
    Ok(())
}

fn check_count(path: &str, n: usize, min: usize, max: usize) -> Result<(), LessonError> {
    if n < min || n > max {
        return err(path, format!("needs {min}..={max} entries, has {n}"));
    }
    Ok(())
}

impl Lesson {
    /// Every rule the types cannot express. The returned error's `file` is
    /// empty: [`Lesson::from_json`] fills it in.
    pub fn validate(&self) -> Result<(), LessonError> {
        for (path, text) in [
            ("id", &self.id),
            ("title", &self.title),
            ("concept", &self.concept),
        ] {
            check_text(path, text)?;
        }
        check_count("intro", self.intro.len(), 1, bounds::INTRO_STEPS_MAX)?;
        for (i, step) in self.intro.iter().enumerate() {
            check_text(&format!("intro[{i}].text"), &step.text)?;
        }
        validate_setup(&self.setup).or_else(|e| {
            err(
                format!("setup.{}", e.path.trim_start_matches('.')),
                e.reason,
            )
        })?;
        self.validate_controls()?;
        self.validate_add()?;
        self.validate_prediction()?;
        self.validate_goals()?;
        check_count("hints", self.hints.len(), 1, bounds::HINTS_MAX)?;
        for (i, hint) in self.hints.iter().enumerate() {
            check_text(&format!("hints[{i}]"), hint)?;
        }
        self.validate_solution()?;
        self.validate_debrief()
    }

    fn validate_controls(&self) -> Result<(), LessonError> {
        if !self.controls.contains(&Control::Play) {
            return err(
                "controls",
                "must include `play`: the learner runs the experiment",
            );
        }
        let cluster = is_cluster(&self.setup);
        for (i, c) in self.controls.iter().enumerate() {
            if self.controls[..i].contains(c) {
                return err(format!("controls[{i}]"), format!("`{}` twice", c.name()));
            }
            let fits = match cluster {
                true => super::cluster::CONTROLS.contains(c),
                false => c.node_button().is_none(),
            };
            if !fits {
                return err(format!("controls[{i}]"), fits_not(cluster, c.name()));
            }
        }
        let adds = self.controls.contains(&Control::AddConsumer);
        if adds == self.add.is_empty() {
            return err(
                "add",
                "list the clients `add_consumer` adds exactly when the controls include it",
            );
        }
        Ok(())
    }

    /// Each added client must fit the setup as if it were one of its own
    /// (validated as the world validates a client added mid-run).
    fn validate_add(&self) -> Result<(), LessonError> {
        check_count("add", self.add.len(), 0, bounds::ADDABLE_CLIENTS_MAX)?;
        let mut all = self.setup.clone();
        for (j, spec) in self.add.iter().enumerate() {
            all.clients.push(spec.clone());
            if let Err(e) = all.validate() {
                let own = format!("clients[{}]", all.clients.len() - 1);
                let path = match e.path.strip_prefix(&own) {
                    Some(tail) => format!("add[{j}]{tail}"),
                    None => format!("add[{j}] (as setup.{})", e.path),
                };
                return err(path, e.reason);
            }
        }
        Ok(())
    }

    /// Ids of every client the lesson's run may have.
    fn client_ids(&self) -> Vec<&str> {
        let all = self.setup.clients.iter().chain(&self.add);
        all.map(ClientSpec::id).collect()
    }

    fn validate_condition(&self, path: &str, c: &Condition) -> Result<(), LessonError> {
        if c.at_least.is_none() && c.at_most.is_none() {
            return err(path, "give at_least, at_most or both");
        }
        let fits = match is_cluster(&self.setup) {
            true => super::cluster::COUNTERS.contains(&c.counter),
            false => !matches!(
                c.counter,
                Counter::LeaderCrashes | Counter::LeaderIsolations
            ),
        };
        if !fits {
            let why = fits_not(is_cluster(&self.setup), c.counter.name());
            return err(format!("{path}.counter"), why);
        }
        if let (Some(lo), Some(hi)) = (c.at_least, c.at_most) {
            if lo > hi {
                return err(format!("{path}.at_least"), "greater than at_most");
            }
        }
        match (&c.client, c.counter.needs_client()) {
            (None, true) => err(
                format!("{path}.client"),
                format!("`{}` counts one client: name it", c.counter.name()),
            ),
            (Some(_), false) => err(
                format!("{path}.client"),
                format!("`{}` is not about one client", c.counter.name()),
            ),
            (Some(id), true) if !self.client_ids().contains(&id.as_str()) => err(
                format!("{path}.client"),
                format!("unknown client `{id}` (not in setup.clients or add)"),
            ),
            _ => Ok(()),
        }
    }

    fn validate_prediction(&self) -> Result<(), LessonError> {
        let p = &self.prediction;
        check_text("prediction.question", &p.question)?;
        check_count(
            "prediction.choices",
            p.choices.len(),
            2,
            bounds::CHOICES_MAX,
        )?;
        for (i, choice) in p.choices.iter().enumerate() {
            let path = format!("prediction.choices[{i}]");
            check_text(&format!("{path}.text"), &choice.text)?;
            let n = choice.when.len();
            check_count(
                &format!("{path}.when"),
                n,
                1,
                bounds::CONDITIONS_PER_CHOICE_MAX,
            )?;
            for (j, c) in choice.when.iter().enumerate() {
                self.validate_condition(&format!("{path}.when[{j}]"), c)?;
            }
        }
        Ok(())
    }

    fn validate_goals(&self) -> Result<(), LessonError> {
        check_count("goals", self.goals.len(), 1, bounds::GOALS_MAX)?;
        for (i, goal) in self.goals.iter().enumerate() {
            let path = format!("goals[{i}]");
            check_text(&format!("{path}.text"), &goal.text)?;
            self.validate_condition(&format!("{path}.when"), &goal.when)?;
            if goal.when.at_least.is_some() == goal.when.at_most.is_some() {
                return err(
                    format!("{path}.when"),
                    "a goal gives exactly one of at_least (reach it) and at_most (keep it)",
                );
            }
        }
        Ok(())
    }

    fn validate_solution(&self) -> Result<(), LessonError> {
        let n = self.solution.len();
        check_count("solution", n, 0, bounds::SOLUTION_ACTIONS_MAX)?;
        let ids = self.client_ids();
        let mut last_ms = 0;
        for (i, step) in self.solution.iter().enumerate() {
            let path = format!("solution[{i}]");
            let control = step.action.control();
            if !self.controls.contains(&control) {
                return err(
                    format!("{path}.action"),
                    format!("`{}` is not among the lesson's controls", control.name()),
                );
            }
            if step.at_ms < last_ms || step.at_ms >= self.setup.duration_ms {
                return err(
                    format!("{path}.at_ms"),
                    "must not go back in time and must come before the end of the run",
                );
            }
            if control.before_run() && step.at_ms != 0 {
                return err(
                    format!("{path}.at_ms"),
                    "a choice made before the run is at 0",
                );
            }
            if let Some(id) = step.action.target() {
                if !ids.contains(&id) {
                    return err(format!("{path}.target"), format!("unknown client `{id}`"));
                }
            }
            if let Some(name) = step.action.broker() {
                super::cluster::broker_of(&self.setup, name).map_err(|why| LessonError {
                    file: String::new(),
                    path: format!("{path}.broker"),
                    reason: why,
                })?;
            }
            last_ms = step.at_ms;
        }
        Ok(())
    }

    fn validate_debrief(&self) -> Result<(), LessonError> {
        let d = &self.debrief;
        check_count("debrief.text", d.text.len(), 1, bounds::INTRO_STEPS_MAX)?;
        for (i, text) in d.text.iter().enumerate() {
            check_text(&format!("debrief.text[{i}]"), text)?;
        }
        let n = d.settings.len();
        check_count("debrief.settings", n, 1, bounds::DEBRIEF_SETTINGS_MAX)?;
        for (i, s) in d.settings.iter().enumerate() {
            let path = format!("debrief.settings[{i}]");
            check_text(&format!("{path}.name"), &s.name)?;
            check_text(&format!("{path}.broker"), &s.broker)?;
            check_text(&format!("{path}.meaning"), &s.meaning)?;
        }
        Ok(())
    }
}
