//! Delivery in commit order.
//!
//! Group commit answers several units of work at once, and the tasks waiting for them wake in any order.
//! If each delivered its events as soon as it woke, a user could receive `eventSeq` 9 before 6, and a
//! conversation's `seq` 3 before 2. So a store hands every committed unit a [`DeliveryTurn`], chained in
//! commit order, and the caller delivers only once the turn of the unit committed before it has passed.
//! A turn passes when it is dropped (after delivering, or when the caller fails or is cancelled), so no
//! caller can hold the others up for longer than its own delivery.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll, Waker};

/// Hands out [`DeliveryTurn`]s in commit order: a store keeps one and takes the next turn for each unit as
/// it commits.
#[derive(Debug, Default)]
pub struct CommitOrder {
    last: Option<Arc<Gate>>,
}

impl CommitOrder {
    /// The turn of the unit that has just committed (after every turn handed out before).
    pub fn next_turn(&mut self) -> DeliveryTurn {
        let gate = Arc::new(Gate::default());
        DeliveryTurn { previous: self.last.replace(gate.clone()), own: Some(gate) }
    }
}

/// A committed unit's place in its store's commit order; see the module docs. Dropping it lets the next
/// unit's events go.
#[derive(Debug, Default)]
pub struct DeliveryTurn {
    previous: Option<Arc<Gate>>,
    own: Option<Arc<Gate>>,
}

impl DeliveryTurn {
    /// A turn that waits for nothing (for stores without group commit, and tests).
    pub fn free() -> Self {
        Self::default()
    }

    /// Completes once every unit committed before this one has passed its turn.
    pub fn previous_passed(&self) -> PreviousPassed<'_> {
        PreviousPassed { previous: self.previous.as_ref() }
    }
}

impl Drop for DeliveryTurn {
    fn drop(&mut self) {
        let Some(own) = self.own.take() else { return };
        // Still waiting on an earlier unit: keep the link, so that our successor waits for it too.
        let previous = self.previous.take().filter(|p| !p.is_open());
        let wakers = {
            let mut state = own.lock();
            state.passed = true;
            state.previous = previous;
            std::mem::take(&mut state.wakers)
        };
        for waker in wakers {
            waker.wake();
        }
    }
}

/// The future of [`DeliveryTurn::previous_passed`].
#[derive(Debug)]
pub struct PreviousPassed<'a> {
    previous: Option<&'a Arc<Gate>>,
}

impl Future for PreviousPassed<'_> {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let Some(gate) = self.previous else { return Poll::Ready(()) };
        match gate.blocker_or_register(Some(cx.waker())) {
            None => Poll::Ready(()),
            Some(()) => Poll::Pending,
        }
    }
}

/// One unit's turn: passed once its owner dropped it; open once it and every earlier turn passed.
#[derive(Debug, Default)]
struct Gate {
    state: Mutex<GateState>,
}

#[derive(Debug, Default)]
struct GateState {
    passed: bool,
    /// An earlier turn that had not passed when this one did.
    previous: Option<Arc<Gate>>,
    wakers: Vec<Waker>,
}

impl Gate {
    fn lock(&self) -> MutexGuard<'_, GateState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn is_open(self: &Arc<Self>) -> bool {
        self.blocker_or_register(None).is_none()
    }

    /// Walks back the chain; at the first turn that has not passed, registers `waker` (under that turn's
    /// lock, so its passing cannot be missed) and returns `Some`. `None` when everything has passed.
    fn blocker_or_register(self: &Arc<Self>, waker: Option<&Waker>) -> Option<()> {
        let mut current = self.clone();
        loop {
            let next = {
                let mut state = current.lock();
                if !state.passed {
                    if let Some(waker) = waker
                        && !state.wakers.iter().any(|w| w.will_wake(waker))
                    {
                        state.wakers.push(waker.clone());
                    }
                    return Some(());
                }
                match &state.previous {
                    Some(previous) if previous.is_open_shallow() => {
                        // Everything before has passed: forget it, so chains stay short.
                        state.previous = None;
                        return None;
                    }
                    Some(previous) => previous.clone(),
                    None => return None,
                }
            };
            current = next;
        }
    }

    /// Passed with nothing earlier pending (without walking further).
    fn is_open_shallow(&self) -> bool {
        let state = self.lock();
        state.passed && state.previous.is_none()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::task::Wake;

    struct Count(AtomicUsize);
    impl Wake for Count {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    fn poll(turn: &DeliveryTurn, waker: &Waker) -> bool {
        let mut fut = turn.previous_passed();
        Pin::new(&mut fut).poll(&mut Context::from_waker(waker)).is_ready()
    }

    #[test]
    fn a_turn_waits_for_every_earlier_turn_even_when_one_in_between_is_dropped_first() {
        let mut order = CommitOrder::default();
        let (a, b, c) = (order.next_turn(), order.next_turn(), order.next_turn());
        let count = Arc::new(Count(AtomicUsize::new(0)));
        let waker = Waker::from(count.clone());
        assert!(poll(&a, &waker), "the first turn waits for nothing");
        assert!(!poll(&c, &waker));
        drop(b);
        assert!(!poll(&c, &waker), "a is still delivering");
        drop(a);
        assert!(count.0.load(Ordering::SeqCst) >= 1, "c was woken");
        assert!(poll(&c, &waker));
        assert!(poll(&DeliveryTurn::free(), &waker));
    }
}
