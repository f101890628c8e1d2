//! The Large Movie Review Dataset (Maas et al., ACL 2011) for chapter 9's sentiment models: 25,000
//! training and 25,000 test reviews, half positive and half negative, read straight from
//! `<data root>/imdb/aclImdb-labeled.tar.gz` (or an uncompressed `.tar`).
//!
//! The archive is streamed rather than unpacked: 50,000 small files would take longer to write to
//! disk than to decompress, and the data folder is read-only. Every review is checked on the way — the
//! file name `<id>_<rating>.txt`, a rating that agrees with its folder (`pos` 7..10, `neg` 1..4),
//! UTF-8, no id twice — and the four folders must hold exactly the expected count, because a model
//! trained on a silently short or mislabelled split gives numbers that cannot be compared with the
//! book's. Errors name the archive, the entry and the field.
//!
//! A damaged archive must fail with an error, not a panic, and must not make us allocate what its
//! headers claim: entries are read through a cap ([`MAX_REVIEW_BYTES`]), and the tar crate itself
//! reads long names and extension headers only as far as bytes are actually there.

use super::root::{data_root, find};
use super::text::{Vocab, VocabOptions};
use crate::error::{Error, Result};
use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read};
use std::path::Path;

/// The archive's name under `<data root>/imdb/` (a plain `aclImdb-labeled.tar` is read too).
pub const ARCHIVE: &str = "aclImdb-labeled.tar.gz";
/// Reviews in each of `train/pos`, `train/neg`, `test/pos`, `test/neg`.
pub const PER_FOLDER: usize = 12_500;
/// The longest real review is under 14 KB; an entry claiming more than this is not a review, and the
/// cap bounds what one entry can make us allocate.
pub const MAX_REVIEW_BYTES: u64 = 1 << 20;

const HINT: &str = "the IMDB archive ships in the project's shared data folder (shared/data/imdb/); \
point ZERODL_DATA at the folder holding imdb/, e.g. ZERODL_DATA=../shared/data (the official \
aclImdb_v1.tar.gz from https://ai.stanford.edu/~amaas/data/sentiment/ reads too, saved under this name)";

const TOP: &str = "aclImdb";
const SPLITS: [&str; 2] = ["train", "test"];
const LABELS: [&str; 2] = ["neg", "pos"];

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Review {
    /// The text as in the file, `<br />` tags and all: cleaning is the tokenizer's job, so that the
    /// raw text stays available for display.
    pub text: String,
    pub positive: bool,
    /// The reviewer's 1..10 score: 7..10 for positive reviews, 1..4 for negative ones.
    pub rating: u8,
    /// The number in the file name, unique within its folder (the same id appears in both labels).
    pub id: u32,
}

/// Both splits, each sorted by `(positive, id)`: all negative reviews by id, then all positive ones by
/// id. The archive's own order is not used, so that the same data gives the same order whoever packed
/// it; shuffle before training, since the sorted order puts all of one class first.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Imdb {
    pub train: Vec<Review>,
    pub test: Vec<Review>,
}

impl Imdb {
    /// The vocabulary of the training reviews only (see [`Vocab`] for why never the test reviews).
    pub fn vocab(&self, options: VocabOptions) -> Result<Vocab> {
        Vocab::build(self.train.iter().map(|r| r.text.as_str()), options)
    }
}

/// Load the archive from `<data root>/imdb`.
pub fn load() -> Result<Imdb> {
    load_from(&data_root().join("imdb"))
}

pub fn load_from(dir: &Path) -> Result<Imdb> {
    let tar = ARCHIVE.trim_end_matches(".gz");
    read(&find(dir, tar, "IMDB", HINT)?)
}

/// Read an archive holding `aclImdb/{train,test}/{pos,neg}/<id>_<rating>.txt`, 12,500 per folder;
/// gzip-compressed or not (told by its first bytes, not its name).
pub fn read(path: &Path) -> Result<Imdb> {
    read_expecting(path, PER_FOLDER)
}

/// [`read`] with another count per folder, for subsets and test fixtures.
pub fn read_expecting(path: &Path, per_folder: usize) -> Result<Imdb> {
    let file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    parse(file, &path.display().to_string(), per_folder)
}

