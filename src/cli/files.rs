//! Output files on disk: each written whole or not at all (through a
//! temporary file renamed into place), and an advisory lock per output
//! directory so that two processes never write the same files.
//!
//! Temporary files are named `.<name>.goodhart-tmp-<pid>` and lock files
//! `.<name>.goodhart-lock`: names only this tool creates, so clean-up can
//! never delete a file of the user's. Interrupted (Ctrl-C, SIGTERM), the
//! process removes the temporary files it is writing before it exits
//! ([`remove_temporaries_on_interrupt`]).

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, anyhow};

/// The temporary files this process is writing now, for the interrupt
/// handler to remove.
static WRITING: std::sync::Mutex<Vec<PathBuf>> = std::sync::Mutex::new(Vec::new());

fn writing() -> std::sync::MutexGuard<'static, Vec<PathBuf>> {
    WRITING.lock().unwrap_or_else(|e| e.into_inner())
}

/// On Ctrl-C or SIGTERM, removes the temporary files being written, then
/// exits with 130 (the shell's code for an interrupt): an interrupted run
/// leaves its outputs as they were before it started, and no hidden file
/// (a long time series can grow to gigabytes). Call once, at start-up.
pub fn remove_temporaries_on_interrupt() {
    let _ = ctrlc::set_handler(|| {
        // The list stays locked until the process is gone, so that no
        // temporary file is created after it was emptied.
        let mut list = writing();
        for tmp in list.drain(..) {
            let _ = fs::remove_file(tmp);
        }
        // Not eprintln!: with stderr closed (`goodhart serve 2>&1 | head`) it
        // would panic in this thread and the process would never exit.
        let _ = writeln!(std::io::stderr(), "goodhart: interrupted; the files it was writing were removed");
        std::process::exit(130);
    });
}

/// A file written through a temporary file in the same directory and
/// renamed into place by [`AtomicFile::commit`]. Dropped without a
/// successful commit (an error, a failed flush or rename), it deletes the
/// temporary file. A killed process cannot: the next writer that owns the
/// directory removes such leftovers ([`remove_stale_temporaries`]).
pub struct AtomicFile {
    path: PathBuf,
    tmp: PathBuf,
    w: Option<Hashing>,
    committed: bool,
}

/// A buffered file writer that digests what it writes (for `run.json`'s
/// list of the files a run wrote).
pub struct Hashing {
    inner: std::io::BufWriter<fs::File>,
    digest: goodhart::io::digest::Fnv64,
}

impl Write for Hashing {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.digest.update(&buf[..n]);
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

impl AtomicFile {
    /// Starts writing `path`.
    pub fn create(path: &Path) -> anyhow::Result<AtomicFile> {
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("out");
        let tmp = path.with_file_name(temporary_name(name, std::process::id()));
        // Created and listed under one lock: an interrupt either comes
        // first (and nothing is created) or finds the file listed.
        let f = {
            let mut list = writing();
            let f = fs::File::create(&tmp).with_context(|| format!("cannot write {}", path.display()))?;
            list.push(tmp.clone());
            f
        };
        let w = Hashing { inner: std::io::BufWriter::new(f), digest: Default::default() };
        Ok(AtomicFile { path: path.to_path_buf(), tmp, w: Some(w), committed: false })
    }

    /// Where to write the contents.
    pub fn writer(&mut self) -> &mut Hashing {
        self.w.as_mut().expect("an uncommitted file has its writer")
    }

