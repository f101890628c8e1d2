//! Fetching a dataset for users with internet: each file streamed to a temporary file beside its
//! destination while its MD5 is computed, checked, and only then renamed into place. An interrupted,
//! stalled or corrupt download leaves nothing half-written under the real name, and no temporary file.
//!
//! Two checksums can vouch for a file: the published MD5 of the `.gz` bytes, and the MD5 of the
//! decompressed content. The second is what makes a copy that was compressed again (another compressor,
//! several gzip members, or a server or proxy that sent the body decompressed) count as the same data:
//! the `.gz` bytes differ from the publisher's while the images are identical.

use crate::error::{Error, Result};
use flate2::read::MultiGzDecoder;
use flate2::write::GzEncoder;
use md5::{Digest, Md5};
use std::fs::File;
use std::io::{BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// A file to fetch and the MD5 its publisher gives for it.
#[derive(Clone, Copy, Debug)]
pub struct Remote {
    pub name: &'static str,
    pub md5: &'static str,
}

/// The MD5 of the decompressed content of the remote file `name` (a `.gz`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Content {
    pub name: &'static str,
    pub md5: &'static str,
}

/// A widely used mirror of the original MNIST files (the original host often refuses scripted downloads).
pub const MNIST_BASE_URL: &str = "https://ossci-datasets.s3.amazonaws.com/mnist/";

/// The four MNIST files as published, with their published MD5.
pub const MNIST: [Remote; 4] = [
    Remote {
        name: "train-images-idx3-ubyte.gz",
        md5: "f68b3c2dcbeaaa9fbdd348bbdeb94873",
    },
    Remote {
        name: "train-labels-idx1-ubyte.gz",
        md5: "d53e105ee54ea40749a09fcbcd1e9432",
    },
    Remote {
        name: "t10k-images-idx3-ubyte.gz",
        md5: "9fb629c4189551a2d022fa330f9573f3",
    },
    Remote {
        name: "t10k-labels-idx1-ubyte.gz",
        md5: "ec29112dd5afa0611ce80d1b7f02629c",
    },
];

/// The MD5 of the four official raw IDX files (their SHA-256 are in the shared data folder's README).
pub const MNIST_CONTENT: [Content; 4] = [
    Content {
        name: "train-images-idx3-ubyte.gz",
        md5: "6bbc9ace898e44ae57da46a324031adb",
    },
    Content {
        name: "train-labels-idx1-ubyte.gz",
        md5: "a25bea736e30d166cdddb491f175f624",
    },
    Content {
        name: "t10k-images-idx3-ubyte.gz",
        md5: "2646ac647ad5339dbf082846283269ea",
    },
    Content {
        name: "t10k-labels-idx1-ubyte.gz",
        md5: "27ae3e4e09519cfbb04c329615203637",
    },
];

/// How patient to be with the network.
#[derive(Clone, Debug)]
pub struct Options {
    /// How long to wait for a connection.
    pub connect_timeout: Duration,
    /// How long a read may wait for the next bytes: a server that stalls mid-file fails after this
    /// instead of hanging for ever.
    pub read_timeout: Duration,
    /// Tries per file (at least 1). Only failures that may pass are tried again: a broken or stalled
    /// connection, a refused connection, a 5xx, 408 or 429. A 404 or a wrong checksum is final.
    pub attempts: u32,
    /// The wait before the second try, doubled before each later one.
    pub backoff: Duration,
    /// A progress bar per file (and a line per retry) on standard error.
    pub progress: bool,
    /// Decompressed checksums, by remote name; MNIST's by default.
    pub contents: Vec<Content>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            connect_timeout: Duration::from_secs(10),
            read_timeout: Duration::from_secs(30),
            attempts: 3,
            backoff: Duration::from_secs(1),
            progress: false,
            contents: MNIST_CONTENT.to_vec(),
        }
    }
}

/// What happened to each file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Fetched {
    Downloaded(PathBuf),
    /// Already there with the right content: the path is the `.gz`, or the decompressed file beside it.
    AlreadyThere(PathBuf),
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The MD5 of everything `r` yields.
fn md5_of(mut r: impl Read) -> std::io::Result<String> {
    let mut h = Md5::new();
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = r.read(&mut buf)?;
        if n == 0 {
            return Ok(hex(&h.finalize()));
        }
        h.update(&buf[..n]);
    }
}

fn md5_file(path: &Path) -> Result<String> {
    let f = File::open(path).map_err(|e| Error::io(path, e))?;
    md5_of(f).map_err(|e| Error::io(path, e))
}

/// The MD5 of a gzip file's decompressed content (every member), or `None` if it does not decompress.
fn content_md5(path: &Path) -> Result<Option<String>> {
    let f = File::open(path).map_err(|e| Error::io(path, e))?;
    Ok(md5_of(MultiGzDecoder::new(std::io::BufReader::new(f))).ok())
}

