//! Telling every task to stop (the pattern of mini-redis's `shutdown.rs`).
//!
//! One `broadcast` channel carries the news: the daemon keeps the
//! [`broadcast::Sender`], every task gets its own [`Shutdown`] (a receiver)
//! and `select!`s on [`Shutdown::recv`] beside its real work. Sending one
//! `()` (or dropping the sender) wakes every receiver at once, and a task
//! that already heard the news remembers it, so asking twice never blocks.

use tokio::sync::broadcast;

/// One task's view of the daemon's shutdown signal.
#[derive(Debug)]
pub struct Shutdown {
    is_shutdown: bool,
    notify: broadcast::Receiver<()>,
}

impl Shutdown {
    /// Listens on `notify`.
    pub fn new(notify: broadcast::Receiver<()>) -> Shutdown {
        Shutdown {
            is_shutdown: false,
            notify,
        }
    }

    /// Whether the signal has been received.
    pub fn is_shutdown(&self) -> bool {
        self.is_shutdown
    }

    /// Waits for the signal; returns at once when it was already received.
    pub async fn recv(&mut self) {
        if self.is_shutdown {
            return;
        }
        // A lagged or closed channel means the same: stop.
        let _ = self.notify.recv().await;
        self.is_shutdown = true;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn every_receiver_hears_once_and_remembers() {
        let (tx, _) = broadcast::channel(1);
        let mut a = Shutdown::new(tx.subscribe());
        let mut b = Shutdown::new(tx.subscribe());
        assert!(!a.is_shutdown());
        tx.send(()).unwrap();
        a.recv().await;
        b.recv().await;
        a.recv().await; // again: no wait
        assert!(a.is_shutdown() && b.is_shutdown());
        let mut c = Shutdown::new(tx.subscribe());
        drop(tx);
        c.recv().await; // a dropped sender stops too
        assert!(c.is_shutdown());
    }
}
