//! Every bundled lesson, both ways: its solution reaches every goal from its
//! seed, and its untouched setup misses at least one. Plus the prediction's
//! computed answer, the engine's rules, and bad lesson files refused with an
//! error naming the file and the field.
//!
//! `LESSON=03_broker_crash cargo test --test lessons` runs one lesson only.

use brokerlab::app::learn::{read_actions, write_actions, Route};
use brokerlab::app::lesson::{
    bundled, Action, GoalStatus, GoalView, Lesson, LessonRun, Outcome, Pick, Stage, TICK_MS,
};

/// The bundled lessons, or the one `LESSON` names.
fn lessons() -> Vec<Lesson> {
    let all = bundled::lessons().unwrap_or_else(|e| panic!("a bundled lesson is bad: {e}"));
    match std::env::var("LESSON") {
        Ok(id) => all.into_iter().filter(|l| l.id == id).collect(),
        Err(_) => all,
    }
}

/// Says which lesson and seed failed, and how to run it alone.
fn reproduce(lesson: &Lesson) -> String {
    format!(
        "lesson {} (seed {}); reproduce with: LESSON={} cargo test --test lessons -- --nocapture",
        lesson.id, lesson.setup.seed, lesson.id
    )
}

/// The checklist as text, for failure messages.
fn checklist(run: &LessonRun) -> String {
    let goals = run.goals().into_iter();
    let lines = goals.map(|g| format!("  {:?} {} (value {})", g.status, g.text, g.value));
    lines.collect::<Vec<_>>().join("\n")
}

fn solved(lesson: &Lesson) -> LessonRun {
    let mut run = LessonRun::new(lesson.clone());
    if let Err(e) = run.play_solution() {
        panic!("{}: the solution was refused: {e}", reproduce(lesson));
    }
    run
}

fn untouched(lesson: &Lesson) -> LessonRun {
    let mut run = LessonRun::new(lesson.clone());
    run.skip_prediction().expect("before the run");
    run.run_to_end();
    run
}

fn outcome(run: &LessonRun) -> Outcome {
    run.outcome()
        .expect("the run is over and the prediction was skipped")
}

#[test]
fn there_are_at_least_fourteen_lessons() {
    let all = bundled::lessons().unwrap_or_else(|e| panic!("{e}"));
    assert!(all.len() >= 14, "{} lessons", all.len());
}

#[test]
fn every_solution_reaches_every_goal() {
    for lesson in lessons() {
        let run = solved(&lesson);
        assert!(run.finished(), "{}", reproduce(&lesson));
        assert!(
            run.all_goals_met(),
            "{}: the solution misses a goal:\n{}",
            reproduce(&lesson),
            checklist(&run)
        );
    }
}

#[test]
fn every_untouched_setup_misses_a_goal() {
    for lesson in lessons() {
        let run = untouched(&lesson);
        assert!(
            !run.all_goals_met(),
            "{}: with no learner action every goal is met, so the lesson checks nothing:\n{}",
            reproduce(&lesson),
            checklist(&run)
        );
    }
}

/// The answer comes from the run: exactly one choice is true, both for the
/// solution and for the untouched setup, and the same seed gives the same
/// answer again.
#[test]
fn the_prediction_has_one_computed_stable_answer() {
    for lesson in lessons() {
        for (how, run) in [
            ("solution", solved(&lesson)),
            ("untouched", untouched(&lesson)),
        ] {
            let first = outcome(&run);
            assert_eq!(
                first.true_choices.len(),
                1,
                "{}: {how} run: choices {:?} are true; they must exclude each other",
                reproduce(&lesson),
                first.true_choices
            );
            let again = match how {
                "solution" => solved(&lesson),
                _ => untouched(&lesson),
            };
            assert_eq!(outcome(&again), first, "{}: {how} run", reproduce(&lesson));
        }
    }
}

