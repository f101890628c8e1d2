//! The CSI-300 reader on fixtures the tests write in the two shapes the book's files have (space-padded
//! LF without a final newline; dated CRLF with a trailing comma and scientific notation), every kind of bad
//! row, a no-panic property on arbitrary and mutated input, and one opt-in check of the real files.

use proptest::prelude::*;
use std::io::Write;
use std::path::{Path, PathBuf};
use zerodl::data::csi300::{self, Series};
use zerodl::Error;

const SEQ_OK: &str = "1  , 982.794 , 74.1287 , 44.3198\n\
                      2  , 992.564 , 71.1911 , 45.2921\n\
                      3  , 983.174 , 62.8803 , 39.2102";

const HISTORY_OK: &str = "2005-01-04,1 ,982.794,741286894,443197740,\r\n\
                          2005-01-05,2 ,992.564,711910898,4.53E+08,\r\n\
                          2005-01-06,3 ,983.174,628802905,3.92102E+08,\r\n";

fn write(dir: &Path, name: &str, text: &[u8]) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn the_training_file_shape_reads_with_padding_and_no_final_newline() {
    let dir = tempfile::tempdir().unwrap();
    let s = csi300::read_seq(&write(dir.path(), "seq.csv", SEQ_OK.as_bytes())).unwrap();
    assert_eq!(
        s,
        Series {
            seq: vec![1, 2, 3],
            close: vec![982.794, 992.564, 983.174],
            volume: vec![74.1287, 71.1911, 62.8803],
            turnover: vec![44.3198, 45.2921, 39.2102],
            dates: None,
        }
    );
    assert_eq!(s.len(), 3);
    assert!(!s.is_empty());
    // A final newline, tabs and CRLF change nothing.
    let variant = format!("{}\n", SEQ_OK.replace(" , ", "\t,\t").replace('\n', "\r\n"));
    assert_eq!(csi300::parse_seq(variant.as_bytes(), "v").unwrap(), s);
}

#[test]
fn the_dated_shape_reads_crlf_trailing_comma_and_scientific_notation() {
    let dir = tempfile::tempdir().unwrap();
    let s = csi300::read_history(&write(dir.path(), "h.csv", HISTORY_OK.as_bytes())).unwrap();
    assert_eq!(
        s,
        Series {
            seq: vec![1, 2, 3],
            close: vec![982.794, 992.564, 983.174],
            volume: vec![741286894.0, 711910898.0, 628802905.0],
            turnover: vec![443197740.0, 4.53e8, 3.92102e8],
            dates: Some(vec![
                "2005-01-04".into(),
                "2005-01-05".into(),
                "2005-01-06".into()
            ]),
        }
    );
    // Without the trailing comma, and without a final line ending, the rows are the same.
    let bare = HISTORY_OK.replace(",\r\n", "\n");
    assert_eq!(
        csi300::parse_history(bare.trim_end().as_bytes(), "b").unwrap(),
        s
    );
}

/// The error for `text` read from a file named `bad.csv`, checked to be a format error naming the file.
fn error(text: &str, dated: bool) -> String {
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "bad.csv", text.as_bytes());
    let e = if dated {
        csi300::read_history(&path)
    } else {
        csi300::read_seq(&path)
    }
    .unwrap_err();
    assert!(matches!(e, Error::Format { .. }), "{e:?}");
    let msg = e.to_string();
    assert!(msg.contains("bad.csv"), "{msg}");
    msg
}

/// Replace line `line` (1-based) of a fixture.
fn with_line(fixture: &str, line: usize, text: &str) -> String {
    let sep = if fixture.contains("\r\n") {
        "\r\n"
    } else {
        "\n"
    };
    let mut lines: Vec<&str> = fixture.split(sep).collect();
    lines[line - 1] = text;
    lines.join(sep)
}

#[track_caller]
fn assert_names(msg: &str, parts: &[&str]) {
    for p in parts {
        assert!(msg.contains(p), "{msg:?} lacks {p:?}");
    }
}

#[test]
fn a_row_of_the_wrong_width_names_file_line_and_columns() {
    let msg = error(&with_line(SEQ_OK, 2, "2 , 992.564 , 71.1911"), false);
    assert!(
        msg.ends_with("bad.csv: line 2: 3 fields, expected 4 (seq, close, volume, turnover)"),
        "{msg}"
    );
    let msg = error(&with_line(SEQ_OK, 3, "3 , 1 , 2 , 3 , 4"), false);
    assert_names(&msg, &["line 3", "5 fields, expected 4"]);
    // The dated file's extra field may only be empty.
    let msg = error(
        &with_line(HISTORY_OK, 2, "2005-01-05,2 ,992.564,711910898,4.53E+08,7"),
        true,
    );
    assert_names(&msg, &["line 2", "6 fields, expected 5", "trailing comma"]);
    let msg = error(&with_line(HISTORY_OK, 1, "2005-01-04,1 ,982.794"), true);
    assert_names(&msg, &["line 1", "3 fields"]);
}

