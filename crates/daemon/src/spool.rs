//! The spool: reports on disk between the check that made them and the
//! back office's acknowledgement.
//!
//! **Durable before anything else.** A report is written with
//! [`write_atomically`] (temporary file, fsync, rename, fsync of the
//! folder) before any upload is tried, so a power cut at any instant leaves
//! the whole report or nothing, and an entry is deleted only after the back
//! office answered 2xx for it. A crash between the 2xx and the delete sends
//! the report again; the back office deduplicates on `report_id`, so the
//! effect is exactly once.
//!
//! **Ordered by name.** An entry is `<started_at in ms, 13 digits>-<report_id>.json`:
//! the lexical order of the folder is the order of the checks, so "oldest
//! first" is a sort of file names, with no index to corrupt. Temporary files
//! start with a dot and are never listed; leftovers of a crash are removed
//! at [`Spool::open`].
//!
//! **Bounded.** Over `max_bytes` or older than `max_age`, the oldest entries
//! go first. Each one dropped is counted in the file `dropped` (persisted,
//! so the count survives restarts) and the count travels to the back office
//! in the next reports' `probe.spool_dropped`. A report that cannot be
//! written at all (a full disk, a read-only folder) is counted the same way:
//! the checks go on, and the spool recovers when writes succeed again.
//!
//! **One writer.** [`Spool::open`] takes an exclusive `flock` on
//! `.lock` in the folder and holds it while the [`Spool`] lives: a second
//! daemon (or a `--once` beside a running daemon) on the same folder is
//! refused instead of deleting the other's temporary files or uploading
//! its reports twice. The kernel releases the lock when the process dies.
//!
//! **Quarantine.** A report the back office refuses for good (409, 422) is
//! moved to `quarantine/` with a `.why` file beside it: never retried, kept
//! for a person to read.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use stca2_engine::output::{sync_dir, write_atomically};
use stca2_report::Report;

/// The lock file, held with `flock` while a [`Spool`] is open.
pub const LOCK_FILE: &str = ".lock";
/// The file that holds the dropped count.
pub const DROPPED_FILE: &str = "dropped";
/// The folder of refused reports.
pub const QUARANTINE_DIR: &str = "quarantine";
/// The quarantine keeps this many reports at most; the oldest go first.
pub const QUARANTINE_MAX: usize = 1000;

/// One spooled report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// The file name, `<millis>-<report_id>.json`.
    pub name: String,
    /// Its size in bytes.
    pub bytes: u64,
}

impl Entry {
    /// The check's start, in milliseconds since the Unix epoch, from the name.
    pub fn started_ms(&self) -> Option<u64> {
        self.name.split('-').next()?.parse().ok()
    }

    /// The report id, from the name.
    pub fn report_id(&self) -> &str {
        let stem = self.name.strip_suffix(".json").unwrap_or(&self.name);
        stem.split_once('-').map_or(stem, |(_, id)| id)
    }
}

/// The file name of a report's entry: lexical order is time order.
pub fn entry_name(report: &Report) -> String {
    let ms = (report.started_at.unix_timestamp_nanos() / 1_000_000).max(0);
    // Only characters that are safe in a file name; a report id is a UUID.
    let id: String = report
        .report_id
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect();
    format!("{ms:013}-{id}.json")
}

/// What the spool holds now.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Stats {
    /// Entries waiting for upload.
    pub reports: u64,
    /// Their total size.
    pub bytes: u64,
    /// Reports dropped since installation.
    pub dropped: u64,
    /// Reports in quarantine.
    pub quarantined: u64,
}

/// The spool folder and its bounds.
#[derive(Debug)]
pub struct Spool {
    dir: PathBuf,
    max_bytes: u64,
    max_age: Duration,
    dropped: u64,
    /// The dropped count changed and is not on disk yet.
    dropped_dirty: bool,
    /// `.lock`, flocked: closing it (dropping the spool) releases it.
    /// None while the folder is unusable (see [`Spool::open_degraded`]).
    lock: Option<fs::File>,
}

/// Takes the exclusive lock on `dir/.lock`, or says who holds it.
fn lock(dir: &Path) -> io::Result<fs::File> {
    use std::os::fd::AsRawFd as _;
    let path = dir.join(LOCK_FILE);
    let file = fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)?;
    // SAFETY: flock(2) on a descriptor that `file` owns and keeps open.
    if unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } != 0 {
        let e = io::Error::last_os_error();
        if e.kind() == io::ErrorKind::WouldBlock {
            return Err(io::Error::new(
                io::ErrorKind::WouldBlock,
                format!(
                    "another stca2-probe daemon uses this spool ({} is locked): stop it, or give this one another spool_dir",
                    path.display()
                ),
            ));
        }
        return Err(e);
    }
    Ok(file)
}