    /// Flushes the contents to disk and renames the file into place;
    /// returns the digest of what was written.
    pub fn commit(mut self) -> anyhow::Result<String> {
        let mut w = self.w.take().expect("committed once");
        let done = w.flush().and_then(|()| w.inner.get_ref().sync_all());
        let digest = w.digest.hex();
        drop(w);
        done.with_context(|| format!("cannot write {}", self.path.display()))?;
        fs::rename(&self.tmp, &self.path).with_context(|| format!("cannot write {}", self.path.display()))?;
        self.committed = true;
        Ok(digest)
    }
}

impl Drop for AtomicFile {
    fn drop(&mut self) {
        writing().retain(|t| t != &self.tmp);
        if !self.committed {
            drop(self.w.take());
            let _ = fs::remove_file(&self.tmp);
        }
    }
}

/// What marks a temporary output file: `.<name>.goodhart-tmp-<pid>`.
const TMP_MARK: &str = ".goodhart-tmp-";

/// The temporary file process `pid` writes `name` through.
fn temporary_name(name: &str, pid: u32) -> String {
    format!(".{name}{TMP_MARK}{pid}")
}

/// Whether `name` is a temporary file of this tool (of any process).
fn is_temporary(name: &str) -> bool {
    name.starts_with('.')
        && name
            .rsplit_once(TMP_MARK)
            .is_some_and(|(stem, pid)| stem.len() > 1 && !pid.is_empty() && pid.bytes().all(|b| b.is_ascii_digit()))
}

/// Removes temporary files a killed earlier run left in `dir` and its
/// `charts/`; call it only while holding the directory's exclusive lock
/// (no other writer).
pub fn remove_stale_temporaries(dir: &Path) {
    for d in [dir.to_path_buf(), dir.join("charts")] {
        let Ok(entries) = fs::read_dir(&d) else { continue };
        for e in entries.flatten() {
            let name = e.file_name();
            if is_temporary(&name.to_string_lossy()) && e.file_type().is_ok_and(|t| t.is_file()) {
                let _ = fs::remove_file(e.path());
            }
        }
    }
}

/// Removes an earlier run's report: `report.html` and the charts this tool
/// draws (`charts/*.svg`, `charts/*.png`; the folder too if that empties
/// it). A run does this before it writes anything, so that a report in the
/// folder is always the one of the run its `run.json` records.
pub fn remove_report(dir: &Path) -> anyhow::Result<()> {
    remove_if_present(&dir.join("report.html"))?;
    let charts = dir.join("charts");
    let Ok(entries) = fs::read_dir(&charts) else { return Ok(()) };
    for e in entries.flatten() {
        let path = e.path();
        let drawn = path.extension().is_some_and(|x| x == "svg" || x == "png");
        if drawn && e.file_type().is_ok_and(|t| t.is_file()) {
            remove_if_present(&path)?;
        }
    }
    // Only if empty: anything else in it is not this tool's.
    let _ = fs::remove_dir(&charts);
    Ok(())
}

/// Removes an output an earlier run left that this one does not write, so
/// that a folder never mixes two runs; absent is fine.
pub fn remove_if_present(path: &Path) -> anyhow::Result<()> {
    match fs::remove_file(path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(anyhow!("cannot remove {}: {e}", path.display())),
        _ => Ok(()),
    }
}

/// The text of an earlier output, `None` if there is none. Unreadable or
/// not UTF-8 text (a damaged file) is an error naming the file and the
/// line, never taken for absent: that would discard what the file holds.
pub fn read_text_if_present(path: &Path) -> anyhow::Result<Option<String>> {
    let bytes = match fs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(anyhow!("cannot read {}: {e}", path.display())),
    };
    String::from_utf8(bytes).map(Some).map_err(|e| {
        let at = e.utf8_error().valid_up_to();
        let line = 1 + e.as_bytes()[..at].iter().filter(|&&b| b == b'\n').count();
        anyhow!("{}: line {line} is not UTF-8 text (the file is damaged)", path.display())
    })
}

/// Writes `bytes` to `path` whole or not at all; returns their digest.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> anyhow::Result<String> {
    write_atomic_with(path, |w| w.write_all(bytes))
}

/// Writes through a temporary file in the same directory, then renames it
/// into place, so a crash never leaves a half-written output.
pub fn write_atomic_with(path: &Path, f: impl FnOnce(&mut Hashing) -> std::io::Result<()>) -> anyhow::Result<String> {
    let mut file = AtomicFile::create(path)?;
    f(file.writer()).with_context(|| format!("cannot write {}", path.display()))?;
    file.commit()
}

