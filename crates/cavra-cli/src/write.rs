//! All-or-nothing output: artifacts are rendered straight into files in a
//! fresh staging folder beside the destination, and only moved into place
//! once every one of them succeeded. On any error the staging folder is
//! removed and the destination is untouched.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use cavra_render::Written;
use sha2::{Digest, Sha256};
use tempfile::TempDir;

pub struct Staging {
    out: PathBuf,
    dir: TempDir,
    names: Vec<String>,
    syncer: Syncer,
    /// Held (locked) while this run lives; a staging folder whose owner
    /// file can be locked by someone else belongs to a run that died.
    _owner: fs::File,
}

/// How many files are flushed to disk at once.
const SYNC_THREADS: usize = 8;

/// Flushes staged files to disk in the background while the run goes on:
/// a flush waits on the device, not the processor, so several run at once
/// beside the rendering, and the commit only waits for the last ones.
struct Syncer {
    tx: Option<std::sync::mpsc::Sender<PathBuf>>,
    workers: Vec<std::thread::JoinHandle<Result<()>>>,
}

impl Syncer {
    fn start() -> Syncer {
        let (tx, rx) = std::sync::mpsc::channel::<PathBuf>();
        let rx = std::sync::Arc::new(std::sync::Mutex::new(rx));
        let workers = (0..SYNC_THREADS)
            .map(|_| {
                let rx = std::sync::Arc::clone(&rx);
                std::thread::spawn(move || -> Result<()> {
                    loop {
                        let next = rx.lock().map_err(|_| anyhow::anyhow!("a sync thread failed"))?.recv();
                        let Ok(path) = next else { return Ok(()) };
                        let file = fs::File::open(&path).with_context(|| format!("{}: cannot open", path.display()))?;
                        file.sync_all().with_context(|| format!("{}: cannot sync", path.display()))?;
                    }
                })
            })
            .collect();
        Syncer { tx: Some(tx), workers }
    }

    /// Queues a written (and closed) file to be flushed.
    fn queue(&self, path: PathBuf) {
        if let Some(tx) = &self.tx {
            // A send fails only once every worker has stopped on an error, which `finish` reports.
            let _ = tx.send(path);
        }
    }

    /// Waits until every queued file is on disk; the first failure, if any.
    fn finish(mut self) -> Result<()> {
        drop(self.tx.take());
        let mut first = Ok(());
        for w in self.workers.drain(..) {
            let r = w.join().unwrap_or_else(|_| Err(anyhow::anyhow!("a sync thread failed")));
            if first.is_ok() {
                first = r;
            }
        }
        first
    }
}

/// Name of the lock file inside a staging folder.
const OWNER: &str = ".owner";

/// Removes staging folders left beside `parent` by runs that were killed:
/// a folder whose owner lock can be taken has no live owner.
fn sweep_abandoned(parent: &Path) {
    let Ok(entries) = fs::read_dir(parent) else { return };
    for e in entries.flatten() {
        let name = e.file_name();
        if !name.to_string_lossy().starts_with(".cavra-staging-") || !e.path().is_dir() {
            continue;
        }
        let Ok(owner) = fs::OpenOptions::new().write(true).open(e.path().join(OWNER)) else { continue };
        if owner.try_lock().is_ok() {
            let _ignored = fs::remove_dir_all(e.path());
        }
    }
}

impl Staging {
    /// Creates the staging folder next to `out` (same file system, so the
    /// final moves are renames).
    pub fn new(out: &Path) -> Result<Staging> {
        if out.exists() && !out.is_dir() {
            bail!("{}: exists and is not a folder", out.display());
        }
        let parent = match out.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        fs::create_dir_all(&parent).with_context(|| format!("{}: cannot create folder", parent.display()))?;
        sweep_abandoned(&parent);
        let dir = tempfile::Builder::new()
            .prefix(".cavra-staging-")
            .tempdir_in(&parent)
            .with_context(|| format!("{}: cannot create a staging folder", parent.display()))?;
        let owner = fs::File::create(dir.path().join(OWNER))
            .and_then(|f| f.lock().map(|()| f))
            .with_context(|| format!("{}: cannot lock the staging folder", dir.path().display()))?;
        Ok(Staging { out: out.to_path_buf(), dir, names: Vec::new(), syncer: Syncer::start(), _owner: owner })
    }

    /// Writes one artifact through `render` into a staged file.
    pub fn write(
        &mut self,
        name: &str,
        render: impl FnOnce(&mut dyn Write) -> Result<Written, cavra_render::RenderError>,
    ) -> Result<Written> {
        let written = self.write_unlisted(name, render)?;
        self.list(name);
        Ok(written)
    }

