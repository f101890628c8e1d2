//! Fetching a dataset for users with internet: each file streamed to a temporary file beside its
//! destination while its MD5 is computed, checked against the published checksum, and only then renamed into
//! place. An interrupted or corrupt download leaves nothing half-written under the real name.

use crate::error::{Error, Result};
use md5::{Digest, Md5};
use std::fs::File;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

/// A file to fetch and the MD5 its publisher gives for it.
#[derive(Clone, Copy, Debug)]
pub struct Remote {
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

/// What happened to each file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Fetched {
    Downloaded(PathBuf),
    AlreadyThere(PathBuf),
}

fn md5_file(path: &Path) -> Result<String> {
    let mut f = File::open(path).map_err(|e| Error::io(path, e))?;
    let mut h = Md5::new();
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = f.read(&mut buf).map_err(|e| Error::io(path, e))?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    Ok(hex(&h.finalize()))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Fetch every file of `files` from `base_url` into `dir` (created if needed). A file already there with the
/// right checksum is kept. `progress` shows a bar per file on standard error.
pub fn fetch(base_url: &str, dir: &Path, files: &[Remote], progress: bool) -> Result<Vec<Fetched>> {
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    let mut out = Vec::new();
    for f in files {
        let dest = dir.join(f.name);
        if dest.is_file() && md5_file(&dest)? == f.md5 {
            out.push(Fetched::AlreadyThere(dest));
            continue;
        }
        let url = format!("{}/{}", base_url.trim_end_matches('/'), f.name);
        let tmp = dir.join(format!(".{}.part-{}", f.name, std::process::id()));
        let result = fetch_one(&url, &tmp, f, progress);
        if let Err(e) = result {
            let _ = std::fs::remove_file(&tmp);
            return Err(e);
        }
        std::fs::rename(&tmp, &dest).map_err(|e| Error::io(&dest, e))?;
        out.push(Fetched::Downloaded(dest));
    }
    Ok(out)
}

fn fetch_one(url: &str, tmp: &Path, f: &Remote, progress: bool) -> Result<()> {
    let net = |msg: String| Error::Format {
        path: url.to_string(),
        msg,
    };
    let resp = ureq::get(url)
        .call()
        .map_err(|e| net(format!("download failed: {e}")))?;
    let len: Option<u64> = resp.header("Content-Length").and_then(|v| v.parse().ok());
    let bar = if progress {
        let b = indicatif::ProgressBar::new(len.unwrap_or(0));
        b.set_style(
            indicatif::ProgressStyle::with_template(
                "{msg:28} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec}",
            )
            .expect("static template")
            .progress_chars("=> "),
        );
        b.set_message(f.name);
        b
    } else {
        indicatif::ProgressBar::hidden()
    };
    let mut reader = resp.into_reader();
    let mut file = File::create(tmp).map_err(|e| Error::io(tmp, e))?;
    let mut h = Md5::new();
    let mut buf = vec![0u8; 1 << 16];
    let mut total: u64 = 0;
    loop {
        let n = reader
            .read(&mut buf)
            .map_err(|e| net(format!("connection broke after {total} bytes: {e}")))?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
        file.write_all(&buf[..n]).map_err(|e| Error::io(tmp, e))?;
        total += n as u64;
        bar.set_position(total);
    }
    file.sync_all().map_err(|e| Error::io(tmp, e))?;
    bar.finish();
    if let Some(len) = len {
        if total != len {
            return Err(net(format!("got {total} bytes of the announced {len}")));
        }
    }
    let got = hex(&h.finalize());
    if got != f.md5 {
        return Err(net(format!(
            "checksum mismatch: MD5 {got}, expected {} ({total} bytes); nothing was written",
            f.md5
        )));
    }
    Ok(())
}