/// A temporary file beside its destination, removed when dropped unless committed: every early return,
/// `?` and unwinding panic between creating it and renaming it into place leaves nothing behind.
struct Part {
    path: PathBuf,
    committed: bool,
    _on_interrupt: crate::interrupt::RemoveOnInterrupt,
}

impl Part {
    fn new(path: PathBuf) -> Self {
        Part {
            _on_interrupt: crate::interrupt::RemoveOnInterrupt::new(path.clone()),
            path,
            committed: false,
        }
    }

    fn commit(mut self, dest: &Path) -> Result<()> {
        std::fs::rename(&self.path, dest).map_err(|e| Error::io(dest, e))?;
        self.committed = true;
        Ok(())
    }
}

impl Drop for Part {
    fn drop(&mut self) {
        if !self.committed {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

/// Fetch every file of `files` from `base_url` into `dir` (created if needed), with the default
/// [`Options`]. A file already there with the right content is kept. `progress` shows a bar per file on
/// standard error.
pub fn fetch(base_url: &str, dir: &Path, files: &[Remote], progress: bool) -> Result<Vec<Fetched>> {
    let options = Options {
        progress,
        ..Options::default()
    };
    fetch_with(base_url, dir, files, &options)
}

/// [`fetch`] with the timeouts, retries and checksums of `options`.
pub fn fetch_with(
    base_url: &str,
    dir: &Path,
    files: &[Remote],
    options: &Options,
) -> Result<Vec<Fetched>> {
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    let agent = ureq::AgentBuilder::new()
        .timeout_connect(options.connect_timeout)
        .timeout_read(options.read_timeout)
        .build();
    let mut out = Vec::new();
    for f in files {
        let content = options
            .contents
            .iter()
            .find(|c| c.name == f.name)
            .map(|c| c.md5);
        if let Some(found) = already_there(dir, f, content)? {
            out.push(Fetched::AlreadyThere(found));
            continue;
        }
        let url = format!("{}/{}", base_url.trim_end_matches('/'), f.name);
        let dest = dir.join(f.name);
        let part = Part::new(dir.join(format!(".{}.part-{}", f.name, std::process::id())));
        let got = download(&agent, &url, &part.path, f.name, options)?;
        // A mirror may have compressed the same content otherwise (another compressor, several members).
        let verified = got.md5 == f.md5
            || (got.gzip && content.is_some() && content_md5(&part.path)?.as_deref() == content);
        if verified {
            part.commit(&dest)?;
        } else if !got.gzip && Some(got.md5.as_str()) == content {
            // The body arrived decompressed (a server sending `Content-Encoding: gzip`, which the HTTP
            // client undoes, or a proxy that decompressed it): the content is right, and compressing it
            // again keeps the promise that a `.gz` name holds gzip.
            let gz = Part::new(dir.join(format!(".{}.gz-part-{}", f.name, std::process::id())));
            recompress(&part.path, &gz.path)?;
            gz.commit(&dest)?;
        } else {
            return Err(Error::Format {
                path: url,
                msg: format!(
                    "checksum mismatch: MD5 {}, expected {} ({} bytes{}); nothing was written",
                    got.md5,
                    f.md5,
                    got.bytes,
                    match (content, got.gzip) {
                        (Some(_), true) => ", and its decompressed content does not match either",
                        (Some(_), false) => ", not gzip, and not the expected content decompressed",
                        (None, _) => "",
                    }
                ),
            });
        }
        out.push(Fetched::Downloaded(dest));
    }
    Ok(out)
}

/// The file in `dir` that already holds `f`'s data: the `.gz` with the published checksum or the right
/// decompressed content, or the decompressed file itself (which the readers prefer when both are there).
fn already_there(dir: &Path, f: &Remote, content: Option<&str>) -> Result<Option<PathBuf>> {
    let dest = dir.join(f.name);
    if dest.is_file() {
        if md5_file(&dest)? == f.md5 {
            return Ok(Some(dest));
        }
        if content.is_some() && content_md5(&dest)?.as_deref() == content {
            return Ok(Some(dest));
        }
    }
    if let (Some(content), Some(raw)) = (content, f.name.strip_suffix(".gz")) {
        let raw = dir.join(raw);
        if raw.is_file() && md5_file(&raw)? == content {
            return Ok(Some(raw));
        }
    }
    Ok(None)
}

fn recompress(from: &Path, to: &Path) -> Result<()> {
    let mut input = File::open(from).map_err(|e| Error::io(from, e))?;
    let out = File::create(to).map_err(|e| Error::io(to, e))?;
    let mut gz = GzEncoder::new(BufWriter::new(out), flate2::Compression::default());
    std::io::copy(&mut input, &mut gz).map_err(|e| Error::io(to, e))?;
    let out = gz
        .finish()
        .and_then(|w| w.into_inner().map_err(|e| e.into_error()))
        .map_err(|e| Error::io(to, e))?;
    out.sync_all().map_err(|e| Error::io(to, e))
}

/// What one complete download received.
struct Got {
    md5: String,
    bytes: u64,
    gzip: bool,
}

/// Why an attempt failed: worth another try, or not.
enum Failure {
    Transient(String),
    Final(Error),
}

fn download(
    agent: &ureq::Agent,
    url: &str,
    tmp: &Path,
    name: &str,
    options: &Options,
) -> Result<Got> {
    let attempts = options.attempts.max(1);
    let mut wait = options.backoff;
    let mut attempt = 1;
    loop {
        match download_once(agent, url, tmp, name, options) {
            Ok(got) => return Ok(got),
            Err(Failure::Final(e)) => return Err(e),
            Err(Failure::Transient(msg)) if attempt < attempts => {
                if options.progress {
                    eprintln!("{url}: {msg}; trying again in {wait:?} ({attempt} of {attempts} tries made)");
                }
                std::thread::sleep(wait);
                wait = wait.saturating_mul(2);
                attempt += 1;
            }
            Err(Failure::Transient(msg)) => {
                return Err(Error::Format {
                    path: url.to_string(),
                    msg: format!(
                        "download failed after {attempts} {}: {msg}",
                        if attempts == 1 { "try" } else { "tries" }
                    ),
                })
            }
        }
    }
}

fn download_once(
    agent: &ureq::Agent,
    url: &str,
    tmp: &Path,
    name: &str,
    options: &Options,
) -> std::result::Result<Got, Failure> {
    let fail = |msg: String| {
        Failure::Final(Error::Format {
            path: url.to_string(),
            msg,
        })
    };
    // Asking for the file as it is stored: the bytes whose checksum is published.
    let resp = match agent.get(url).set("Accept-Encoding", "identity").call() {
        Ok(resp) => resp,
        Err(ureq::Error::Status(code, resp)) => {
            let msg = format!("HTTP {code} {}", resp.status_text());
            return Err(if code >= 500 || code == 408 || code == 429 {
                Failure::Transient(msg)
            } else {
                fail(format!("download failed: {msg}"))
            });
        }
        Err(ureq::Error::Transport(t)) => {
            use ureq::ErrorKind::*;
            let msg = t.to_string();
            return Err(match t.kind() {
                Dns | ConnectionFailed | Io | ProxyConnect => Failure::Transient(msg),
                _ => fail(format!("download failed: {msg}")),
            });
        }
    };
    // Absent when the client decompresses the body (it no longer describes what we read).
    let len: Option<u64> = resp.header("Content-Length").and_then(|v| v.parse().ok());
    let bar = if options.progress {
        let b = indicatif::ProgressBar::new(len.unwrap_or(0));
        b.set_style(
            indicatif::ProgressStyle::with_template(
                "{msg:28} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec}",
            )
            .expect("static template")
            .progress_chars("=> "),
        );
        b.set_message(name.to_string());
        b
    } else {
        indicatif::ProgressBar::hidden()
    };
    let local = |e: std::io::Error| Failure::Final(Error::io(tmp, e));
    let mut reader = resp.into_reader();
    let mut file = File::create(tmp).map_err(local)?;
    let mut h = Md5::new();
    let mut buf = vec![0u8; 1 << 16];
    let mut total: u64 = 0;
    let mut head = Vec::with_capacity(2);
    loop {
        if crate::interrupt::requested() {
            // Final, not retried; the `.part` guard removes the half-written file on the way out.
            bar.abandon();
            return Err(Failure::Final(Error::io(
                url,
                std::io::Error::new(
                    std::io::ErrorKind::Interrupted,
                    format!("stopped by Ctrl-C after {total} bytes; the partial file was removed"),
                ),
            )));
        }
        let n = match reader.read(&mut buf) {
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::TimedOut | std::io::ErrorKind::WouldBlock
                ) =>
            {
                bar.abandon();
                return Err(Failure::Transient(format!(
                    "timed out: no data for {:?} after {total} bytes",
                    options.read_timeout
                )));
            }
            Err(e) => {
                bar.abandon();
                return Err(Failure::Transient(format!(
                    "connection broke after {total} bytes: {e}"
                )));
            }
        };
        if n == 0 {
            break;
        }
        if head.len() < 2 {
            let more = (2 - head.len()).min(n);
            head.extend_from_slice(&buf[..more]);
        }
        h.update(&buf[..n]);
        file.write_all(&buf[..n]).map_err(local)?;
        total += n as u64;
        bar.set_position(total);
    }
    file.sync_all().map_err(local)?;
    bar.finish();
    if let Some(len) = len {
        if total != len {
            return Err(Failure::Transient(format!(
                "got {total} bytes of the announced {len}"
            )));
        }
    }
    Ok(Got {
        md5: hex(&h.finalize()),
        bytes: total,
        gzip: head == [0x1f, 0x8b],
    })
}