    /// As [`Staging::write`] from any thread: the file is staged but moves
    /// into place only once [`Staging::list`] names it.
    pub fn write_unlisted(
        &self,
        name: &str,
        render: impl FnOnce(&mut dyn Write) -> Result<Written, cavra_render::RenderError>,
    ) -> Result<Written> {
        let path = self.dir.path().join(name);
        let file = fs::File::create(&path).with_context(|| format!("{}: cannot create", path.display()))?;
        let mut w = std::io::BufWriter::with_capacity(1 << 16, file);
        let written = render(&mut w)?;
        let file =
            w.into_inner().map_err(|e| e.into_error()).with_context(|| format!("{}: cannot write", path.display()))?;
        drop(file);
        self.syncer.queue(path);
        Ok(written)
    }

    /// Names a file written with an `_unlisted` method for the commit.
    pub fn list(&mut self, name: &str) {
        self.names.push(name.to_string());
    }

    /// Writes one artifact through `render`, which gets the staged file
    /// itself (readable and seekable, for formats that read back what they wrote).
    pub fn write_file(&mut self, name: &str, render: impl FnOnce(&mut fs::File) -> Result<Written>) -> Result<Written> {
        let written = self.write_file_unlisted(name, render)?;
        self.names.push(name.to_string());
        Ok(written)
    }

    /// As [`Staging::write_file`] from any thread (see [`Staging::list`]).
    pub fn write_file_unlisted(
        &self,
        name: &str,
        render: impl FnOnce(&mut fs::File) -> Result<Written>,
    ) -> Result<Written> {
        let path = self.dir.path().join(name);
        let mut file = fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create_new(true)
            .open(&path)
            .with_context(|| format!("{}: cannot create", path.display()))?;
        let written = render(&mut file)?;
        drop(file);
        self.syncer.queue(path);
        Ok(written)
    }

    /// Writes a small file (a signature, a public key) into the staging folder.
    pub fn write_bytes(&mut self, name: &str, bytes: &[u8]) -> Result<Written> {
        let written = self.write_bytes_unlisted(name, bytes)?;
        self.list(name);
        Ok(written)
    }

    /// As [`Staging::write_bytes`] from any thread (see [`Staging::list`]).
    pub fn write_bytes_unlisted(&self, name: &str, bytes: &[u8]) -> Result<Written> {
        let path = self.dir.path().join(name);
        fs::write(&path, bytes).with_context(|| format!("{}: cannot write", path.display()))?;
        self.syncer.queue(path);
        Ok(Written {
            name: name.to_string(),
            bytes: bytes.len() as u64,
            sha256: format!("{:x}", Sha256::digest(bytes)),
        })
    }

    /// The folder files are staged in (read them back from here before
    /// [`Staging::commit`]).
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// Opens a staged file for reading.
    pub fn open(&self, name: &str) -> Result<fs::File> {
        let path = self.dir.path().join(name);
        fs::File::open(&path).with_context(|| format!("{}: cannot read back", path.display()))
    }

    /// Moves every staged file into the destination.
    pub fn commit(self) -> Result<()> {
        self.syncer.finish()?;
        if !self.out.exists() {
            // The lock file goes first; the folder then becomes the output whole.
            fs::remove_file(self.dir.path().join(OWNER))
                .with_context(|| format!("{}: cannot remove the staging lock", self.dir.path().display()))?;
            let staged = self.dir.keep();
            return fs::rename(&staged, &self.out)
                .with_context(|| format!("{}: cannot move output into place", self.out.display()));
        }
        for name in &self.names {
            let to = self.out.join(name);
            fs::rename(self.dir.path().join(name), &to)
                .with_context(|| format!("{}: cannot move into place", to.display()))?;
        }
        Ok(())
    }
}

/// Writes `bytes` to `path` whole or not at all: a temporary file beside
/// it, synced, then renamed over it.
pub fn atomic_write(path: &Path, bytes: &[u8]) -> Result<()> {
    let parent = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let mut tmp = tempfile::Builder::new()
        .prefix(".cavra-write-")
        .tempfile_in(&parent)
        .with_context(|| format!("{}: cannot create a temporary file", parent.display()))?;
    tmp.write_all(bytes).and_then(|()| tmp.as_file().sync_all()).with_context(|| path.display().to_string())?;
    tmp.persist(path).map_err(|e| e.error).with_context(|| path.display().to_string())?;
    Ok(())
}

/// The safety gate over a document about to be written or printed: the
/// first thing it finds refuses the whole document (exit 4, nothing out).
pub fn gate_document(text: &str, what: &str) -> anyhow::Result<()> {
    match cavra_model::gate::scan_text(text).first() {
        Some(found) => Err(cavra_deliver::send::Refused {
            problems: vec![format!("the {what} would carry {}; nothing was written", found.kind.as_str())],
        }
        .into()),
        None => Ok(()),
    }
}
