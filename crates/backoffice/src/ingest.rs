//! Group commit: uploads that arrive together share one transaction.
//!
//! A probe uploads one report per connection. Stored one by one, each
//! report pays for a transaction of its own: `BEGIN`, the owners check,
//! its hour row, `latest`, `COMMIT` (five round trips to the database and a
//! WAL flush) for one 10 KB report. The [`IngestQueue`] hands every upload's
//! rows to a writer, which takes whatever uploads are waiting (up to
//! [`MAX_ROWS`] reports) into one [`Store::insert_counted`] transaction and
//! answers each upload when that transaction has committed:
//! - nothing is acknowledged before it is committed, so exactly once holds
//!   as before: an upload whose client went away is still stored, and its
//!   retry is a duplicate;
//! - at low load a batch is one upload and nothing waits: a free writer
//!   takes what is there, it never waits for more;
//! - under load, while every writer is busy, uploads queue and the next
//!   batch takes them all: the busier the server, the larger the batches
//!   and the fewer statements a report costs;
//! - an upload that would fail a merged batch (a `report_id` of another
//!   probe: 409) must not fail the others: a merged batch that fails is
//!   written again upload by upload, each getting its own answer.
//!
//! Nothing held here changes an answer (replicas stay interchangeable):
//! the queue holds uploads not yet answered, never state. The queue is
//! bounded ([`QUEUE`] uploads; the API's ingest budget bounds their bytes
//! before they get here), and its task ends when the last handle is
//! dropped, after the batches in flight have committed or failed.

use std::collections::HashSet;
use std::ops::Range;

use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinSet;

use crate::store::{Backend, InsertOutcome, NewReport, Store, StoreError};

/// Most reports in one merged batch (an upload larger than this is a batch
/// of its own).
pub const MAX_ROWS: usize = 500;

/// Uploads waiting for a writer, at most.
pub const QUEUE: usize = 1024;

/// Transactions in flight at once: PostgreSQL runs several side by side
/// (their probes' advisory locks order them); SQLite has one writer.
fn writers(backend: Backend) -> usize {
    match backend {
        Backend::Postgres => 4,
        Backend::Sqlite => 1,
    }
}

/// One upload waiting for its answer.
struct Job {
    rows: Vec<NewReport>,
    reply: oneshot::Sender<Result<InsertOutcome, StoreError>>,
}

/// The way into the writers; cheap to clone.
#[derive(Debug, Clone)]
pub struct IngestQueue {
    tx: mpsc::Sender<Job>,
}

impl std::fmt::Debug for Job {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Job")
            .field("rows", &self.rows.len())
            .finish()
    }
}

impl IngestQueue {
    /// Starts the writers of `store` (on the current tokio runtime).
    pub fn start(store: Store) -> IngestQueue {
        let (tx, rx) = mpsc::channel(QUEUE);
        tokio::spawn(run(store, rx));
        IngestQueue { tx }
    }

    /// Stores `rows` (one upload) with whatever else is waiting; answers
    /// what [`Store::insert_batch`] would have answered for them alone.
    pub async fn submit(&self, rows: Vec<NewReport>) -> Result<InsertOutcome, StoreError> {
        let (reply, answer) = oneshot::channel();
        let closed = || {
            StoreError::Refused(
                "the back office is stopping; nothing was stored, retry later".into(),
            )
        };
        self.tx
            .send(Job { rows, reply })
            .await
            .map_err(|_| closed())?;
        answer.await.map_err(|_| closed())?
    }
}

/// The writers' loop: a batch of what is waiting whenever a writer is free.
async fn run(store: Store, mut rx: mpsc::Receiver<Job>) {
    let writers = writers(store.backend());
    let mut running: JoinSet<()> = JoinSet::new();
    loop {
        while running.try_join_next().is_some() {}
        if running.len() >= writers {
            running.join_next().await;
            continue;
        }
        let Some(first) = rx.recv().await else {
            break;
        };
        let mut rows = first.rows.len();
        let mut jobs = vec![first];
        while rows < MAX_ROWS {
            match rx.try_recv() {
                Ok(job) => {
                    rows += job.rows.len();
                    jobs.push(job);
                }
                Err(_) => break,
            }
        }
        running.spawn(write(store.clone(), jobs));
    }
    while running.join_next().await.is_some() {}
}

/// Writes `jobs` in one transaction and answers each; when that fails,
/// writes them one by one.
async fn write(store: Store, jobs: Vec<Job>) {
    let mut rows: Vec<NewReport> = Vec::new();
    let mut spans: Vec<(Range<usize>, oneshot::Sender<_>)> = Vec::with_capacity(jobs.len());
    for job in jobs {
        let start = rows.len();
        rows.extend(job.rows);
        spans.push((start..rows.len(), job.reply));
    }
    if spans.len() > 1
        && let Ok(counted) = store.insert_counted(&rows).await
    {
        let ranges: Vec<Range<usize>> = spans.iter().map(|(r, _)| r.clone()).collect();
        for (outcome, (_, reply)) in credit(&rows, &ranges, &counted).into_iter().zip(spans) {
            let _ = reply.send(Ok(outcome));
        }
        return;
    }
    for (span, reply) in spans {
        let _ = reply.send(store.insert_batch(&rows[span]).await);
    }
}

/// Each upload's share of a merged batch's outcome: a report counted now
/// is credited to the first upload that carried it; its other copies (a
/// retry racing the original, or a report repeated) are duplicates, as
/// they would have been upload by upload.
fn credit(rows: &[NewReport], spans: &[Range<usize>], counted: &[String]) -> Vec<InsertOutcome> {
    let mut left: HashSet<&str> = counted.iter().map(String::as_str).collect();
    spans
        .iter()
        .map(|span| {
            let stored = rows[span.clone()]
                .iter()
                .filter(|r| left.remove(r.report_id.as_str()))
                .count();
            InsertOutcome {
                stored,
                duplicates: span.len() - stored,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(id: &str) -> NewReport {
        let r = stca2_report::fixtures::upload::report(
            stca2_report::fixtures::upload::probe("p"),
            &stca2_report::fixtures::upload::rid(id),
            time::OffsetDateTime::UNIX_EPOCH,
            vec![],
            stca2_report::fixtures::upload::summary(false, stca2_report::Recommendation::None, "m"),
        );
        NewReport::from_report(&r, String::new(), None, None, 0)
    }

    #[test]
    fn a_report_counted_once_is_credited_to_the_first_upload_that_carried_it() {
        // Upload 0: a, b; upload 1: b (a retry racing), c; upload 2: a, a.
        let rows: Vec<NewReport> = ["a", "b", "b", "c", "a", "a"].map(row).into();
        let spans = [0..2, 2..4, 4..6];
        // b was stored before this batch: only a and c are new.
        let counted = [rows[0].report_id.clone(), rows[3].report_id.clone()];
        let got: Vec<(usize, usize)> = credit(&rows, &spans, &counted)
            .iter()
            .map(|o| (o.stored, o.duplicates))
            .collect();
        assert_eq!(got, [(1, 1), (1, 1), (0, 2)]);
    }
}
