//! The ISP-ticket CSV of an export, written from the reports the store streams.
//!
//! The store reads reports (and the address each came from) one by one into
//! a bounded channel, on a task this module owns; [`chunks`] turns them into
//! CSV with `stca2_report::csv` (the same columns and neutralising as the
//! local `check --csv`), control and direction characters escaped with
//! `stca2_report::text::escape` (a terminal or spreadsheet opening it shows
//! them, never obeys them) and hands it on in chunks of about [`CSV_CHUNK`]
//! bytes. Both exports use it: the HTTP response body (`api`) and
//! `stca2-probe export` (`cli`). Memory stays flat whatever the size; when
//! the consumer goes away (the client hung up, `| head` closed the pipe) the
//! stream is dropped and the reading task aborted with it.

use bytes::Bytes;
use futures_util::Stream;
use tokio::sync::mpsc;

use super::store::{ExportFilter, ExportRow, Store, StoreError};

/// Size of the chunks [`chunks`] yields.
pub const CSV_CHUNK: usize = 64 * 1024;
/// Reports read ahead of the CSV writer.
const READ_AHEAD: usize = 64;

/// Owns a spawned task: aborts it when dropped (the export's reader, when
/// the response body or the CLI's writer goes away).
struct AbortOnDrop<T>(tokio::task::JoinHandle<T>);

impl<T> Drop for AbortOnDrop<T> {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// A piece of the CSV: its bytes and how many data rows they hold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Chunk {
    /// CSV text (the header is at the start of the first chunk).
    pub bytes: Bytes,
    /// Data rows (report x target) in `bytes`.
    pub rows: u64,
}

/// Where the stream stands between two chunks.
struct State {
    rows: mpsc::Receiver<ExportRow>,
    reader: Option<AbortOnDrop<Result<u64, StoreError>>>,
    /// The chunk being filled; None once the stream has ended.
    csv: Option<csv::Writer<Vec<u8>>>,
    header_done: bool,
    count: u64,
}

/// A CSV writer over a fresh buffer; `into_inner` hands the buffer over.
fn writer() -> csv::Writer<Vec<u8>> {
    csv::WriterBuilder::new()
        .terminator(csv::Terminator::CRLF)
        .from_writer(Vec::with_capacity(CSV_CHUNK + 16 * 1024))
}

/// Writes one record, each cell through `stca2_report::text::escape`.
fn write_escaped(csv: &mut csv::Writer<Vec<u8>>, cells: &[String]) -> csv::Result<()> {
    for cell in cells {
        csv.write_field(stca2_report::text::escape(cell).as_bytes())?;
    }
    csv.write_record(None::<&[u8]>)
}

fn csv_err(e: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(format!("writing CSV: {e}"))
}

/// The CSV of `filter` (header first), in chunks of about [`CSV_CHUNK`]
/// bytes. A database error ends the stream with that error, after the
/// chunks already made.
pub fn chunks(
    store: Store,
    filter: ExportFilter,
) -> impl Stream<Item = Result<Chunk, StoreError>> + Send + 'static {
    let (tx, rx) = mpsc::channel(READ_AHEAD);
    let reader = AbortOnDrop(tokio::spawn(async move {
        store.export_rows(&filter, &tx).await
    }));
    let state = State {
        rows: rx,
        reader: Some(reader),
        csv: Some(writer()),
        header_done: false,
        count: 0,
    };
    futures_util::stream::unfold(state, |mut s| async move {
        let item = s.next_chunk().await?;
        Some((item, s))
    })
}

impl State {
    /// The next chunk; None once the last one went out or after an error.
    async fn next_chunk(&mut self) -> Option<Result<Chunk, StoreError>> {
        let mut csv = self.csv.take()?;
        let before = self.count;
        if !self.header_done {
            self.header_done = true;
            if let Err(e) = csv.write_record(stca2_report::csv::COLUMNS) {
                return Some(Err(csv_err(e)));
            }
        }
        while let Some(mut row) = self.rows.recv().await {
            // The merchant column says what the API says: the stored
            // merchant (the token's when it has one), not only the report's.
            if row.merchant_id.is_some() {
                row.report.probe.merchant = row.merchant_id.take();
            }
            for cells in stca2_report::csv::rows(&row.report, row.public_ip.as_deref()) {
                // Escaping keeps a neutralised cell safe: it changes the
                // first character only into a backslash.
                if let Err(e) = write_escaped(&mut csv, &cells) {
                    return Some(Err(csv_err(e)));
                }
                self.count += 1;
            }
            if csv.get_ref().len() >= CSV_CHUNK {
                self.csv = Some(writer());
                return Some(self.chunk(csv, before));
            }
        }
        // The reader is done: the rest, unless it failed.
        if let Some(mut reader) = self.reader.take() {
            let outcome = match (&mut reader.0).await {
                Ok(outcome) => outcome,
                Err(e) => Err(StoreError::Corrupt(format!(
                    "the export stopped before its end: {e}"
                ))),
            };
            if let Err(e) = outcome {
                return Some(Err(e));
            }
        }
        match self.chunk(csv, before) {
            Ok(last) if last.bytes.is_empty() => None,
            last => Some(last),
        }
    }

    /// Hands over the buffer of `csv` with the rows written since `before`.
    fn chunk(&self, csv: csv::Writer<Vec<u8>>, before: u64) -> Result<Chunk, StoreError> {
        Ok(Chunk {
            bytes: Bytes::from(csv.into_inner().map_err(csv_err)?),
            rows: self.count - before,
        })
    }
}