/// [`read_expecting`] on bytes from anywhere; `name` stands for the archive in error messages.
pub fn parse(input: impl Read, name: &str, per_folder: usize) -> Result<Imdb> {
    let mut input = BufReader::with_capacity(1 << 16, input);
    let gzip = input
        .fill_buf()
        .map_err(|e| Error::io(name, e))?
        .starts_with(&[0x1f, 0x8b]);
    if gzip {
        parse_tar(flate2::read::MultiGzDecoder::new(input), name, per_folder)
    } else {
        parse_tar(input, name, per_folder)
    }
}

/// The index into `[train/neg, train/pos, test/neg, test/pos]`.
fn folder_name(folder: usize) -> String {
    format!("{TOP}/{}/{}/", SPLITS[folder / 2], LABELS[folder % 2])
}

fn parse_tar(input: impl Read, name: &str, per_folder: usize) -> Result<Imdb> {
    let format = |msg: String| Error::Format {
        path: name.to_string(),
        msg,
    };
    // Corrupt gzip or tar data surfaces as an I/O error from the decoder or the tar crate; it says
    // where reading stopped, since the crates' messages ("corrupt deflate stream") do not.
    let broken = |after: &Option<String>, e: std::io::Error| {
        let at = match after {
            Some(entry) => format!("after entry {entry}"),
            None => "before the first entry".to_string(),
        };
        format(format!(
            "not a readable tar archive (or .tar.gz): {e} ({at})"
        ))
    };
    let mut folders: [Vec<Review>; 4] = Default::default();
    // id -> file name, per folder, to name both files when an id repeats.
    let mut seen: [HashMap<u32, String>; 4] = Default::default();
    let mut archive = tar::Archive::new(input);
    let mut last: Option<String> = None;
    let entries = archive.entries().map_err(|e| broken(&last, e))?;
    for entry in entries {
        let mut entry = entry.map_err(|e| broken(&last, e))?;
        let raw = entry.path_bytes();
        let path = String::from_utf8_lossy(&raw).into_owned();
        drop(raw);
        let shown = shown(&path);
        let entry_error = |msg: String| format(format!("entry {shown}: {msg}"));
        let rel = path.strip_prefix("./").unwrap_or(&path);
        let parts: Vec<&str> = rel.split('/').collect();
        let folder = match parts.as_slice() {
            [top, split, label, ..] if *top == TOP => {
                match (
                    SPLITS.iter().position(|s| s == split),
                    LABELS.iter().position(|l| l == label),
                ) {
                    (Some(s), Some(l)) => Some(2 * s + l),
                    _ => None,
                }
            }
            _ => None,
        };
        let kind = entry.header().entry_type();
        last = Some(shown.clone());
        // Entries outside the four review folders (README, imdb.vocab, urls_*.txt, unsup/) are skipped;
        // the tar crate reads past their content without keeping it.
        let Some(folder) = folder else { continue };
        let file = match parts.as_slice() {
            [_, _, _] | [_, _, _, ""] if kind.is_dir() => continue,
            [_, _, _, file] => *file,
            _ => {
                return Err(entry_error(format!(
                    "file name: a review folder holds only <id>_<rating>.txt files, not {}",
                    match (parts.len(), kind.is_dir()) {
                        (3, _) => "a file in place of the folder itself",
                        (_, true) => "subfolders",
                        _ => "nested paths",
                    }
                )))
            }
        };
        if !(kind.is_file() || kind.is_contiguous()) {
            return Err(entry_error(format!(
                "type: {kind:?} entry where a review file (a regular file) was expected"
            )));
        }
        let (id, rating) = parse_file_name(file).map_err(&entry_error)?;
        let positive = folder % 2 == 1;
        let allowed = if positive { 7..=10 } else { 1..=4 };
        if !allowed.contains(&rating) {
            return Err(entry_error(format!(
                "field rating: {rating} does not belong in {} ({} reviews are rated {}..{})",
                folder_name(folder),
                LABELS[folder % 2],
                allowed.start(),
                allowed.end()
            )));
        }
        if let Some(other) = seen[folder].insert(id, file.to_string()) {
            return Err(entry_error(format!(
                "field id: {id} appears twice in {} (also as {})",
                folder_name(folder),
                shown_str(&other)
            )));
        }
        if folders[folder].len() == per_folder {
            return Err(entry_error(format!(
                "{} holds more than the {per_folder} reviews expected",
                folder_name(folder)
            )));
        }
        let claimed = entry.size();
        if claimed > MAX_REVIEW_BYTES {
            return Err(entry_error(format!(
                "size: {claimed} bytes, more than the {MAX_REVIEW_BYTES} a review can have"
            )));
        }
        let mut bytes = Vec::with_capacity(claimed.min(1 << 14) as usize);
        (&mut entry)
            .take(MAX_REVIEW_BYTES + 1)
            .read_to_end(&mut bytes)
            .map_err(|e| {
                entry_error(format!(
                    "content: {e} (the archive is damaged or cut short)"
                ))
            })?;
        if (bytes.len() as u64) < claimed {
            return Err(entry_error(format!(
                "content: {} bytes where the header says {claimed} (the archive is cut short)",
                bytes.len()
            )));
        }
        if bytes.len() as u64 > MAX_REVIEW_BYTES {
            return Err(entry_error(format!(
                "size: more than the {MAX_REVIEW_BYTES} bytes a review can have"
            )));
        }
        let text = String::from_utf8(bytes).map_err(|e| {
            entry_error(format!(
                "text: not valid UTF-8 (byte {})",
                e.utf8_error().valid_up_to()
            ))
        })?;
        folders[folder].push(Review {
            text,
            positive,
            rating,
            id,
        });
    }
    // The tar ends before the gzip stream does (its end blocks and record padding come first); reading
    // on to the end is what makes the decoder check the CRC and the length, so that a cut or corrupted
    // tail is not silently accepted.
    std::io::copy(&mut archive.into_inner(), &mut std::io::sink()).map_err(|e| broken(&last, e))?;
    let wrong: Vec<String> = (0..4)
        .filter(|&f| folders[f].len() != per_folder)
        .map(|f| match folders[f].len() {
            0 => format!("{} is missing (no reviews)", folder_name(f)),
            n => format!("{} has {n}", folder_name(f)),
        })
        .collect();
    if !wrong.is_empty() {
        return Err(format(format!(
            "expected {per_folder} reviews in each of the four folders, but {}",
            wrong.join(", ")
        )));
    }
    let [train_neg, train_pos, test_neg, test_pos] = folders;
    let split = |mut neg: Vec<Review>, pos: Vec<Review>| {
        neg.extend(pos);
        neg.sort_unstable_by_key(|r| (r.positive, r.id));
        neg
    };
    Ok(Imdb {
        train: split(train_neg, train_pos),
        test: split(test_neg, test_pos),
    })
}