/// How the page slices its frames never changes a goal: the solution played
/// in odd-sized slices gives the checklist it gives in one go.
#[test]
fn frame_slicing_does_not_change_the_checklist() {
    for lesson in lessons() {
        let whole = solved(&lesson);
        let mut sliced = LessonRun::new(lesson.clone());
        sliced.skip_prediction().expect("before the run");
        for step in &lesson.solution {
            while sliced.now_ms() < step.at_ms {
                let left = step.at_ms - sliced.now_ms();
                sliced.advance(left.min(7), &mut || false);
            }
            sliced
                .act(step.action.clone())
                .expect("the solution's action");
        }
        while !sliced.finished() {
            sliced.advance(13, &mut || true);
        }
        assert_eq!(sliced.goals(), whole.goals(), "{}", reproduce(&lesson));
        assert_eq!(sliced.outcome(), whole.outcome(), "{}", reproduce(&lesson));
    }
}

// ----- the engine's rules, on lesson 03 -----

fn broker_crash() -> Lesson {
    let all = bundled::lessons().unwrap_or_else(|e| panic!("{e}"));
    let found = all.into_iter().find(|l| l.id == "03_broker_crash");
    found.expect("lesson 03_broker_crash is bundled")
}

#[test]
fn run_waits_for_a_prediction_which_then_locks() {
    let mut run = LessonRun::new(broker_crash());
    assert!(!run.can_run());
    assert_eq!(
        run.advance(500, &mut || false),
        0,
        "no run before a prediction"
    );
    assert!(run.why_not(&Action::CrashBroker).is_some());
    run.predict(1).expect("a choice");
    assert_eq!(run.advance(500, &mut || false), 500);
    let locked = run.predict(0).expect_err("the run started");
    assert!(locked.contains("locked"), "{locked}");
    assert_eq!(run.picked(), Some(Pick::Choice(1)));
}

#[test]
fn controls_outside_the_lesson_and_impossible_moves_are_refused() {
    let mut run = LessonRun::new(broker_crash());
    run.skip_prediction().expect("before the run");
    let why = run
        .act(Action::DropConfirms)
        .expect_err("not a control of lesson 03");
    assert!(why.contains("drop_confirms"), "{why}");
    let why = run
        .act(Action::RestartBroker)
        .expect_err("the broker is up");
    assert!(why.contains("running"), "{why}");
    run.run_to(400);
    run.act(Action::CrashBroker).expect("crash");
    let why = run.act(Action::CrashBroker).expect_err("already down");
    assert!(why.contains("down"), "{why}");
    assert_eq!(run.taken().len(), 1);
    assert_eq!(run.taken()[0].at_ms, 400);
}

/// A crash before the backlog built up loses little: the lesson's goal of
/// 20 lost messages is what makes the learner crash at the right moment.
#[test]
fn an_early_broker_crash_does_not_meet_the_goals() {
    let mut run = LessonRun::new(broker_crash());
    run.skip_prediction().expect("before the run");
    run.run_to(20);
    run.act(Action::CrashBroker).expect("crash");
    run.run_to(100);
    run.act(Action::RestartBroker).expect("restart");
    run.run_to_end();
    assert!(!run.all_goals_met(), "{}", checklist(&run));
}

#[test]
fn goals_tick_while_the_run_plays() {
    let lesson = broker_crash();
    let mut run = LessonRun::new(lesson);
    run.skip_prediction().expect("before the run");
    let before = run.goals();
    // A goal to reach waits; one that must not break holds until it breaks.
    let waiting = |g: &GoalView| matches!(g.status, GoalStatus::Pending | GoalStatus::Holding);
    assert!(before.iter().all(waiting), "{before:?}");
    assert!(before.iter().any(|g| g.status == GoalStatus::Pending));
    run.run_to(400);
    run.act(Action::CrashBroker).expect("crash");
    let crashed = run.goals();
    assert_eq!(crashed[0].status, GoalStatus::Met, "ticked at once");
    assert_eq!(crashed[0].at_ms, Some(400));
    assert!(!run.finished());
    assert!(run.outcome().is_none(), "no outcome before the end");
}