/// An advisory lock, held until dropped. The operating system releases it
/// when the process ends, however it ends, so a crash never leaves a
/// directory locked.
#[must_use = "the lock is released when dropped"]
pub struct Lock {
    _file: fs::File,
}

/// Who else may write into a directory while a lock is held.
#[derive(Clone, Copy, PartialEq)]
pub enum Sharing {
    /// Nobody: a run, a comparison, a report or a merge owns the directory.
    Exclusive,
    /// The shards of a sweep, each of which also locks its own part file.
    Shared,
}

/// Locks the output directory `dir`, or fails with a one-line message if
/// another process holds it. The lock is on the directory itself (no lock
/// file is left in it); where a directory cannot be opened as a file
/// (Windows), on `.goodhart.lock` inside it.
pub fn lock_dir(dir: &Path, sharing: Sharing) -> anyhow::Result<Lock> {
    let handle = fs::File::open(dir)
        .or_else(|_| fs::OpenOptions::new().create(true).truncate(false).write(true).open(dir.join(".goodhart.lock")));
    let file = handle.with_context(|| format!("cannot lock {}", dir.display()))?;
    lock(file, sharing).map_err(|e| match e {
        Refused::Held => anyhow!(
            "{}: another goodhart process is writing into this directory; wait for it to finish or use another --out",
            dir.display()
        ),
        Refused::Io(e) => anyhow!("cannot lock {}: {e}", dir.display()),
    })
}

/// Locks the output file `file` (through `.<name>.goodhart-lock` beside
/// it, since the file itself is replaced by renames), or fails with a
/// one-line message if another process holds it.
pub fn lock_file(file: &Path) -> anyhow::Result<Lock> {
    let name = file.file_name().and_then(|n| n.to_str()).unwrap_or("out");
    let path = file.with_file_name(format!(".{name}.goodhart-lock"));
    let handle = fs::OpenOptions::new().create(true).truncate(false).write(true).open(&path);
    let handle = handle.with_context(|| format!("cannot lock {}", path.display()))?;
    lock(handle, Sharing::Exclusive).map_err(|e| match e {
        Refused::Held => anyhow!(
            "{}: another goodhart process is writing this file (it holds {}); wait for it to finish",
            file.display(),
            path.display()
        ),
        Refused::Io(e) => anyhow!("cannot lock {}: {e}", path.display()),
    })
}

/// Why a lock was not taken.
enum Refused {
    /// Another process holds it.
    Held,
    /// The system could not lock the file.
    Io(std::io::Error),
}

/// Takes the lock on an open file without waiting.
fn lock(file: fs::File, sharing: Sharing) -> Result<Lock, Refused> {
    try_lock(&file, sharing)?;
    Ok(Lock { _file: file })
}

/// `flock`: advisory, per open file, released by the system when the
/// process ends.
#[cfg(unix)]
fn try_lock(file: &fs::File, sharing: Sharing) -> Result<(), Refused> {
    use rustix::fs::{FlockOperation, flock};
    let op = match sharing {
        Sharing::Exclusive => FlockOperation::NonBlockingLockExclusive,
        Sharing::Shared => FlockOperation::NonBlockingLockShared,
    };
    match flock(file, op) {
        Ok(()) => Ok(()),
        Err(e) if e == rustix::io::Errno::WOULDBLOCK => Err(Refused::Held),
        Err(e) => Err(Refused::Io(e.into())),
    }
}