impl Spool {
    /// Opens (and creates) the spool in `dir` and locks it; reads the
    /// dropped count and removes temporary files a crash left behind (only
    /// once the lock is held: no other writer can be mid-write).
    pub fn open(dir: &Path, max_bytes: u64, max_age: Duration) -> io::Result<Spool> {
        let mut spool = Spool::closed(dir, max_bytes, max_age);
        spool.ready()?;
        Ok(spool)
    }

    /// Like [`open`](Spool::open), but a folder that cannot be used yet (a
    /// mount not there, a read-only disk) is not fatal: the error is
    /// logged, every report until it can be written is counted as dropped,
    /// and each [`put`](Spool::put) tries the folder again. Only a spool
    /// locked by another process is refused.
    pub fn open_degraded(dir: &Path, max_bytes: u64, max_age: Duration) -> io::Result<Spool> {
        let mut spool = Spool::closed(dir, max_bytes, max_age);
        match spool.ready() {
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => Err(e),
            Err(e) => {
                tracing::error!(
                    spool = %dir.display(),
                    error = %e,
                    "the spool cannot be used: checks go on, each report is counted as dropped until the folder can be written"
                );
                Ok(spool)
            }
            Ok(()) => Ok(spool),
        }
    }

    fn closed(dir: &Path, max_bytes: u64, max_age: Duration) -> Spool {
        Spool {
            dir: dir.to_path_buf(),
            max_bytes,
            max_age,
            dropped: 0,
            dropped_dirty: false,
            lock: None,
        }
    }

    /// Makes the folder usable, once: creates it, locks it, removes
    /// temporary leftovers, adds the count on disk to the one in memory.
    fn ready(&mut self) -> io::Result<()> {
        if self.lock.is_some() {
            return Ok(());
        }
        let dir = self.dir.clone();
        let dir = dir.as_path();
        fs::create_dir_all(dir.join(QUARANTINE_DIR))?;
        let lock = lock(dir)?;
        for e in fs::read_dir(dir)? {
            let e = e?;
            let name = e.file_name().to_string_lossy().into_owned();
            if name.starts_with('.') && name.ends_with(".tmp") {
                let _ = fs::remove_file(e.path());
            }
        }
        let dropped = match fs::read_to_string(dir.join(DROPPED_FILE)) {
            Ok(s) => s.trim().parse().unwrap_or_else(|_| {
                tracing::warn!(
                    path = %dir.join(DROPPED_FILE).display(),
                    "the spool's dropped count is not a number: counting again from 0"
                );
                0
            }),
            Err(e) if e.kind() == io::ErrorKind::NotFound => 0,
            Err(e) => return Err(e),
        };
        // Reports dropped while the folder was unusable are added.
        self.dropped_dirty |= self.dropped > 0;
        self.dropped += dropped;
        self.lock = Some(lock);
        Ok(())
    }

    /// The spool's folder.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Reports dropped since installation (including those not yet persisted).
    pub fn dropped(&self) -> u64 {
        self.dropped
    }

    /// Changes the bounds (a reloaded configuration).
    pub fn set_bounds(&mut self, max_bytes: u64, max_age: Duration) {
        self.max_bytes = max_bytes;
        self.max_age = max_age;
    }

    /// The entries, oldest first.
    pub fn list(&self) -> io::Result<Vec<Entry>> {
        if self.lock.is_none() {
            return Err(io::Error::other(format!(
                "the spool {} is not usable yet",
                self.dir.display()
            )));
        }
        let mut out = Vec::new();
        for e in fs::read_dir(&self.dir)? {
            let e = e?;
            let name = e.file_name().to_string_lossy().into_owned();
            if name.starts_with('.') || !name.ends_with(".json") {
                continue;
            }
            let meta = match e.metadata() {
                Ok(m) if m.is_file() => m,
                _ => continue,
            };
            out.push(Entry {
                name,
                bytes: meta.len(),
            });
        }
        out.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(out)
    }

    /// What the spool holds.
    pub fn stats(&self) -> io::Result<Stats> {
        let entries = self.list()?;
        let quarantined = fs::read_dir(self.dir.join(QUARANTINE_DIR))?
            .filter_map(Result::ok)
            .filter(|e| e.file_name().to_string_lossy().ends_with(".json"))
            .count() as u64;
        Ok(Stats {
            reports: entries.len() as u64,
            bytes: entries.iter().map(|e| e.bytes).sum(),
            dropped: self.dropped,
            quarantined,
        })
    }

