//! Pretrained GloVe word vectors (Pennington, Socher and Manning, 2014) to start chapter 9's embedding
//! layer from, read from `<data root>/glove/glove.6B.50d.aclImdb-vocab.txt.gz` (raw or `.gz`): one line
//! per word, `word v1 .. vd`, separated by single spaces.
//!
//! Every line is checked — the field count, each number, finiteness, the same dimension on every line,
//! no word twice — and a rejected line names the file, the 1-based line and the field: a shifted or
//! half-written line read leniently would put a wrong vector under a word, and nothing downstream
//! would notice.

use super::root::{data_root, find};
use super::text::{Vocab, PAD};
use crate::error::{Error, Result};
use nalgebra::DMatrix;
use rand::Rng as _;
use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read};
use std::path::Path;

/// The file's name under `<data root>/glove/` (found raw or with `.gz`).
pub const FILE: &str = "glove.6B.50d.aclImdb-vocab.txt";

const HINT: &str =
    "the GloVe file ships in the project's shared data folder (shared/data/glove/); \
point ZERODL_DATA at the folder holding glove/, e.g. ZERODL_DATA=../shared/data (the official \
glove.6B.50d.txt from https://nlp.stanford.edu/projects/glove/ reads too, saved under this name)";

/// The vectors in one flat buffer rather than one `Vec` per word: 62,596 small allocations would cost
/// more than the numbers, and a row is a slice either way.
#[derive(Clone, Debug, PartialEq)]
pub struct Glove {
    pub dim: usize,
    /// Word -> row of `vectors`, rows in file order.
    pub words: HashMap<String, usize>,
    /// Row-major, `words.len() x dim`.
    pub vectors: Vec<f32>,
}

impl Glove {
    pub fn len(&self) -> usize {
        self.words.len()
    }

    pub fn is_empty(&self) -> bool {
        self.words.is_empty()
    }

    pub fn vector(&self, word: &str) -> Option<&[f32]> {
        self.words
            .get(word)
            .map(|&row| &self.vectors[row * self.dim..(row + 1) * self.dim])
    }
}

/// Load the file from `<data root>/glove`.
pub fn load() -> Result<Glove> {
    load_from(&data_root().join("glove"))
}

pub fn load_from(dir: &Path) -> Result<Glove> {
    read(&find(dir, FILE, "GloVe", HINT)?)
}

/// Read a GloVe text file (a `.gz` name is decompressed).
pub fn read(path: &Path) -> Result<Glove> {
    let file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    let name = path.display().to_string();
    if path.extension().is_some_and(|e| e == "gz") {
        parse(flate2::read::MultiGzDecoder::new(file), &name)
    } else {
        parse(file, &name)
    }
}

/// Offending text is quoted (so stray bytes show) and cut short.
fn shown(field: &[u8]) -> String {
    const MAX: usize = 40;
    let text = String::from_utf8_lossy(field);
    if text.chars().count() > MAX {
        let cut: String = text.chars().take(MAX).collect();
        format!("{cut:?}...")
    } else {
        format!("{text:?}")
    }
}