#[test]
fn a_number_that_does_not_parse_names_the_column_and_the_text() {
    let msg = error(
        &with_line(SEQ_OK, 2, "2 , 99x2.5 , 71.1911 , 45.2921"),
        false,
    );
    assert!(
        msg.ends_with("bad.csv: line 2: field close: \"99x2.5\" is not a number"),
        "{msg}"
    );
    let msg = error(&with_line(SEQ_OK, 3, "3 , 983.174 , , 39.2102"), false);
    assert_names(&msg, &["line 3", "field volume", "\"\" is not a number"]);
    let msg = error(
        &with_line(HISTORY_OK, 3, "2005-01-06,3 ,983.174,628802905,3.9x2E+08,"),
        true,
    );
    assert_names(
        &msg,
        &["line 3", "field turnover", "\"3.9x2E+08\" is not a number"],
    );
    // Bytes that are not UTF-8 are shown, not trusted.
    let mut bytes = with_line(SEQ_OK, 2, "2 , 9#2.5 , 71.1911 , 45.2921").into_bytes();
    let at = bytes.iter().position(|&b| b == b'#').unwrap();
    bytes[at] = 0xff;
    let e = csi300::parse_seq(&bytes, "bad.csv")
        .unwrap_err()
        .to_string();
    assert_names(&e, &["bad.csv", "line 2", "field close", "9\u{fffd}2.5"]);
    // A long garbage field is cut short in the message.
    let long = "7".repeat(10_000) + "x";
    let msg = error(&with_line(SEQ_OK, 1, &format!("1 , 5 , {long} , 1")), false);
    assert_names(&msg, &["line 1", "field volume", "..."]);
    assert!(msg.len() < 200, "{msg}");
}

#[test]
fn non_finite_values_are_rejected() {
    for (text, column) in [
        ("1 , NaN , 1 , 1", "close"),
        ("1 , 5 , inf , 1", "volume"),
        ("1 , 5 , 1 , 1e999", "turnover"),
        ("1 , 5 , -infinity , 1", "volume"),
    ] {
        let msg = error(&with_line(SEQ_OK, 1, text), false);
        assert_names(
            &msg,
            &["line 1", &format!("field {column}"), "not a finite number"],
        );
    }
}

#[test]
fn a_close_that_is_not_positive_and_a_negative_volume_are_rejected() {
    let msg = error(&with_line(SEQ_OK, 2, "2 , 0 , 71.1911 , 45.2921"), false);
    assert_names(&msg, &["line 2", "field close", "\"0\"", "not positive"]);
    let msg = error(
        &with_line(
            HISTORY_OK,
            3,
            "2005-01-06,3 ,-983.174,628802905,3.92102E+08,",
        ),
        true,
    );
    assert_names(
        &msg,
        &["line 3", "field close", "\"-983.174\"", "not positive"],
    );
    let msg = error(&with_line(SEQ_OK, 3, "3 , 983.174 , -1 , 39.2102"), false);
    assert_names(&msg, &["line 3", "field volume", "\"-1\"", "negative"]);
}

#[test]
fn a_sequence_number_that_does_not_step_by_one_is_rejected() {
    let msg = error(
        &with_line(SEQ_OK, 2, "3 , 992.564 , 71.1911 , 45.2921"),
        false,
    );
    assert!(
        msg.ends_with(
            "bad.csv: line 2: field seq: 3 does not follow the previous row's 1 (expected 2)"
        ),
        "{msg}"
    );
    let msg = error(
        &with_line(SEQ_OK, 3, "2 , 983.174 , 62.8803 , 39.2102"),
        false,
    );
    assert_names(&msg, &["line 3", "field seq", "2 does not follow"]);
    for bad in ["2.0", "-2", "two", "+2", ""] {
        let msg = error(
            &with_line(SEQ_OK, 2, &format!("{bad} , 992.564 , 71.1911 , 45.2921")),
            false,
        );
        assert_names(&msg, &["line 2", "field seq", "is not a whole number"]);
    }
    let msg = error("4294967295 , 1 , 1 , 1\n4294967296 , 1 , 1 , 1\n", false);
    assert_names(
        &msg,
        &[
            "line 2",
            "field seq",
            "\"4294967296\" is not a whole number",
        ],
    );
    let msg = error(
        &with_line(HISTORY_OK, 2, "2005-01-05,7 ,992.564,711910898,4.53E+08,"),
        true,
    );
    assert_names(&msg, &["line 2", "field seq", "7 does not follow"]);
}

