//! The lessons shipped in `lessons/`, compiled in by `build.rs` so the page
//! and the tests share one list (no list to keep in sync by hand).

use super::{Lesson, LessonError};

include!(concat!(env!("OUT_DIR"), "/bundled_lessons.rs"));

/// Every bundled lesson, parsed and validated, in file-name order (the
/// order of the lesson index). The first bad file's error is returned.
pub fn lessons() -> Result<Vec<Lesson>, LessonError> {
    LESSONS
        .iter()
        .map(|(file, text)| Lesson::from_json(file, text))
        .collect()
}