#[test]
fn steps_hints_and_reset() {
    let lesson = broker_crash();
    let intro = lesson.intro.len();
    let mut run = LessonRun::new(lesson.clone());
    assert_eq!(run.stage(), Stage::Intro(0));
    assert_eq!(run.back_step(), 0, "Back on the first step stays");
    assert_eq!(run.go_to(intro), intro);
    assert_eq!(run.stage(), Stage::Predict);
    assert_eq!(run.next_step(), intro + 1);
    assert_eq!(run.stage(), Stage::Run);
    assert_eq!(run.go_to(99), run.step_count() - 1, "clamped");
    assert_eq!(run.stage(), Stage::Debrief);
    assert!(run.hints_shown().is_empty());
    assert_eq!(run.show_hint(), Some(lesson.hints[0].as_str()));
    assert_eq!(run.hints_shown().len(), 1);
    while run.show_hint().is_some() {}
    assert_eq!(run.hints_shown().len(), lesson.hints.len());
    run.skip_prediction().expect("before the run");
    run.run_to(300);
    run.reset();
    assert_eq!(run.now_ms(), 0);
    assert!(run.picked().is_none() && run.hints_shown().is_empty());
    assert_eq!(run.stage(), Stage::Debrief, "reset keeps the step shown");
}

/// A deep link's instant (`#/learn/<id>/<step>/<t>ms`): the run opens
/// there with the prediction skipped, the same run a learner who skipped
/// and stopped there sees; an earlier instant starts it over.
#[test]
fn a_deep_links_instant_opens_the_run_there() {
    let mut fresh = LessonRun::new(broker_crash());
    fresh.skip_prediction().expect("before the run");
    fresh.run_to(1_500);
    let mut linked = LessonRun::new(broker_crash());
    linked.open_at(1_500);
    assert_eq!(linked.now_ms(), 1_500);
    assert_eq!(linked.picked(), Some(Pick::Skipped));
    let fingerprint = |r: &LessonRun| {
        r.session()
            .expect("lesson 03 runs in the world")
            .fingerprint()
    };
    assert_eq!(fingerprint(&linked), fingerprint(&fresh));
    assert_eq!(linked.goals(), fresh.goals());
    // Back to an earlier instant: the run starts over and runs there.
    linked.run_to(2_000);
    linked.open_at(700);
    let mut again = LessonRun::new(broker_crash());
    again.skip_prediction().expect("before the run");
    again.run_to(700);
    assert_eq!(linked.now_ms(), 700);
    assert_eq!(fingerprint(&linked), fingerprint(&again));
    // A chosen answer is kept; an instant past the end stops at the end.
    let mut picked = LessonRun::new(broker_crash());
    picked.predict(1).expect("a choice");
    picked.open_at(u64::MAX);
    assert_eq!(picked.picked(), Some(Pick::Choice(1)));
    assert!(picked.finished());
}

/// A deep link that carries the learner's own actions
/// (`#/learn/<id>/<step>/<t>ms/<actions>`): reopened, the run has the same
/// history, goals and actions as the one the link was made from; a bad
/// actions part says what was wrong.
#[test]
fn a_deep_link_carries_the_learners_actions() {
    let mut run = LessonRun::new(broker_crash());
    run.skip_prediction().expect("before the run");
    run.run_to(1_200);
    run.act(Action::CrashBroker).expect("crash");
    run.run_to(1_450);
    run.act(Action::RestartBroker).expect("restart");
    run.run_to(1_600);
    let hash = Route::Lesson {
        id: "03_broker_crash".into(),
        step: 5,
        at_ms: Some(run.now_ms()),
        actions: Some(write_actions(run.taken())),
    }
    .to_hash();
    let lessons = [("03_broker_crash", run.step_count(), run.end_ms())];
    let route = Route::parse(&hash).expect("a link").expect("a page");
    let (route, why) = route.resolve(&lessons);
    assert_eq!(why, None);
    let Route::Lesson {
        at_ms: Some(t),
        actions: Some(text),
        ..
    } = route
    else {
        panic!("the link lost its instant or actions: {route:?}");
    };
    let mut reopened = LessonRun::new(broker_crash());
    let actions = read_actions(&text, t).expect("readable actions");
    reopened.open_with(t, &actions).expect("the actions replay");
    assert_eq!(reopened.now_ms(), 1_600);
    assert_eq!(reopened.taken(), run.taken());
    let fingerprint = |r: &LessonRun| r.session().expect("in the world").fingerprint();
    assert_eq!(fingerprint(&reopened), fingerprint(&run));
    assert_eq!(reopened.goals(), run.goals());
    // Without the actions the link would reopen a different run.
    let mut bare = LessonRun::new(broker_crash());
    bare.open_at(t);
    assert_ne!(fingerprint(&bare), fingerprint(&run));

    // Bad parts say what was wrong; none panics.
    let cut = &text[..text.len() / 2];
    for (bad, said) in [
        (cut, "damaged or cut short"),
        ("9.eJw", "newer brokerlab"),
        ("1.!!", "damaged"),
        ("oops", "version"),
    ] {
        let e = read_actions(bad, t).expect_err(bad);
        assert!(e.contains(said), "{bad}: {e}");
        let bad_link = Route::parse(&format!("#/learn/03_broker_crash/5/{t}ms/{bad}"));
        let (route, why) = bad_link.unwrap().unwrap().resolve(&lessons);
        assert_eq!(route, Route::lesson("03_broker_crash", 5), "{bad}");
        assert!(why.unwrap().contains("from the start"), "{bad}");
    }
    let e = read_actions(&text, 1_000).expect_err("actions after the instant");
    assert!(e.contains("order of the run"), "{e}");
    // An action the run refuses: the run stays at its start, and says which.
    let restart_first = [actions[1].clone()];
    let mut refused = LessonRun::new(broker_crash());
    let e = refused
        .open_with(t, &restart_first)
        .expect_err("the broker is up");
    assert!(e.contains("action 1") && e.contains("running"), "{e}");
    assert_eq!(refused.now_ms(), 0);
}