/// `<id>_<rating>.txt` into `(id, rating)`; the rating is checked against the folder by the caller.
fn parse_file_name(file: &str) -> std::result::Result<(u32, u8), String> {
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    let (id, rating) = file
        .strip_suffix(".txt")
        .and_then(|stem| stem.split_once('_'))
        .ok_or_else(|| format!("file name: {} is not <id>_<rating>.txt", shown_str(file)))?;
    let id: u32 = Some(id)
        .filter(|s| digits(s))
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| format!("field id: {} is not a whole number", shown_str(id)))?;
    let rating: u8 = Some(rating)
        .filter(|s| digits(s))
        .and_then(|s| s.parse().ok())
        .filter(|r| (1..=10).contains(r))
        .ok_or_else(|| {
            format!(
                "field rating: {} is not a whole number 1..10",
                shown_str(rating)
            )
        })?;
    Ok((id, rating))
}

/// Names from a damaged archive can be anything: quoted, so control bytes show, and cut short.
fn shown_str(s: &str) -> String {
    const MAX: usize = 80;
    if s.chars().count() > MAX {
        let cut: String = s.chars().take(MAX).collect();
        format!("{cut:?}...")
    } else {
        format!("{s:?}")
    }
}

/// An entry path for messages: bare when it is tame (the usual case, easier to read), quoted otherwise.
fn shown(path: &str) -> String {
    let tame = path.len() <= 120
        && path
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"/._-".contains(&b));
    if tame {
        path.to_string()
    } else {
        shown_str(path)
    }
}
