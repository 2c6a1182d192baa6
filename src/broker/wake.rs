//! A broker's alarm clock. A broker never reads a clock: when it has a
//! timer (a session timeout, a `visibility timeout`, a retention expiry) it
//! asks the world to call its `tick` at a virtual time with
//! [`Output::WakeAt`]. The alarm remembers the earliest time asked for, so
//! the broker does not ask twice for the same or a later time.

use super::Output;

/// The earliest `WakeAt` a broker asked for and has not been woken for yet.
#[derive(Clone, Copy, Debug, Default)]
pub(super) struct WakeAlarm {
    /// `None` once the broker was woken (or crashed): the next timer asks
    /// again.
    armed_ms: Option<u64>,
}

impl WakeAlarm {
    /// Asks to be woken at `at_ms`, unless an earlier wake-up is pending.
    pub(super) fn arm(&mut self, at_ms: u64, out: &mut Vec<Output>) {
        if self.armed_ms.is_none_or(|armed| at_ms < armed) {
            self.armed_ms = Some(at_ms);
            out.push(Output::WakeAt { at_ms });
        }
    }

    /// The broker was woken (or crashed): nothing is pending any more.
    pub(super) fn fired(&mut self) {
        self.armed_ms = None;
    }
}