#[test]
fn goals_are_evaluated_on_the_tick_grid() {
    let mut run = LessonRun::new(broker_crash());
    run.skip_prediction().expect("before the run");
    assert_eq!(run.advance(3, &mut || false), 3);
    assert_eq!(
        run.advance(TICK_MS, &mut || true),
        TICK_MS - 3,
        "stops at a tick"
    );
}

// ----- lessons that must agree with each other -----

fn lesson(id: &str) -> Lesson {
    let all = bundled::lessons().unwrap_or_else(|e| panic!("{e}"));
    all.into_iter()
        .find(|l| l.id == id)
        .unwrap_or_else(|| panic!("lesson {id} is bundled"))
}

/// Lesson 11 is lesson 10 with a different guarantee: the same setup, seed
/// and fault at the same moment.
#[test]
fn idempotence_repeats_the_at_least_once_run() {
    let (ten, eleven) = (lesson("10_at_least_once"), lesson("11_idempotence"));
    assert_eq!(ten.setup, eleven.setup, "same setup and seed");
    let faults = |l: &Lesson| {
        let live = l
            .solution
            .iter()
            .filter(|t| !t.action.control().before_run());
        live.cloned().collect::<Vec<_>>()
    };
    assert_eq!(
        faults(&ten),
        faults(&eleven),
        "the same fault at the same time"
    );
}

/// The control runs: each lesson whose solution makes a choice before the
/// run, played without that choice, shows the failure the choice prevents
/// (its prediction's answer is that choice) and misses a goal.
#[test]
fn without_its_setting_each_solution_shows_the_failure() {
    let cases = [
        ("08_log_durability", 1, "acks=1 loses the unflushed tail"),
        (
            "13_replicated_acks",
            1,
            "acks=1 loses what the crashed leader alone had",
        ),
        ("09_offset_commits", 0, "commit before processing loses"),
        ("11_idempotence", 0, "at least once duplicates"),
        (
            "12_transactions",
            0,
            "read_uncommitted reads an aborted transaction",
        ),
    ];
    for (id, failure, what) in cases {
        let mut lesson = lesson(id);
        let before = lesson.solution.len();
        lesson.solution.retain(|t| !t.action.control().before_run());
        assert!(
            lesson.solution.len() < before,
            "{id} makes a choice before the run"
        );
        let run = solved(&lesson);
        assert!(!run.all_goals_met(), "{}: {what}", reproduce(&lesson));
        let answer = outcome(&run);
        assert_eq!(
            answer.true_choices,
            vec![failure],
            "{}: {what}:\n{}",
            reproduce(&lesson),
            checklist(&run)
        );
    }
}

// ----- bad lesson files are refused, naming the file and the field -----

/// Lesson 03's file, changed by `edit`, parsed as `lessons/03_broker_crash.json`.
fn refused(edit: impl FnOnce(&mut serde_json::Value)) -> String {
    refused_in("03_broker_crash", edit)
}