#[test]
fn dates_must_be_real_and_increasing() {
    for bad in [
        "2005-02-30",
        "2005-13-01",
        "05/01/2005",
        "2005-1-5",
        "2005-01-05x",
        "",
    ] {
        let row = format!("{bad},2 ,992.564,711910898,4.53E+08,");
        let msg = error(&with_line(HISTORY_OK, 2, &row), true);
        assert_names(&msg, &["line 2", "field date", "is not a YYYY-MM-DD date"]);
    }
    let leap = with_line(
        HISTORY_OK,
        3,
        "2008-02-29,3 ,983.174,628802905,3.92102E+08,",
    );
    assert!(csi300::parse_history(leap.as_bytes(), "x").is_ok());
    let msg = error(
        &with_line(
            HISTORY_OK,
            3,
            "2005-01-05,3 ,983.174,628802905,3.92102E+08,",
        ),
        true,
    );
    assert_names(
        &msg,
        &[
            "line 3",
            "field date",
            "2005-01-05 does not come after the previous row's 2005-01-05",
        ],
    );
}

#[test]
fn an_empty_file_is_an_error_not_an_empty_series() {
    for text in ["", "\n", "\r\n\r\n", "  \n \t \n"] {
        for dated in [false, true] {
            let msg = error(text, dated);
            assert_names(&msg, &["no rows"]);
        }
    }
}

#[test]
fn loading_finds_the_files_or_says_where_it_looked_and_where_they_ship() {
    let dir = tempfile::tempdir().unwrap();
    let e = csi300::load_from(dir.path()).unwrap_err();
    assert!(matches!(e, Error::MissingData { .. }), "{e:?}");
    let msg = e.to_string();
    assert_names(
        &msg,
        &[
            csi300::SEQ_FILE,
            &dir.path().display().to_string(),
            "shared data folder",
            "ZERODL_DATA",
        ],
    );
    let msg = csi300::load_history_from(dir.path())
        .unwrap_err()
        .to_string();
    assert_names(&msg, &[csi300::HISTORY_FILE, "ZERODL_DATA"]);

    write(dir.path(), csi300::SEQ_FILE, SEQ_OK.as_bytes());
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(HISTORY_OK.as_bytes()).unwrap();
    let name = format!("{}.gz", csi300::HISTORY_FILE);
    write(dir.path(), &name, &gz.finish().unwrap());
    assert_eq!(csi300::load_from(dir.path()).unwrap().len(), 3);
    let h = csi300::load_history_from(dir.path()).unwrap();
    assert_eq!(h.dates.unwrap()[2], "2005-01-06");
}

#[test]
fn a_missing_file_is_an_io_error_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let e = csi300::read_seq(&dir.path().join("nope.csv")).unwrap_err();
    assert!(matches!(e, Error::Io { .. }), "{e:?}");
    assert!(e.to_string().contains("nope.csv"), "{e}");
}

/// Columns of equal length, every value finite, closes positive: what a caller may rely on.
fn check_invariants(s: &Series) {
    let n = s.len();
    assert!(n > 0);
    assert_eq!((s.seq.len(), s.volume.len(), s.turnover.len()), (n, n, n));
    assert!(s.close.iter().all(|&c| c.is_finite() && c > 0.0));
    assert!(s
        .volume
        .iter()
        .chain(&s.turnover)
        .all(|&v| v.is_finite() && v >= 0.0));
    assert!(s.seq.windows(2).all(|w| w[1] == w[0] + 1));
    if let Some(d) = &s.dates {
        assert_eq!(d.len(), n);
        assert!(d.windows(2).all(|w| w[0] < w[1]));
    }
}

#[derive(Debug, Clone)]
enum Edit {
    Set(usize, u8),
    Insert(usize, u8),
    Delete(usize, usize),
}

fn apply(bytes: &mut Vec<u8>, edits: &[Edit]) {
    for edit in edits {
        let len = bytes.len();
        match *edit {
            Edit::Set(i, b) if len > 0 => bytes[i % len] = b,
            Edit::Insert(i, b) => bytes.insert(i % (len + 1), b),
            Edit::Delete(i, n) if len > 0 => {
                let start = i % len;
                bytes.drain(start..(start + n).min(len));
            }
            _ => {}
        }
    }
}

fn edit() -> impl Strategy<Value = Edit> {
    // Bytes that matter to the format are drawn often; any byte now and then.
    let byte = prop_oneof![
        prop::sample::select(b", \r\n\t.-+eE0123456789\"".to_vec()),
        any::<u8>(),
    ];
    prop_oneof![
        (any::<usize>(), byte.clone()).prop_map(|(i, b)| Edit::Set(i, b)),
        (any::<usize>(), byte).prop_map(|(i, b)| Edit::Insert(i, b)),
        (any::<usize>(), 1usize..8).prop_map(|(i, n)| Edit::Delete(i, n)),
    ]
}

