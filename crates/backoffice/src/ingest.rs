//! Group commit: uploads that arrive together share one transaction.
//!
//! A probe uploads one report per connection. Stored one by one, each
//! report pays for a transaction of its own: `BEGIN`, the owners check,
//! its hour row, `latest`, `COMMIT` (five round trips to the database and a
//! WAL flush) for one 10 KB report. The [`IngestQueue`] hands every upload's
//! rows to a writer, which takes the uploads waiting (about [`MAX_ROWS`]
//! reports at most) into one [`Store::insert_counted`] transaction and
//! answers each upload when that transaction has committed:
//! - nothing is acknowledged before it is committed, so exactly once holds
//!   as before: an upload stored after its client went away is a duplicate
//!   when it comes again (and one whose client is gone before a writer took
//!   it is not written at all: nothing was acknowledged);
//! - at low load a batch is one upload and nothing waits: a free writer
//!   takes what is there, it never waits for more;
//! - under load, while every writer is busy, uploads queue and the next
//!   batch takes them all: the busier the server, the larger the batches
//!   and the fewer statements a report costs;
//! - each upload gets the answer it would have had alone: a report stored
//!   now is credited to the first upload that carried it ([`credit`]); an
//!   upload carrying a `report_id` of another probe (409) is written alone
//!   and the others merged again; when the database fails the transaction
//!   (down, timeout), every upload of it is answered at once with a 503
//!   (nothing was stored, retry later), not retried one by one.
//!
//! Nothing held here changes an answer (replicas stay interchangeable):
//! the queue holds uploads not yet answered, never state. It is bounded in
//! uploads ([`QUEUE`]) and in bytes ([`QUEUE_BUDGET`], held by each upload
//! until it is answered, whether its client waits or not). Its task ends
//! when the last handle is dropped and the batches in flight are done; a
//! batch still in flight when the server closes the database fails, and
//! its uploads, unanswered, come again.

use std::sync::Arc;

use tokio::sync::{OwnedSemaphorePermit, Semaphore, mpsc, oneshot};
use tokio::task::JoinSet;

use crate::store::{Backend, InsertOutcome, NewReport, Store, StoreError};

/// A merged batch stops growing at this many reports (an upload larger
/// than this is a batch of its own).
pub const MAX_ROWS: usize = 500;

/// Uploads waiting for a writer, at most.
pub const QUEUE: usize = 1024;

/// Bytes of report bodies waiting or being written, at most: an upload
/// waits for room before it joins the queue.
pub const QUEUE_BUDGET: usize = 64 << 20;

/// Transactions in flight at once: PostgreSQL runs several side by side
/// (their probes' advisory locks order them); SQLite has one writer.
fn writers(backend: Backend) -> usize {
    match backend {
        Backend::Postgres => 4,
        Backend::Sqlite => 1,
    }
}

/// One upload waiting for its answer, and its share of [`QUEUE_BUDGET`].
struct Job {
    rows: Vec<NewReport>,
    reply: oneshot::Sender<Result<InsertOutcome, StoreError>>,
    _room: OwnedSemaphorePermit,
}

impl std::fmt::Debug for Job {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Job")
            .field("rows", &self.rows.len())
            .finish()
    }
}

/// The way into the writers; cheap to clone.
#[derive(Debug, Clone)]
pub struct IngestQueue {
    tx: mpsc::Sender<Job>,
    /// [`QUEUE_BUDGET`] in KiB permits.
    budget: Arc<Semaphore>,
}

impl IngestQueue {
    /// Starts the writers of `store` (on the current tokio runtime).
    pub fn start(store: Store) -> IngestQueue {
        let (tx, rx) = mpsc::channel(QUEUE);
        tokio::spawn(run(store, rx));
        IngestQueue {
            tx,
            budget: Arc::new(Semaphore::new(QUEUE_BUDGET >> 10)),
        }
    }

    /// Stores `rows` (one upload) with whatever else is waiting; answers
    /// what [`Store::insert_batch`] would have answered for them alone.
    /// Waits for room in the queue (the caller's request timeout bounds it).
    pub async fn submit(&self, rows: Vec<NewReport>) -> Result<InsertOutcome, StoreError> {
        let closed =
            || StoreError::Unavailable("the back office is stopping; nothing was stored".into());
        let bytes: usize = rows.iter().map(|r| r.body.len()).sum();
        let kib = u32::try_from((bytes >> 10).clamp(1, QUEUE_BUDGET >> 10)).unwrap_or(u32::MAX);
        let room = self
            .budget
            .clone()
            .acquire_many_owned(kib)
            .await
            .map_err(|_| closed())?;
        let (reply, answer) = oneshot::channel();
        self.tx
            .send(Job {
                rows,
                reply,
                _room: room,
            })
            .await
            .map_err(|_| closed())?;
        answer.await.map_err(|_| closed())?
    }
}

/// The writers' loop: a batch of what is waiting whenever a writer is free.
async fn run(store: Store, mut rx: mpsc::Receiver<Job>) {
    let writers = writers(store.backend());
    let mut running: JoinSet<()> = JoinSet::new();
    let mut carried: Option<Job> = None;
    loop {
        while running.try_join_next().is_some() {}
        if running.len() >= writers {
            running.join_next().await;
            continue;
        }
        let first = match carried.take() {
            Some(job) => job,
            None => match rx.recv().await {
                Some(job) => job,
                None => break,
            },
        };
        let mut rows = first.rows.len();
        let mut jobs = vec![first];
        while rows < MAX_ROWS {
            match rx.try_recv() {
                Ok(job) if rows + job.rows.len() <= MAX_ROWS => {
                    rows += job.rows.len();
                    jobs.push(job);
                }
                Ok(job) => {
                    carried = Some(job);
                    break;
                }
                Err(_) => break,
            }
        }
        running.spawn(write(store.clone(), jobs));
    }
    while running.join_next().await.is_some() {}
}