/// Elsewhere no lock is taken: keeping one writer per directory is then
/// the user's to do.
#[cfg(not(unix))]
fn try_lock(_: &fs::File, _: Sharing) -> Result<(), Refused> {
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("goodhart-files-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&d);
        fs::create_dir_all(&d).unwrap();
        d
    }

    #[test]
    fn clean_up_deletes_only_this_tools_temporary_files() {
        let d = scratch("clean");
        let ours = temporary_name("timeseries.csv", 4242);
        let theirs =
            [".notes.tmp-1", "summary.csv.goodhart-tmp-1", ".x.goodhart-tmp-12a", ".goodhart-tmp-1", "keep.csv"];
        for name in theirs.iter().copied().chain([ours.as_str()]) {
            fs::write(d.join(name), b"x").unwrap();
        }
        // A chart being written when a run was killed, beside a user's file.
        fs::create_dir_all(d.join("charts")).unwrap();
        fs::write(d.join("charts").join(temporary_name("ranks.png", 7)), b"x").unwrap();
        fs::write(d.join("charts").join("notes.txt"), b"x").unwrap();
        remove_stale_temporaries(&d);
        let names = |dir: &Path| -> Vec<String> {
            let mut v: Vec<String> =
                fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
            v.sort();
            v
        };
        let mut want: Vec<String> = theirs.iter().map(|s| s.to_string()).chain(["charts".to_string()]).collect();
        want.sort();
        assert_eq!(names(&d), want);
        assert_eq!(names(&d.join("charts")), ["notes.txt"]);
        let _ = fs::remove_dir_all(&d);
    }

    #[test]
    fn an_older_report_goes_but_other_files_in_charts_stay() {
        let d = scratch("report");
        fs::create_dir_all(d.join("charts")).unwrap();
        for f in ["report.html", "charts/ranks.svg", "charts/ranks.png", "summary.csv"] {
            fs::write(d.join(f), b"x").unwrap();
        }
        remove_report(&d).unwrap();
        assert!(!d.join("report.html").exists() && !d.join("charts").exists() && d.join("summary.csv").exists());
        fs::create_dir_all(d.join("charts")).unwrap();
        fs::write(d.join("charts/mine.txt"), b"x").unwrap();
        fs::write(d.join("charts/ranks.svg"), b"x").unwrap();
        remove_report(&d).unwrap();
        assert!(d.join("charts/mine.txt").exists() && !d.join("charts/ranks.svg").exists());
        let _ = fs::remove_dir_all(&d);
    }

    #[test]
    fn an_uncommitted_file_leaves_nothing_and_a_committed_one_replaces_the_old() {
        let d = scratch("atomic");
        let path = d.join("out.csv");
        fs::write(&path, b"old").unwrap();
        let mut f = AtomicFile::create(&path).unwrap();
        f.writer().write_all(b"half").unwrap();
        drop(f);
        assert_eq!(fs::read(&path).unwrap(), b"old");
        write_atomic(&path, b"new").unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"new");
        assert_eq!(fs::read_dir(&d).unwrap().count(), 1, "a temporary file is left");
        let _ = fs::remove_dir_all(&d);
    }

    #[test]
    fn a_second_writer_is_refused_until_the_first_lets_go() {
        let d = scratch("lock");
        let first = lock_dir(&d, Sharing::Exclusive).unwrap();
        let e = lock_dir(&d, Sharing::Exclusive).err().unwrap().to_string();
        assert!(e.contains("another goodhart process is writing into this directory"), "{e}");
        assert!(lock_dir(&d, Sharing::Shared).is_err());
        drop(first);
        // Shards share the directory, each with its own part file.
        let a = lock_dir(&d, Sharing::Shared).unwrap();
        let _b = lock_dir(&d, Sharing::Shared).unwrap();
        assert!(lock_dir(&d, Sharing::Exclusive).is_err(), "a merge must wait for the shards");
        let part = d.join("part-1-of-2.csv");
        let p1 = lock_file(&part).unwrap();
        let e = lock_file(&part).err().unwrap().to_string();
        assert!(e.contains("another goodhart process is writing this file"), "{e}");
        let _other = lock_file(&d.join("part-2-of-2.csv")).unwrap();
        drop((a, p1));
        let _ = fs::remove_dir_all(&d);
    }
}