proptest! {
    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        for result in [csi300::parse_seq(&bytes, "p"), csi300::parse_history(&bytes, "p")] {
            match result {
                Ok(s) => check_invariants(&s),
                Err(e) => prop_assert!(e.to_string().starts_with("p: "), "{}", e),
            }
        }
    }

    #[test]
    fn mutated_valid_files_never_panic(
        dated in any::<bool>(),
        edits in prop::collection::vec(edit(), 1..6),
    ) {
        let mut bytes = if dated { HISTORY_OK } else { SEQ_OK }.as_bytes().to_vec();
        apply(&mut bytes, &edits);
        let result = if dated {
            csi300::parse_history(&bytes, "m")
        } else {
            csi300::parse_seq(&bytes, "m")
        };
        match result {
            Ok(s) => check_invariants(&s),
            Err(e) => prop_assert!(e.to_string().starts_with("m: "), "{}", e),
        }
    }

    #[test]
    fn written_rows_read_back_exactly(
        rows in prop::collection::vec((1e-3f64..1e6, 0f64..1e12, 0f64..1e13), 1..40),
        first in 0u32..1_000_000,
    ) {
        let text: Vec<String> = rows
            .iter()
            .enumerate()
            .map(|(i, (c, v, t))| format!("{} , {c} , {v:e} , {t}", first + i as u32))
            .collect();
        let s = csi300::parse_seq(text.join("\n").as_bytes(), "w").unwrap();
        prop_assert_eq!(s.seq[0], first);
        prop_assert_eq!(s.close, rows.iter().map(|r| r.0).collect::<Vec<_>>());
        prop_assert_eq!(s.volume, rows.iter().map(|r| r.1).collect::<Vec<_>>());
        prop_assert_eq!(s.turnover, rows.iter().map(|r| r.2).collect::<Vec<_>>());
    }
}

/// Opt-in: with `ZERODL_DATA` pointing at the real data, both files have the published sizes and agree.
#[test]
fn real_csi300_files_have_their_sizes_and_agree() {
    let root = std::env::var("ZERODL_DATA").unwrap_or_default();
    let dir = Path::new(&root).join("csi300");
    if root.is_empty()
        || !dir.join(csi300::SEQ_FILE).exists()
        || !dir.join(csi300::HISTORY_FILE).exists()
    {
        eprintln!(
            "skipped: real CSI-300 files not found (set ZERODL_DATA to a data root holding csi300/{} and csi300/{})",
            csi300::SEQ_FILE,
            csi300::HISTORY_FILE
        );
        return;
    }
    let s = csi300::load_from(&dir).unwrap();
    assert_eq!(s.len(), 3457);
    assert_eq!(s.close[0], 982.794);
    assert_eq!(s.close[s.len() - 1], 3700.44);
    assert_eq!((s.seq[0], s.seq[s.len() - 1]), (1, 3457));
    assert!(s.dates.is_none());

    let h = csi300::load_history_from(&dir).unwrap();
    assert_eq!(h.len(), 3442);
    let dates = h.dates.as_ref().unwrap();
    assert_eq!(
        (dates[0].as_str(), dates[3441].as_str()),
        ("2005-01-04", "2019-03-05")
    );
    assert_eq!(&s.seq[..h.len()], &h.seq[..]);
    // Both files print the close with the same decimals, so it agrees exactly. Volume and turnover
    // carry about six significant digits in the training file, and the dated file rounds some
    // turnovers to scientific notation, so the rescaling agrees to a relative 1e-5 (the worst case in
    // the shipped files is about 5e-6).
    const REL: f64 = 1e-5;
    let near = |a: f64, b: f64| (a - b).abs() <= REL * a.abs().max(b.abs());
    for i in 0..h.len() {
        assert_eq!(s.close[i], h.close[i], "close of row {}", i + 1);
        let v = h.volume[i] / csi300::VOLUME_SCALE;
        assert!(
            near(s.volume[i], v),
            "volume of row {}: {} vs {v}",
            i + 1,
            s.volume[i]
        );
        let t = h.turnover[i] / csi300::TURNOVER_SCALE;
        assert!(
            near(s.turnover[i], t),
            "turnover of row {}: {} vs {t}",
            i + 1,
            s.turnover[i]
        );
    }
}

#[test]
fn line_numbers_count_every_physical_line_in_both_endings() {
    for sep in ["\n", "\r\n"] {
        let text = ["1 , 5 , 1 , 1", "", "  ", "2 , 5 , 1 , 1", "3 , 5 , x , 1"].join(sep);
        let msg = error(&text, false);
        assert_names(&msg, &["line 5: field volume: \"x\""]);
    }
}