/// Writes `jobs` in one transaction and answers each (see the module's
/// documentation for what each upload is answered when it fails).
async fn write(store: Store, jobs: Vec<Job>) {
    // An upload whose client is gone is not written: nothing was
    // acknowledged, and its retry comes back.
    let mut jobs: Vec<Job> = jobs.into_iter().filter(|j| !j.reply.is_closed()).collect();
    while jobs.len() > 1 {
        let rows: Vec<&NewReport> = jobs.iter().flat_map(|j| j.rows.iter()).collect();
        match store.insert_counted(&rows).await {
            Ok(counted) => {
                let uploads: Vec<&[NewReport]> = jobs.iter().map(|j| j.rows.as_slice()).collect();
                let outcomes = credit(&uploads, &counted);
                for (job, outcome) in jobs.into_iter().zip(outcomes) {
                    let _ = job.reply.send(Ok(outcome));
                }
                return;
            }
            Err(StoreError::ReportIdTaken { report_id }) => {
                // The uploads carrying that id go alone; the rest merge again.
                let (alone, rest): (Vec<Job>, Vec<Job>) = jobs
                    .into_iter()
                    .partition(|j| j.rows.iter().any(|r| r.report_id == report_id));
                let stuck = alone.is_empty();
                for job in alone {
                    let _ = job.reply.send(store.insert_batch(&job.rows).await);
                }
                jobs = rest;
                if stuck {
                    break; // Not one of ours (cannot happen): each alone.
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, uploads = jobs.len(), "a merged ingest batch failed; each upload is answered 503");
                let said = e.to_string();
                for job in jobs {
                    let _ = job.reply.send(Err(StoreError::Unavailable(said.clone())));
                }
                return;
            }
        }
    }
    for job in jobs {
        let _ = job.reply.send(store.insert_batch(&job.rows).await);
    }
}

/// Each upload's share of a merged batch's outcome: a report counted now
/// (`counted`) is credited to the first upload that carried it; its other
/// copies (a retry racing the original, or a report repeated) are
/// duplicates, as they would have been upload by upload.
fn credit(uploads: &[&[NewReport]], counted: &[String]) -> Vec<InsertOutcome> {
    let mut left: std::collections::HashSet<&str> = counted.iter().map(String::as_str).collect();
    uploads
        .iter()
        .map(|rows| {
            let stored = rows
                .iter()
                .filter(|r| left.remove(r.report_id.as_str()))
                .count();
            InsertOutcome {
                stored,
                duplicates: rows.len() - stored,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(probe: &str, id: &str) -> NewReport {
        let r = stca2_report::fixtures::upload::report(
            stca2_report::fixtures::upload::probe(probe),
            &stca2_report::fixtures::upload::rid(id),
            time::OffsetDateTime::UNIX_EPOCH,
            vec![],
            stca2_report::fixtures::upload::summary(false, stca2_report::Recommendation::None, "m"),
        );
        let body = serde_json::to_string(&r).unwrap();
        NewReport::from_report(&r, body, None, None, 0)
    }

    #[test]
    fn a_report_counted_once_is_credited_to_the_first_upload_that_carried_it() {
        // Upload 0: a, b; upload 1: b (a retry racing), c; upload 2: a, a.
        let rows: Vec<NewReport> = ["a", "b", "b", "c", "a", "a"].map(|id| row("p", id)).into();
        let uploads = [&rows[0..2], &rows[2..4], &rows[4..6]];
        // b was stored before this batch: only a and c are new.
        let counted = [rows[0].report_id.clone(), rows[3].report_id.clone()];
        let got: Vec<(usize, usize)> = credit(&uploads, &counted)
            .iter()
            .map(|o| (o.stored, o.duplicates))
            .collect();
        assert_eq!(got, [(1, 1), (1, 1), (0, 2)]);
    }

    /// A merged batch, written for real (SQLite): a new report, another
    /// probe's id (409, alone), a racing retry of the first, a report of a
    /// third probe, and one whose client is gone (not written).
    #[tokio::test]
    async fn each_upload_of_a_merged_batch_is_answered_as_if_alone() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("q.db").display());
        let store = Store::connect(&url).await.unwrap();
        store.insert_batch(&[row("owner", "owned")]).await.unwrap();
        let budget = Arc::new(Semaphore::new(1024));
        let mut answers = Vec::new();
        let mut jobs = Vec::new();
        for (probe, id) in [
            ("p1", "x"),
            ("p2", "owned"),
            ("p1", "x"),
            ("p3", "y"),
            ("p4", "gone"),
        ] {
            let (reply, answer) = oneshot::channel();
            jobs.push(Job {
                rows: vec![row(probe, id)],
                reply,
                _room: budget.clone().acquire_many_owned(1).await.unwrap(),
            });
            answers.push(answer);
        }
        drop(answers.pop()); // p4's client went away.
        write(store.clone(), jobs).await;
        let mut got = Vec::new();
        for a in answers {
            got.push(match a.await.unwrap() {
                Ok(o) => format!("{}/{}", o.stored, o.duplicates),
                Err(StoreError::ReportIdTaken { .. }) => "409".to_string(),
                Err(e) => format!("{e}"),
            });
        }
        assert_eq!(got, ["1/0", "409", "0/1", "1/0"]);
        assert_eq!(
            store.count_reports().await.unwrap(),
            3,
            "owned, x, y; not gone"
        );
        assert_eq!(
            budget.available_permits(),
            1024,
            "every upload's room is back"
        );
        store.close().await;
    }
}
