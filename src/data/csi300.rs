//! The CSI-300 index for chapter 8's price prediction: one row per trading day, read from
//! `<data root>/csi300/` (raw or `.gz`).
//!
//! Two files ship with the book. `hs300_data_seq_nodate.csv` is the one chapter 8's script trains on
//! (3,457 days, volume in units of 1e7 shares and turnover in units of 1e8 yuan, so that the three
//! features have similar magnitudes); `csi300_history_2005-2019.csv` is the dated original it was
//! rescaled from (3,442 days, raw units), kept so that the rows can be placed on a calendar. Each reader
//! returns the columns in the file's own units: rescaling silently would make the two files disagree
//! with the book's numbers.
//!
//! Both are hand-made CSVs (space padding, a trailing comma, CRLF, no final newline, scientific
//! notation in places), so every value is checked, and every rejected row names the file, the 1-based
//! line and the column: a silent NaN or a shifted column would only show up later as a loss that will
//! not go down.

use super::root::{data_root, find};
use crate::error::{Error, Result};
use std::io::Read;
use std::path::Path;

/// The file chapter 8 trains on.
pub const SEQ_FILE: &str = "hs300_data_seq_nodate.csv";
/// The dated file the training file was derived from.
pub const HISTORY_FILE: &str = "csi300_history_2005-2019.csv";
/// The training file's volume is the dated file's volume divided by this.
pub const VOLUME_SCALE: f64 = 1e7;
/// The training file's turnover is the dated file's turnover divided by this.
pub const TURNOVER_SCALE: f64 = 1e8;

const HINT: &str =
    "the CSI-300 files ship in the project's shared data folder (shared/data/csi300/); \
point ZERODL_DATA at the folder holding csi300/, e.g. ZERODL_DATA=../shared/data";

/// Columns rather than rows, because the models take whole feature columns (and normalise them one
/// column at a time); entry `i` of every column is the `i`-th trading day in file order.
#[derive(Clone, Debug, PartialEq)]
pub struct Series {
    /// The file's own day numbers, kept so that rows of the two files can be matched up.
    pub seq: Vec<u32>,
    pub close: Vec<f64>,
    pub volume: Vec<f64>,
    pub turnover: Vec<f64>,
    /// `YYYY-MM-DD`, strictly increasing; `None` for the file that has no dates.
    pub dates: Option<Vec<String>>,
}

impl Series {
    /// The number of trading days.
    pub fn len(&self) -> usize {
        self.close.len()
    }

    pub fn is_empty(&self) -> bool {
        self.close.is_empty()
    }
}

/// Load the training file from `<data root>/csi300`.
pub fn load() -> Result<Series> {
    load_from(&data_root().join("csi300"))
}

/// Load the dated file from `<data root>/csi300`.
pub fn load_history() -> Result<Series> {
    load_history_from(&data_root().join("csi300"))
}

pub fn load_from(dir: &Path) -> Result<Series> {
    read_seq(&find(dir, SEQ_FILE, "CSI-300", HINT)?)
}

pub fn load_history_from(dir: &Path) -> Result<Series> {
    read_history(&find(dir, HISTORY_FILE, "CSI-300", HINT)?)
}

/// Read `seq, close, volume/1e7, turnover/1e8` rows (a `.gz` name is decompressed).
pub fn read_seq(path: &Path) -> Result<Series> {
    read_with(path, Layout::Seq)
}

/// Read `date, seq, close, volume, turnover,` rows (a `.gz` name is decompressed).
pub fn read_history(path: &Path) -> Result<Series> {
    read_with(path, Layout::History)
}

/// [`read_seq`] on bytes already in memory; `name` stands for the file in error messages.
pub fn parse_seq(bytes: &[u8], name: &str) -> Result<Series> {
    parse(bytes, name, Layout::Seq)
}

/// [`read_history`] on bytes already in memory; `name` stands for the file in error messages.
pub fn parse_history(bytes: &[u8], name: &str) -> Result<Series> {
    parse(bytes, name, Layout::History)
}

#[derive(Clone, Copy, PartialEq)]
enum Layout {
    Seq,
    History,
}

impl Layout {
    fn columns(self) -> &'static [&'static str] {
        match self {
            Layout::Seq => &["seq", "close", "volume", "turnover"],
            Layout::History => &["date", "seq", "close", "volume", "turnover"],
        }
    }
}

fn read_with(path: &Path, layout: Layout) -> Result<Series> {
    let file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    let name = path.display().to_string();
    if path.extension().is_some_and(|e| e == "gz") {
        parse(flate2::read::MultiGzDecoder::new(file), &name, layout)
    } else {
        parse(file, &name, layout)
    }
}

/// Offending text is quoted (so padding and control bytes show) and cut short, so that a garbage
/// file cannot produce a megabyte-long message.
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

