//! The disk pump: when a log run on IndexedDB stops to wait for a group
//! commit, this awaits the browser's transaction and lets the run go on at
//! once, instead of at the next animation frame.
//!
//! The browser finishes a transaction only between two turns of its event
//! loop, and a frame is one turn. Waiting for the next frame meant one
//! commit per frame: about 0.5× real time at any speed. The pump takes as
//! many commits per frame as the disk manages, within the frame's budget;
//! how fast that is shows as "waiting for the disk: N commits/s" next to the
//! Speed control ([`crate::app::pace`]).
//!
//! The pump's turns change nothing the page draws, so they do not go
//! through a render: [`DiskPump`] lives behind an `Rc` the state shares,
//! one long-lived task ([`use_disk_pump`]) awaits the commit it is armed
//! with, and its [`Action::DiskDone`] leaves the state as it is.

use super::state::{Action, AppState};
use crate::app::pace::PaceMeter;
use std::cell::RefCell;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Poll, Waker};
use yew::prelude::*;

/// What the frames and the pump share about running a log run on a disk.
#[derive(Default)]
pub struct DiskPump {
    /// Virtual ms the frames asked for that the run has not covered yet
    /// because it waited for the disk; the pump's turns cover them.
    pub owed_ms: f64,
    /// Wall ms of simulation since the last frame began: the frame and the
    /// pump's turns share one frame budget.
    pub frame_spent_ms: f64,
    /// The run stopped for the disk since the last frame.
    pub waited: bool,
    /// How fast the run goes, and whether the disk sets the pace.
    pub pace: PaceMeter,
    /// The commit the pump awaits (a future that holds no borrow of the
    /// store, see `IdbStore::durable_signal`).
    armed: Option<Pin<Box<dyn Future<Output = ()>>>>,
    /// The pump task, to wake when it is armed or closed.
    waker: Option<Waker>,
    /// The page is gone: the task ends.
    closed: bool,
    /// Where the pump task sends [`Action::DiskDone`]. It lives here, not in
    /// the task, so that closing the pump drops it at once: the dispatcher
    /// keeps the page's state alive, and with it the IndexedDB store and its
    /// lock, which the next page (a route change, a remount) must be able to
    /// take without waiting for the task to notice it is closed.
    dispatch: Option<UseReducerDispatcher<AppState>>,
}

/// The pump, shared by the state and the pump task.
pub type SharedPump = Rc<RefCell<DiskPump>>;

impl DiskPump {
    /// The pump's next turn comes when `done` resolves.
    pub fn arm(&mut self, done: impl Future<Output = ()> + 'static) {
        self.armed = Some(Box::pin(done));
        if let Some(waker) = self.waker.take() {
            waker.wake();
        }
    }

    /// No turn is due (the run is not waiting, or it paused).
    pub fn disarm(&mut self) {
        self.armed = None;
    }

    fn close(&mut self) {
        self.closed = true;
        self.armed = None;
        self.dispatch = None;
        if let Some(waker) = self.waker.take() {
            waker.wake();
        }
    }
}

/// Resolves when the armed commit is done (`true`), or the page is gone
/// (`false`). The pump's borrow ends before this returns.
async fn next_turn(pump: &SharedPump) -> bool {
    std::future::poll_fn(|cx| {
        let mut pump = pump.borrow_mut();
        if pump.closed {
            return Poll::Ready(false);
        }
        pump.waker = Some(cx.waker().clone());
        let Some(done) = pump.armed.as_mut() else {
            return Poll::Pending;
        };
        match done.as_mut().poll(cx) {
            Poll::Ready(()) => {
                pump.armed = None;
                Poll::Ready(true)
            }
            Poll::Pending => Poll::Pending,
        }
    })
    .await
}

/// The pump task, for the page's life: each time the commit it was armed
/// with is on disk, it sends [`Action::DiskDone`].
#[hook]
pub fn use_disk_pump(pump: SharedPump, dispatch: UseReducerDispatcher<AppState>) {
    use_effect_with((), move |_| {
        pump.borrow_mut().dispatch = Some(dispatch);
        let task_pump = Rc::clone(&pump);
        wasm_bindgen_futures::spawn_local(async move {
            while next_turn(&task_pump).await {
                // Cloned out first: dispatching must not hold the pump's borrow.
                let dispatch = task_pump.borrow().dispatch.clone();
                if let Some(dispatch) = dispatch {
                    dispatch.dispatch(Action::DiskDone);
                }
            }
        });
        move || pump.borrow_mut().close()
    });
}
