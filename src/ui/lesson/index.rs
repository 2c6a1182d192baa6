//! The lesson index: every lesson with its concept and a progress mark, and
//! the two ways out (the crash test, the playground).

use crate::app::learn::{Mark, Progress, Route};
use crate::app::lesson::Lesson;
use std::rc::Rc;
use yew::prelude::*;

/// The index's inputs.
#[derive(Properties, PartialEq)]
pub struct IndexProps {
    /// The bundled lessons, in order.
    pub lessons: Rc<Vec<Rc<Lesson>>>,
    /// What the learner has done.
    pub progress: Rc<Progress>,
    /// Asks the router to show a page.
    pub nav: Callback<Route>,
}

/// The list of lessons.
#[function_component(LessonIndex)]
pub fn lesson_index(p: &IndexProps) -> Html {
    let done = (p.lessons.iter()).filter(|l| p.progress.mark(&l.id) == Mark::Done);
    html! {
        <section class="lesson-index" aria-labelledby="index-heading">
            <h2 id="index-heading">{ "Lessons" }</h2>
            <p class="quiet">{ format!("{} of {} done. Each lesson is one experiment: predict, run it, read what happened.",
                done.count(), p.lessons.len()) }</p>
            <ol>
                { for p.lessons.iter().enumerate().map(|(i, l)| row(i, l, &p.progress, &p.nav)) }
            </ol>
        </section>
    }
}

fn row(i: usize, lesson: &Lesson, progress: &Progress, nav: &Callback<Route>) -> Html {
    let (mark, word, step) = match progress.mark(&lesson.id) {
        Mark::NotStarted => ("○", "not started", 0),
        Mark::InProgress(step) => ("◐", "in progress", step),
        Mark::Done => ("✓", "done", 0),
    };
    let to = Route::lesson(&lesson.id, step);
    let nav = nav.clone();
    let onclick = move |_| nav.emit(to.clone());
    html! {
        <li class={classes!("lesson-row", word.replace(' ', "-"))}>
            <span class="lesson-mark" aria-hidden="true">{ mark }</span>
            <div class="lesson-row-text">
                <button class="link" {onclick}>{ format!("{}. {}", i + 1, lesson.title) }</button>
                <span class="lesson-row-state">{ word }</span>
                <p class="quiet">{ &lesson.concept }</p>
            </div>
        </li>
    }
}