/// Lesson `id`'s file, changed by `edit`, parsed under its own name.
fn refused_in(id: &str, edit: impl FnOnce(&mut serde_json::Value)) -> String {
    let (file, text) = bundled::LESSONS
        .iter()
        .find(|(file, _)| file.ends_with(&format!("{id}.json")))
        .expect("the lesson is bundled");
    let mut doc: serde_json::Value = serde_json::from_str(text).expect("valid JSON");
    edit(&mut doc);
    let err = Lesson::from_json(file, &doc.to_string()).expect_err("must be refused");
    err.to_string()
}

#[test]
fn an_unknown_control_is_refused() {
    let msg = refused(|d| d["controls"][1] = "crash_the_datacenter".into());
    assert!(
        msg.starts_with(
            "lessons/03_broker_crash.json: controls[1]: unknown variant `crash_the_datacenter`"
        ),
        "{msg}"
    );
}

#[test]
fn a_goal_naming_an_unknown_counter_is_refused() {
    let msg = refused(|d| d["goals"][2]["when"]["counter"] = "lots".into());
    assert!(
        msg.starts_with(
            "lessons/03_broker_crash.json: goals[2].when.counter: unknown variant `lots`"
        ),
        "{msg}"
    );
}

#[test]
fn a_malformed_field_is_refused() {
    // Inside a client (an internally tagged enum) serde names the client,
    // not the field, as the scenario parser does; the reason names the type.
    let msg = refused(|d| d["setup"]["clients"][1]["prefetch"] = "ten".into());
    assert!(
        msg.starts_with("lessons/03_broker_crash.json: setup.clients[1]: invalid type: string \"ten\", expected u32"),
        "{msg}"
    );
    let msg = refused(|d| d["setup"]["duration_ms"] = (-5).into());
    assert!(
        msg.starts_with("lessons/03_broker_crash.json: setup.duration_ms: invalid value"),
        "{msg}"
    );
    let msg = refused(|d| d["hints"] = serde_json::json!({ "first": "x" }));
    assert!(
        msg.starts_with("lessons/03_broker_crash.json: hints: invalid type"),
        "{msg}"
    );
}

#[test]
fn a_setup_the_scenario_validator_refuses_is_refused() {
    let msg = refused(|d| d["setup"]["clients"][1]["prefetch"] = 0.into());
    assert!(
        msg.starts_with("lessons/03_broker_crash.json: setup.clients[1].prefetch: must be in 1..="),
        "{msg}"
    );
}

#[test]
fn a_solution_outside_the_controls_or_the_run_is_refused() {
    let msg = refused(|d| d["solution"][0]["action"] = "drop_confirms".into());
    assert!(
        msg.starts_with(
            "lessons/03_broker_crash.json: solution[0].action: `drop_confirms` is not among"
        ),
        "{msg}"
    );
    let msg = refused(|d| d["solution"][1]["at_ms"] = 9_999_999.into());
    assert!(msg.contains("solution[1].at_ms"), "{msg}");
    let msg = refused(|d| d["solution"][0]["target"] = "c1".into());
    assert!(
        msg.contains("solution[0]: unknown field `target`: `crash_broker` does not take it"),
        "{msg}"
    );
    let msg = refused(|d| d["solution"][0]["action"] = "crash_everything".into());
    assert!(
        msg.contains("solution[0]: unknown variant `crash_everything`"),
        "{msg}"
    );
}

#[test]
fn goals_and_choices_must_bound_known_clients_and_values() {
    let msg = refused(|d| d["goals"][0]["when"]["at_most"] = 3.into());
    assert!(
        msg.contains("goals[0].when: a goal gives exactly one"),
        "{msg}"
    );
    let msg = refused(|d| {
        d["prediction"]["choices"][0]["when"][0] =
            serde_json::json!({ "counter": "processed_by", "client": "nobody", "at_least": 1 })
    });
    assert!(
        msg.contains("prediction.choices[0].when[0].client: unknown client `nobody`"),
        "{msg}"
    );
    let msg = refused(|d| d["id"] = "03_other".into());
    assert!(
        msg.contains(": id: `03_other` must match the file name"),
        "{msg}"
    );
}