fn parse(input: impl Read, name: &str, layout: Layout) -> Result<Series> {
    let format = |line: u64, msg: String| Error::Format {
        path: name.to_string(),
        msg: format!("line {line}: {msg}"),
    };
    // Lines end at `\n` only, with the `\r` of CRLF trimmed away as whitespace: the crate's CRLF mode
    // reports the line of the previous row for every row after a CRLF, and errors must name the right
    // line. Flexible, so that a row of the wrong width reaches our own check (which names the line and the
    // widths) instead of the crate's generic one, and so that the dated file's trailing comma passes.
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .trim(csv::Trim::All)
        .flexible(true)
        .terminator(csv::Terminator::Any(b'\n'))
        .from_reader(input);
    let columns = layout.columns();
    let mut series = Series {
        seq: Vec::new(),
        close: Vec::new(),
        volume: Vec::new(),
        turnover: Vec::new(),
        dates: (layout == Layout::History).then(Vec::new),
    };
    let mut record = csv::ByteRecord::new();
    loop {
        let more = match reader.read_byte_record(&mut record) {
            Ok(more) => more,
            Err(e) => {
                let msg = e.to_string();
                return Err(match e.into_kind() {
                    csv::ErrorKind::Io(io) => Error::io(name, io),
                    _ => Error::Format {
                        path: name.to_string(),
                        msg,
                    },
                });
            }
        };
        if !more {
            break;
        }
        // A blank line is skipped by the crate only when truly empty; one holding just spaces or the
        // `\r` of a CRLF blank line is skipped here too, so that both line endings read alike.
        if record.len() == 1 && record.get(0).is_some_and(|f| f.is_empty()) {
            continue;
        }
        let line = record.position().map_or(0, |p| p.line());
        let width = record.len();
        // The dated file ends every row with a comma, hence one empty extra field; anything in that
        // extra field is a real extra column and is rejected like any other width mismatch.
        let trailing_empty = layout == Layout::History
            && width == columns.len() + 1
            && record.get(columns.len()).is_some_and(|f| f.is_empty());
        if width != columns.len() && !trailing_empty {
            return Err(format(
                line,
                format!(
                    "{width} fields, expected {} ({}{})",
                    columns.len(),
                    columns.join(", "),
                    if layout == Layout::History {
                        ", optionally a trailing comma"
                    } else {
                        ""
                    }
                ),
            ));
        }
        let field = |i: usize| record.get(i).unwrap_or_default();
        let offset = usize::from(layout == Layout::History);
        let number = |i: usize| -> Result<f64> {
            let text = field(i);
            let column = columns[i];
            let value: f64 = std::str::from_utf8(text)
                .ok()
                .and_then(|s| s.parse().ok())
                .ok_or_else(|| {
                    format(
                        line,
                        format!("field {column}: {} is not a number", shown(text)),
                    )
                })?;
            if !value.is_finite() {
                return Err(format(
                    line,
                    format!("field {column}: {} is not a finite number", shown(text)),
                ));
            }
            Ok(value)
        };

        if let Some(dates) = &mut series.dates {
            let text = field(0);
            let date = std::str::from_utf8(text)
                .ok()
                .filter(|s| is_date(s))
                .ok_or_else(|| {
                    format(
                        line,
                        format!("field date: {} is not a YYYY-MM-DD date", shown(text)),
                    )
                })?;
            if let Some(last) = dates.last() {
                // Validated dates compare as strings in calendar order.
                if date <= last.as_str() {
                    return Err(format(
                        line,
                        format!("field date: {date} does not come after the previous row's {last}"),
                    ));
                }
            }
            dates.push(date.to_string());
        }

        let text = field(offset);
        let seq: u32 = std::str::from_utf8(text)
            .ok()
            .filter(|s| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()))
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| {
                format(
                    line,
                    format!("field seq: {} is not a whole number", shown(text)),
                )
            })?;
        if let Some(&last) = series.seq.last() {
            // Day numbers are what matches rows across the two files; a gap or a repeat means the
            // rows no longer line up.
            if last.checked_add(1) != Some(seq) {
                return Err(format(
                    line,
                    format!(
                        "field seq: {seq} does not follow the previous row's {last} (expected {})",
                        u64::from(last) + 1
                    ),
                ));
            }
        }
        let close = number(offset + 1)?;
        if close <= 0.0 {
            return Err(format(
                line,
                format!(
                    "field close: {} is not positive (an index level is)",
                    shown(field(offset + 1))
                ),
            ));
        }
        let volume = number(offset + 2)?;
        let turnover = number(offset + 3)?;
        for (value, i) in [(volume, offset + 2), (turnover, offset + 3)] {
            if value < 0.0 {
                return Err(format(
                    line,
                    format!("field {}: {} is negative", columns[i], shown(field(i))),
                ));
            }
        }
        series.seq.push(seq);
        series.close.push(close);
        series.volume.push(volume);
        series.turnover.push(turnover);
    }
    if series.is_empty() {
        return Err(Error::Format {
            path: name.to_string(),
            msg: format!(
                "no rows: the file is empty (expected {} per line)",
                columns.join(", ")
            ),
        });
    }
    Ok(series)
}

/// A real calendar date, so that `2019-02-30` or `2019-13-01` (a shifted or mistyped column) is caught
/// here rather than when the dates are plotted.
fn is_date(s: &str) -> bool {
    let b = s.as_bytes();
    if b.len() != 10
        || b[4] != b'-'
        || b[7] != b'-'
        || ![0, 1, 2, 3, 5, 6, 8, 9]
            .iter()
            .all(|&i| b[i].is_ascii_digit())
    {
        return false;
    }
    let num = |r: std::ops::Range<usize>| -> u32 {
        b[r].iter().fold(0, |n, &d| n * 10 + u32::from(d - b'0'))
    };
    let (year, month, day) = (num(0..4), num(5..7), num(8..10));
    let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    let days = match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return false,
    };
    (1..=days).contains(&day)
}
