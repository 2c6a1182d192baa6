//! The application layer: what the page (and the CLI) build on top of the world.
//!
//! Nothing below this layer knows it exists. It turns the page's settings into a
//! scenario ([`playground`]), drives one live run under a frame budget and draws the
//! [`session::View`] ([`session`]), and saves the setup beside the stored log so a
//! reload can resume it ([`resume`]), with a record of what the run acknowledged
//! ([`acked`]), and says what the broker's last crash tore and what recovery cut
//! ([`recovery`]). It runs lessons too: an experiment per idea, with a prediction and
//! a checklist that ticks itself ([`lesson`]), and remembers where a learner is:
//! routes and stored progress ([`learn`]). With the log in IndexedDB, it says
//! when the disk sets a run's pace ([`pace`]). Compare mode runs one setup under
//! two settings side by side ([`compare`]).

pub mod acked;
pub mod cluster;
pub mod compare;
pub mod learn;
pub mod lesson;
pub mod pace;
pub mod playground;
pub mod recovery;
pub mod resume;
pub mod session;
pub mod share;