// ----- cluster lessons -----

/// A cluster lesson offers the broker buttons and measures the replication
/// checker; a world lesson neither. Each side refuses the other's, and a
/// broker the cluster does not have, naming the field.
#[test]
fn cluster_and_world_lessons_refuse_each_others_controls_and_counters() {
    let msg = refused(|d| d["controls"][1] = "crash_node".into());
    assert!(
        msg.contains("controls[1]: `crash_node` needs a cluster (setup.broker.cluster)"),
        "{msg}"
    );
    let msg = refused(|d| d["goals"][0]["when"]["counter"] = "leader_crashes".into());
    assert!(
        msg.contains("goals[0].when.counter: `leader_crashes` needs a cluster"),
        "{msg}"
    );
    let msg = refused_in("14_split_brain", |d| {
        d["controls"][1] = "crash_broker".into()
    });
    assert!(
        msg.starts_with("lessons/14_split_brain.json: controls[1]: `crash_broker` is not measured or offered on a cluster"),
        "{msg}"
    );
    let msg = refused_in("14_split_brain", |d| {
        d["goals"][1]["when"]["counter"] = "backlog_peak".into()
    });
    assert!(
        msg.contains("goals[1].when.counter: `backlog_peak`"),
        "{msg}"
    );
    let msg = refused_in("14_split_brain", |d| {
        d["solution"][0]["broker"] = "b7".into()
    });
    assert!(
        msg.contains("solution[0].broker: unknown broker `b7`: this cluster has b1..b3"),
        "{msg}"
    );
    let msg = refused_in("14_split_brain", |d| {
        d["setup"]["broker"]["cluster"]["min.insync.replicas"] = 4.into()
    });
    assert!(
        msg.contains("setup.broker.cluster.min.insync.replicas: min.insync.replicas 4 above replication.factor 3"),
        "{msg}"
    );
}

/// The broker buttons follow the cluster's state, and only the crash of a
/// broker that leads counts as the leader's crash.
#[test]
fn broker_buttons_follow_the_cluster_and_count_the_leaders_crash() {
    let mut run = LessonRun::new(lesson("13_replicated_acks"));
    assert!(run.session().is_none() && run.cluster().is_some());
    run.skip_prediction().expect("before the run");
    let b = |n: &str| n.to_string();
    let why = run.why_not(&Action::RestartNode { broker: b("b1") });
    assert!(why.is_some_and(|w| w.contains("b1 is running")));
    run.run_to(500);
    run.act(Action::CrashNode { broker: b("b2") })
        .expect("a follower crashes");
    assert_eq!(
        run.goals()[0].status,
        GoalStatus::Pending,
        "b2 leads nothing"
    );
    run.act(Action::CrashNode { broker: b("b1") })
        .expect("the leader crashes");
    assert_eq!(
        (run.goals()[0].status, run.goals()[0].at_ms),
        (GoalStatus::Met, Some(500))
    );
    let why = run
        .act(Action::CrashNode { broker: b("b1") })
        .expect_err("down");
    assert!(why.contains("b1 is already down"), "{why}");
    let why = run
        .act(Action::CrashBroker)
        .expect_err("not a control here");
    assert!(why.contains("crash_broker"), "{why}");
    run.run_to_end();
    let cluster = run.cluster().expect("a cluster lesson");
    assert!(cluster.verdict().is_some(), "judged at the end");
}

/// Prints each lesson's prediction answer and checklist, solved and
/// untouched: `cargo test --test lessons -- --ignored --nocapture`.
#[test]
#[ignore = "a report to read, not a check"]
fn print_every_lesson() {
    for lesson in lessons() {
        println!(
            "== {} ({} solution actions)",
            lesson.id,
            lesson.solution.len()
        );
        for (how, run) in [
            ("solution", solved(&lesson)),
            ("untouched", untouched(&lesson)),
        ] {
            let answer = outcome(&run);
            let texts = answer.true_choices.iter();
            let texts: Vec<&str> = texts
                .map(|&i| lesson.prediction.choices[i].text.as_str())
                .collect();
            println!("  {how}: answer {texts:?} at {:?} ms", answer.at_ms);
            println!("{}", checklist(&run));
        }
    }
}