/// [`read`] on uncompressed text from anywhere; `name` stands for the file in error messages.
///
/// Fields are numbered from 1: field 1 is the word, fields 2..=d+1 its numbers. Lines may end in LF or
/// CRLF; empty lines are skipped. The dimension is set by the first line.
pub fn parse(input: impl Read, name: &str) -> Result<Glove> {
    let format = |line: u64, msg: String| Error::Format {
        path: name.to_string(),
        msg: format!("line {line}: {msg}"),
    };
    let mut input = BufReader::with_capacity(1 << 16, input);
    let mut words: HashMap<String, usize> = HashMap::new();
    let mut first_line: Vec<u64> = Vec::new();
    let mut vectors: Vec<f32> = Vec::new();
    let mut dim: Option<usize> = None;
    let mut buf = Vec::new();
    let mut line = 0u64;
    loop {
        buf.clear();
        let n = input
            .read_until(b'\n', &mut buf)
            .map_err(|e| match e.kind() {
                std::io::ErrorKind::InvalidInput
                | std::io::ErrorKind::InvalidData
                | std::io::ErrorKind::UnexpectedEof => Error::Format {
                    path: name.to_string(),
                    msg: format!("after line {line}: the data cannot be decompressed: {e}"),
                },
                _ => Error::io(name, e),
            })?;
        if n == 0 {
            break;
        }
        line += 1;
        let mut text: &[u8] = &buf;
        if let Some(t) = text.strip_suffix(b"\n") {
            text = t;
        }
        if let Some(t) = text.strip_suffix(b"\r") {
            text = t;
        }
        if text.is_empty() {
            continue;
        }
        let fields: Vec<&[u8]> = text.split(|&b| b == b' ').collect();
        let count = fields.len();
        let d = match dim {
            Some(d) => d,
            None => {
                if count < 2 {
                    return Err(format(
                        line,
                        format!(
                            "{count} field, expected a word and its numbers (this first line sets the dimension)"
                        ),
                    ));
                }
                dim = Some(count - 1);
                count - 1
            }
        };
        if count != d + 1 {
            return Err(format(
                line,
                format!(
                    "{count} fields (the word and {} numbers), expected {} (the word and the {d} numbers of every line since line {})",
                    count.saturating_sub(1),
                    d + 1,
                    first_line.first().copied().unwrap_or(line)
                ),
            ));
        }
        let word = std::str::from_utf8(fields[0])
            .ok()
            .filter(|w| !w.is_empty())
            .ok_or_else(|| {
                format(
                    line,
                    format!(
                        "field 1 (the word): {} is not a UTF-8 word",
                        shown(fields[0])
                    ),
                )
            })?;
        if let Some(&row) = words.get(word) {
            return Err(format(
                line,
                format!(
                    "field 1 (the word): {} already has a vector, on line {}",
                    shown(fields[0]),
                    first_line[row]
                ),
            ));
        }
        for (k, field) in fields[1..].iter().enumerate() {
            let value: f32 = std::str::from_utf8(field)
                .ok()
                .and_then(|s| s.parse().ok())
                .ok_or_else(|| {
                    format(
                        line,
                        format!(
                            "field {} (number {} of {d}): {} is not a number",
                            k + 2,
                            k + 1,
                            shown(field)
                        ),
                    )
                })?;
            if !value.is_finite() {
                return Err(format(
                    line,
                    format!(
                        "field {} (number {} of {d}): {} is not a finite f32",
                        k + 2,
                        k + 1,
                        shown(field)
                    ),
                ));
            }
            vectors.push(value);
        }
        words.insert(word.to_string(), first_line.len());
        first_line.push(line);
    }
    let Some(dim) = dim else {
        return Err(Error::Format {
            path: name.to_string(),
            msg: "no vectors: the file is empty (expected lines `word v1 .. vd`)".to_string(),
        });
    };
    Ok(Glove {
        dim,
        words,
        vectors,
    })
}

/// What the vocabulary's words without a pretrained vector (and `<unk>`) start from.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Oov {
    /// All zeros: such a word adds nothing to the input until training moves it.
    Zeros,
    /// `U(-a, a)`, drawn row by row in id order from `crate::rng::seeded(seed)`, so that the same seed
    /// gives the same matrix; distinct vectors let the model tell rare words apart from the first step.
    /// An `a` that is not a positive finite number gives zeros, as `Init::Uniform` does.
    Uniform { a: f32, seed: u64 },
}

/// The `V x dim` starting matrix of an embedding layer: row `i` is the GloVe vector of the vocabulary's
/// word `i`, or the [`Oov`] vector when GloVe has none; `<pad>` is always zeros, so that padding
/// contributes nothing to a sum or mean over positions. Also returns how many of the vocabulary's
/// words (not counting `<pad>` and `<unk>`) had no GloVe vector.
pub fn embedding_matrix(vocab: &Vocab, glove: &Glove, oov: Oov) -> (DMatrix<f32>, usize) {
    let dim = glove.dim;
    let mut m = DMatrix::zeros(vocab.len(), dim);
    let mut rng = match oov {
        Oov::Uniform { seed, .. } => Some(crate::rng::seeded(seed)),
        Oov::Zeros => None,
    };
    let mut missing = 0;
    for (id, word) in vocab.words().iter().enumerate() {
        if id as u32 == PAD {
            continue;
        }
        let special = id as u32 == super::text::UNK;
        match glove.vector(word).filter(|_| !special) {
            Some(v) => {
                for (j, &x) in v.iter().enumerate() {
                    m[(id, j)] = x;
                }
            }
            None => {
                if !special {
                    missing += 1;
                }
                if let (Oov::Uniform { a, .. }, Some(rng)) = (oov, rng.as_mut()) {
                    if a > 0.0 && a.is_finite() {
                        for j in 0..dim {
                            m[(id, j)] = rng.random_range(-a..a);
                        }
                    }
                }
            }
        }
    }
    (m, missing)
}