    /// Spools a report durably. First makes room (the oldest entries over
    /// the bounds are dropped and counted), then stamps the report with the
    /// dropped count so that the back office learns it, then writes it.
    /// On an error the report is counted as dropped: the caller logs it and
    /// goes on.
    pub fn put(&mut self, report: &mut Report, now: SystemTime) -> io::Result<Entry> {
        if let Err(e) = self.ready() {
            self.count_dropped(1);
            return Err(e);
        }
        let name = entry_name(report);
        let estimate = serde_json::to_vec(report).map_or(0, |v| v.len() as u64) + 32;
        let result = self.enforce_bounds(now, estimate).and_then(|_| {
            if self.dropped > 0 {
                report.probe.spool_dropped = Some(self.dropped);
            }
            // Saved first: a report never carries a count the disk lost.
            self.persist_dropped();
            let data = serde_json::to_vec(report).map_err(io::Error::other)?;
            write_atomically(&self.dir.join(&name), &data)?;
            Ok(Entry {
                name,
                bytes: data.len() as u64,
            })
        });
        if result.is_err() {
            self.count_dropped(1);
        }
        self.persist_dropped();
        result
    }

    /// Drops the oldest entries until the spool holds at most `max_bytes`
    /// minus `incoming`, and none older than `max_age`. Returns how many.
    pub fn enforce_bounds(&mut self, now: SystemTime, incoming: u64) -> io::Result<u64> {
        let entries = self.list()?;
        let now_ms = now
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as u64);
        let oldest_kept = now_ms.saturating_sub(self.max_age.as_millis() as u64);
        let mut total: u64 = entries.iter().map(|e| e.bytes).sum::<u64>() + incoming;
        let mut removed = 0;
        for e in &entries {
            let too_old = e.started_ms().is_some_and(|ms| ms < oldest_kept);
            if !too_old && total <= self.max_bytes {
                break;
            }
            match fs::remove_file(self.dir.join(&e.name)) {
                Ok(()) => {
                    // Counted as it happens: an error further on loses no count.
                    removed += 1;
                    self.count_dropped(1);
                    total -= e.bytes;
                    tracing::warn!(
                        entry = %e.name,
                        reason = if too_old { "max_age" } else { "max_bytes" },
                        "spool over its bound: dropped the oldest report"
                    );
                }
                Err(err) if err.kind() == io::ErrorKind::NotFound => total -= e.bytes,
                Err(err) => return Err(err),
            }
        }
        if removed > 0 {
            sync_dir(&self.dir)?;
        }
        Ok(removed)
    }

    fn count_dropped(&mut self, n: u64) {
        self.dropped += n;
        self.dropped_dirty = true;
    }

    /// Writes the dropped count when it changed; a failure is retried at
    /// the next write (the count stays in memory meanwhile).
    fn persist_dropped(&mut self) {
        if !self.dropped_dirty {
            return;
        }
        let path = self.dir.join(DROPPED_FILE);
        match write_atomically(&path, format!("{}\n", self.dropped).as_bytes()) {
            Ok(()) => self.dropped_dirty = false,
            Err(e) => tracing::warn!(
                path = %path.display(),
                error = %e,
                "cannot save the spool's dropped count; will retry"
            ),
        }
    }

    /// An entry's bytes (a JSON report).
    pub fn read(&self, entry: &Entry) -> io::Result<Vec<u8>> {
        fs::read(self.dir.join(&entry.name))
    }

    /// Removes acknowledged entries, then makes the removal durable. An
    /// entry already gone (dropped meanwhile) is fine.
    pub fn remove(&self, entries: &[Entry]) -> io::Result<()> {
        for e in entries {
            match fs::remove_file(self.dir.join(&e.name)) {
                Ok(()) => {}
                Err(err) if err.kind() == io::ErrorKind::NotFound => {}
                Err(err) => return Err(err),
            }
        }
        sync_dir(&self.dir)
    }

    /// Moves an entry the back office refused for good to `quarantine/`,
    /// with `why` beside it in `<name>.why`. Past [`QUARANTINE_MAX`]
    /// reports, the oldest (and their `.why`) are deleted, and logged.
    pub fn quarantine(&self, entry: &Entry, why: &str) -> io::Result<()> {
        self.quarantine_within(entry, why, QUARANTINE_MAX)
    }

    fn quarantine_within(&self, entry: &Entry, why: &str, max: usize) -> io::Result<()> {
        let qdir = self.dir.join(QUARANTINE_DIR);
        fs::create_dir_all(&qdir)?;
        write_atomically(&qdir.join(format!("{}.why", entry.name)), why.as_bytes())?;
        fs::rename(self.dir.join(&entry.name), qdir.join(&entry.name))?;
        let mut held: Vec<String> = fs::read_dir(&qdir)?
            .filter_map(|e| e.ok()?.file_name().into_string().ok())
            .filter(|n| n.ends_with(".json") && !n.starts_with('.'))
            .collect();
        held.sort();
        let over = held.len().saturating_sub(max);
        for name in &held[..over] {
            fs::remove_file(qdir.join(name))?;
            match fs::remove_file(qdir.join(format!("{name}.why"))) {
                Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(e),
                _ => {}
            }
        }
        if over > 0 {
            tracing::warn!(
                deleted = over,
                max,
                "the quarantine is full: its oldest reports were deleted"
            );
        }
        sync_dir(&qdir)?;
        sync_dir(&self.dir)
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// The report ids in the spool, in its order.
    fn ids_of(spool: &Spool) -> Vec<String> {
        spool
            .list()
            .unwrap()
            .iter()
            .map(|e| e.report_id().to_string())
            .collect()
    }
    use time::OffsetDateTime;

    /// A whole report (four open STCA2 targets) of a check started at `secs`.
    pub(crate) fn report_at(secs: i64) -> Report {
        use stca2_report::fixtures::{O, set};
        let at = OffsetDateTime::from_unix_timestamp(secs).unwrap();
        stca2_engine::verdict::judged(
            stca2_report::ProbeIdentity::new("shop-0042"),
            "lab",
            at,
            at,
            set(O::Stca2, O::ClientAuth, O::Stca2, O::ClientAuth),
            &stca2_engine::verdict::Context::default(),
        )
    }

    fn system(secs: i64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(secs as u64)
    }

    #[test]
    fn names_sort_as_time_and_parse_back() {
        let a = report_at(999);
        let b = report_at(1_700_000_000);
        assert!(entry_name(&a) < entry_name(&b));
        let e = Entry {
            name: entry_name(&b),
            bytes: 0,
        };
        assert_eq!(e.started_ms(), Some(1_700_000_000_000));
        assert_eq!(e.report_id(), b.report_id);
    }

    #[test]
    fn oldest_first_and_bounded_by_bytes_with_a_persisted_count() {
        let dir = tempfile::tempdir().unwrap();
        let one = serde_json::to_vec(&report_at(0)).unwrap().len() as u64 + 40;
        let mut spool = Spool::open(dir.path(), one * 3, Duration::from_secs(1 << 40)).unwrap();
        let mut ids = Vec::new();
        // Written out of order: listed in time order.
        for t in [1_000, 3_000, 2_000] {
            let mut r = report_at(t);
            spool.put(&mut r, system(3_000)).unwrap();
            ids.push((t, r.report_id));
        }
        let listed = ids_of(&spool);
        assert_eq!(
            listed,
            vec![ids[0].1.clone(), ids[2].1.clone(), ids[1].1.clone()]
        );
        assert!(spool.stats().unwrap().bytes <= one * 3);
        // A fourth report: the oldest (t=1000) goes, is counted, and the
        // new report carries the count.
        let mut r = report_at(4_000);
        spool.put(&mut r, system(4_000)).unwrap();
        assert_eq!(r.probe.spool_dropped, Some(1));
        let listed = ids_of(&spool);
        assert_eq!(listed.len(), 3);
        assert_eq!(listed[0], ids[2].1);
        // The count survives a restart, and the written entry holds it.
        drop(spool);
        let reopened = Spool::open(dir.path(), one * 3, Duration::from_secs(1 << 40)).unwrap();
        assert_eq!(reopened.dropped(), 1);
        let last = reopened.list().unwrap().pop().unwrap();
        let stored: Report = serde_json::from_slice(&reopened.read(&last).unwrap()).unwrap();
        assert_eq!(stored.probe.spool_dropped, Some(1));
    }

    #[test]
    fn bounded_by_age_and_temporary_files_are_cleaned() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join(".x.json.1.tmp"), b"half").unwrap();
        let mut spool = Spool::open(dir.path(), 1 << 30, Duration::from_secs(100)).unwrap();
        assert!(!dir.path().join(".x.json.1.tmp").exists());
        spool.put(&mut report_at(1_000), system(1_000)).unwrap();
        spool.put(&mut report_at(1_050), system(1_050)).unwrap();
        // At t=1120 the first is 120 s old: dropped; the second stays.
        let mut r = report_at(1_120);
        spool.put(&mut r, system(1_120)).unwrap();
        assert_eq!(spool.dropped(), 1);
        assert_eq!(spool.stats().unwrap().reports, 2);
    }

    #[test]
    fn a_spool_unusable_at_start_counts_reports_and_recovers() {
        let dir = tempfile::tempdir().unwrap();
        // A file where the folder should be: nothing can be created.
        let blocked = dir.path().join("mnt");
        fs::write(&blocked, "").unwrap();
        let path = blocked.join("spool");
        assert!(Spool::open(&path, 1 << 30, Duration::from_secs(1 << 30)).is_err());
        let mut spool = Spool::open_degraded(&path, 1 << 30, Duration::from_secs(1 << 30)).unwrap();
        assert!(spool.list().is_err() && spool.stats().is_err());
        assert!(spool.put(&mut report_at(1), system(1)).is_err());
        assert!(spool.put(&mut report_at(2), system(2)).is_err());
        assert_eq!(spool.dropped(), 2);
        // The mount appears: the next put opens the folder and says so.
        fs::remove_file(&blocked).unwrap();
        let mut r = report_at(3);
        spool.put(&mut r, system(3)).unwrap();
        assert_eq!(r.probe.spool_dropped, Some(2));
        assert_eq!(spool.list().unwrap().len(), 1);
        assert_eq!(fs::read_to_string(path.join(DROPPED_FILE)).unwrap(), "2\n");
        // Locked by another: refused even in degraded mode.
        let e = Spool::open_degraded(&path, 1 << 30, Duration::from_secs(1)).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::WouldBlock);
    }

    #[test]
    fn one_spool_one_writer() {
        let dir = tempfile::tempdir().unwrap();
        let first = Spool::open(dir.path(), 1 << 30, Duration::from_secs(60)).unwrap();
        let e = Spool::open(dir.path(), 1 << 30, Duration::from_secs(60)).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::WouldBlock);
        assert!(e.to_string().contains("another stca2-probe daemon"), "{e}");
        drop(first);
        Spool::open(dir.path(), 1 << 30, Duration::from_secs(60)).unwrap();
    }

    #[test]
    fn remove_and_quarantine() {
        let dir = tempfile::tempdir().unwrap();
        let mut spool = Spool::open(dir.path(), 1 << 30, Duration::from_secs(1 << 30)).unwrap();
        for t in 1..=3 {
            spool.put(&mut report_at(t), system(3)).unwrap();
        }
        let entries = spool.list().unwrap();
        spool.quarantine(&entries[1], "422 invalid_report").unwrap();
        spool.remove(&entries[..1]).unwrap();
        spool.remove(&entries[..1]).unwrap(); // already gone: fine
        let stats = spool.stats().unwrap();
        assert_eq!((stats.reports, stats.quarantined), (1, 1));
        let why = dir
            .path()
            .join(QUARANTINE_DIR)
            .join(format!("{}.why", entries[1].name));
        assert_eq!(fs::read_to_string(why).unwrap(), "422 invalid_report");
        // Bounded: past the cap, the oldest go, with their .why.
        spool.put(&mut report_at(4), system(4)).unwrap();
        let entries = spool.list().unwrap();
        spool.quarantine_within(&entries[0], "a", 2).unwrap();
        spool.quarantine_within(&entries[1], "b", 2).unwrap();
        let mut left: Vec<String> = fs::read_dir(dir.path().join(QUARANTINE_DIR))
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        left.sort();
        let newest: Vec<&str> = entries.iter().map(|e| e.name.as_str()).collect();
        assert_eq!(
            left,
            [
                newest[0].to_string(),
                format!("{}.why", newest[0]),
                newest[1].to_string(),
                format!("{}.why", newest[1]),
            ]
        );
    }

    #[test]
    fn an_unwritable_spool_counts_the_report_and_recovers() {
        let dir = tempfile::tempdir().unwrap();
        let mut spool = Spool::open(dir.path(), 1 << 30, Duration::from_secs(1 << 30)).unwrap();
        // The folder disappears (as a read-only or vanished mount would fail).
        let moved = dir.path().with_extension("moved");
        fs::rename(dir.path(), &moved).unwrap();
        assert!(spool.put(&mut report_at(1), system(1)).is_err());
        assert_eq!(spool.dropped(), 1);
        fs::rename(&moved, dir.path()).unwrap();
        let mut r = report_at(2);
        spool.put(&mut r, system(2)).unwrap();
        assert_eq!(r.probe.spool_dropped, Some(1));
        assert_eq!(
            fs::read_to_string(dir.path().join(DROPPED_FILE)).unwrap(),
            "1\n"
        );
    }
}
