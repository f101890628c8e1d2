//! Chapter 9's data: the IMDB reader on small archives the tests build (good ones, and every kind of bad
//! one), the tokenizer's rules, the vocabulary, the GloVe reader and the embedding matrix; no-panic
//! properties on arbitrary and mutated input; and one opt-in check of the real files.

use flate2::{write::GzEncoder, Compression};
use proptest::prelude::*;
use std::io::Write;
use std::path::{Path, PathBuf};
use zerodl::data::glove::{self, Glove, Oov};
use zerodl::data::imdb::{self, Imdb, Review};
use zerodl::data::text::{self, pad_or_truncate, tokenize, Vocab, VocabOptions, PAD, UNK};
use zerodl::Error;

// ---------------------------------------------------------------- fixtures

/// Two reviews per folder, out of order in the archive (ids 10 before 2), among the side files the real
/// archive has, so that sorting and skipping are both exercised.
fn good_entries() -> Vec<(String, Vec<u8>)> {
    let e = |p: &str, t: &str| (p.to_string(), t.as_bytes().to_vec());
    vec![
        e("aclImdb/README", "Large Movie Review Dataset v1.0"),
        e("aclImdb/imdb.vocab", "the\nand\n"),
        e("aclImdb/train/urls_pos.txt", "http://x\n"),
        e(
            "aclImdb/train/pos/10_9.txt",
            "Great film!<br /><br />Loved it.",
        ),
        e("aclImdb/train/pos/2_7.txt", "A good film, not great."),
        e("aclImdb/train/neg/10_1.txt", "Awful. Don't watch it."),
        e("aclImdb/train/neg/2_4.txt", "Dull film; bad acting."),
        e(
            "aclImdb/test/pos/0_10.txt",
            "Superb — a masterpiece. Café scenes!",
        ),
        e("aclImdb/test/pos/1_8.txt", "Fine film."),
        e("aclImdb/test/neg/0_3.txt", "Boring film"),
        e("aclImdb/test/neg/1_2.txt", "zzzonlyintest film"),
        e("aclImdb/train/unsup/5_0.txt", "unlabelled, skipped"),
    ]
}

fn header(path: &str, size: u64, kind: tar::EntryType) -> tar::Header {
    let mut h = tar::Header::new_gnu();
    h.set_path(path).unwrap();
    h.set_size(size);
    h.set_mode(if kind.is_dir() { 0o755 } else { 0o644 });
    h.set_entry_type(kind);
    h.set_cksum();
    h
}

/// An uncompressed tar with a directory entry for each folder (as real archives have), then the files.
fn tar_of(entries: &[(String, Vec<u8>)]) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    for dir in [
        "aclImdb/",
        "aclImdb/train/",
        "aclImdb/train/pos/",
        "aclImdb/train/neg/",
        "aclImdb/test/",
    ] {
        b.append(&header(dir, 0, tar::EntryType::Directory), &[][..])
            .unwrap();
    }
    for (path, data) in entries {
        let h = header(path, data.len() as u64, tar::EntryType::Regular);
        b.append(&h, &data[..]).unwrap();
    }
    b.into_inner().unwrap()
}

fn gz(bytes: &[u8]) -> Vec<u8> {
    let mut e = GzEncoder::new(Vec::new(), Compression::fast());
    e.write_all(bytes).unwrap();
    e.finish().unwrap()
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    path
}

fn review(text: &str, positive: bool, rating: u8, id: u32) -> Review {
    Review {
        text: text.to_string(),
        positive,
        rating,
        id,
    }
}

/// The error for an archive of `entries` read from `bad.tar.gz` expecting two reviews per folder, checked
/// to be a format error naming the archive.
fn archive_error(entries: &[(String, Vec<u8>)]) -> String {
    bytes_error(&gz(&tar_of(entries)))
}

fn bytes_error(bytes: &[u8]) -> String {
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "bad.tar.gz", bytes);
    let e = imdb::read_expecting(&path, 2).unwrap_err();
    assert!(matches!(e, Error::Format { .. }), "{e:?}");
    let msg = e.to_string();
    assert!(msg.contains("bad.tar.gz"), "{msg}");
    msg
}

#[track_caller]
fn assert_names(msg: &str, parts: &[&str]) {
    for p in parts {
        assert!(msg.contains(p), "{msg:?} lacks {p:?}");
    }
}

/// `good_entries` with the entry at `path` replaced by `new` (or dropped when `new` is `None`).
fn replaced(path: &str, new: Option<(&str, &[u8])>) -> Vec<(String, Vec<u8>)> {
    let mut entries = good_entries();
    let i = entries.iter().position(|(p, _)| p == path).unwrap();
    match new {
        Some((p, t)) => entries[i] = (p.to_string(), t.to_vec()),
        None => {
            entries.remove(i);
        }
    }
    entries
}

// ---------------------------------------------------------------- the archive

#[test]
fn a_good_archive_reads_sorted_by_label_then_id_compressed_or_not() {
    let dir = tempfile::tempdir().unwrap();
    let tar = tar_of(&good_entries());
    let path = write(dir.path(), "fixture.tar.gz", &gz(&tar));
    let data = imdb::read_expecting(&path, 2).unwrap();
    assert_eq!(
        data.train,
        vec![
            review("Dull film; bad acting.", false, 4, 2),
            review("Awful. Don't watch it.", false, 1, 10),
            review("A good film, not great.", true, 7, 2),
            review("Great film!<br /><br />Loved it.", true, 9, 10),
        ]
    );
    assert_eq!(
        data.test
            .iter()
            .map(|r| (r.positive, r.id, r.rating))
            .collect::<Vec<_>>(),
        vec![(false, 0, 3), (false, 1, 2), (true, 0, 10), (true, 1, 8)]
    );
    assert_eq!(data.test[2].text, "Superb — a masterpiece. Café scenes!");
    // The same archive uncompressed, and under a name that does not say which it is, reads the same:
    // gzip is told by its first bytes.
    let plain = write(dir.path(), "fixture.tar", &tar);
    assert_eq!(imdb::read_expecting(&plain, 2).unwrap(), data);
    let misnamed = write(dir.path(), "fixture.bin", &gz(&tar));
    assert_eq!(imdb::read_expecting(&misnamed, 2).unwrap(), data);
    assert_eq!(imdb::parse(&tar[..], "mem", 2).unwrap(), data);
    // The archive's order does not matter.
    let mut reversed = good_entries();
    reversed.reverse();
    assert_eq!(imdb::parse(&tar_of(&reversed)[..], "r", 2).unwrap(), data);
}

#[test]
fn a_wrong_count_or_a_missing_folder_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "f.tar.gz", &gz(&tar_of(&good_entries())));
    let msg = imdb::read(&path).unwrap_err().to_string();
    assert_names(
        &msg,
        &[
            "f.tar.gz",
            "expected 12500 reviews in each of the four folders",
            "aclImdb/train/neg/ has 2",
            "aclImdb/test/pos/ has 2",
        ],
    );
    let msg = imdb::read_expecting(&path, 3).unwrap_err().to_string();
    assert_names(&msg, &["aclImdb/train/pos/ has 2"]);

    let mut entries = good_entries();
    entries.retain(|(p, _)| !p.starts_with("aclImdb/test/pos/"));
    let msg = archive_error(&entries);
    assert_names(&msg, &["aclImdb/test/pos/ is missing (no reviews)"]);
    assert!(!msg.contains("train/pos"), "{msg}");

    let msg = archive_error(&replaced("aclImdb/train/neg/2_4.txt", None));
    assert_names(&msg, &["expected 2 reviews", "aclImdb/train/neg/ has 1"]);

    // One too many is caught at the entry that overflows the folder.
    let mut entries = good_entries();
    entries.push(("aclImdb/test/neg/7_1.txt".into(), b"x".to_vec()));
    let msg = archive_error(&entries);
    assert_names(
        &msg,
        &["entry aclImdb/test/neg/7_1.txt", "more than the 2 reviews"],
    );

    // An empty archive has all four folders missing.
    let msg = bytes_error(&gz(&[0u8; 1024]));
    assert_names(
        &msg,
        &[
            "aclImdb/train/neg/ is missing",
            "aclImdb/test/pos/ is missing",
        ],
    );
}

#[test]
fn a_bad_file_name_names_the_entry_and_the_field() {
    let p = "aclImdb/train/pos/2_7.txt";
    let msg = archive_error(&replaced(p, Some(("aclImdb/train/pos/review.txt", b"x"))));
    assert!(
        msg.ends_with(
            "entry aclImdb/train/pos/review.txt: file name: \"review.txt\" is not <id>_<rating>.txt"
        ),
        "{msg}"
    );
    let msg = archive_error(&replaced(p, Some(("aclImdb/train/pos/2_7.html", b"x"))));
    assert_names(&msg, &["entry aclImdb/train/pos/2_7.html", "file name"]);
    let msg = archive_error(&replaced(p, Some(("aclImdb/train/pos/x2_7.txt", b"x"))));
    assert_names(
        &msg,
        &[
            "entry aclImdb/train/pos/x2_7.txt",
            "field id: \"x2\" is not a whole number",
        ],
    );
    let msg = archive_error(&replaced(
        p,
        Some(("aclImdb/train/pos/99999999999_7.txt", b"x")),
    ));
    assert_names(&msg, &["field id: \"99999999999\""]);
    let msg = archive_error(&replaced(p, Some(("aclImdb/train/pos/2_11.txt", b"x"))));
    assert_names(
        &msg,
        &[
            "entry aclImdb/train/pos/2_11.txt",
            "field rating: \"11\" is not a whole number 1..10",
        ],
    );
    let msg = archive_error(&replaced(p, Some(("aclImdb/train/pos/2_.txt", b"x"))));
    assert_names(&msg, &["field rating: \"\""]);
    let msg = archive_error(&replaced(p, Some(("aclImdb/train/pos/deep/2_7.txt", b"x"))));
    assert_names(
        &msg,
        &[
            "entry aclImdb/train/pos/deep/2_7.txt",
            "file name",
            "nested",
        ],
    );
}

#[test]
fn a_rating_that_disagrees_with_its_folder_names_the_entry_and_the_rating() {
    let msg = archive_error(&replaced(
        "aclImdb/train/pos/2_7.txt",
        Some(("aclImdb/train/pos/2_3.txt", b"x")),
    ));
    assert!(
        msg.ends_with(
            "entry aclImdb/train/pos/2_3.txt: field rating: 3 does not belong in aclImdb/train/pos/ (pos reviews are rated 7..10)"
        ),
        "{msg}"
    );
    for bad in ["5", "6", "7", "10"] {
        let name = format!("aclImdb/test/neg/1_{bad}.txt");
        let msg = archive_error(&replaced("aclImdb/test/neg/1_2.txt", Some((&name, b"x"))));
        assert_names(&msg, &[&format!("entry {name}"), "field rating", "1..4"]);
    }
}

#[test]
fn a_repeated_id_invalid_utf8_or_an_odd_entry_type_is_named() {
    let msg = archive_error(&replaced(
        "aclImdb/train/pos/2_7.txt",
        Some(("aclImdb/train/pos/10_8.txt", b"x")),
    ));
    assert_names(
        &msg,
        &[
            "entry aclImdb/train/pos/10_8.txt",
            "field id: 10 appears twice in aclImdb/train/pos/ (also as \"10_9.txt\")",
        ],
    );
    let msg = archive_error(&replaced(
        "aclImdb/test/pos/1_8.txt",
        Some(("aclImdb/test/pos/1_8.txt", b"ok \xff\xfe")),
    ));
    assert_names(
        &msg,
        &[
            "entry aclImdb/test/pos/1_8.txt",
            "text: not valid UTF-8 (byte 3)",
        ],
    );

    // A symlink where a review should be.
    let mut tar = tar_of(&replaced("aclImdb/test/pos/1_8.txt", None));
    let mut b = tar::Builder::new(Vec::new());
    let mut h = header("aclImdb/test/pos/1_8.txt", 0, tar::EntryType::Symlink);
    h.set_link_name("../../README").unwrap();
    h.set_cksum();
    b.append(&h, &[][..]).unwrap();
    let link = b.into_inner().unwrap();
    tar.truncate(tar.len() - 1024); // drop the end-of-archive blocks
    tar.extend_from_slice(&link);
    let msg = bytes_error(&gz(&tar));
    assert_names(&msg, &["entry aclImdb/test/pos/1_8.txt", "type: Symlink"]);
}

/// A header whose size field claims `claimed` bytes, followed by only `present` bytes of content.
fn lying_entry(claimed: u64, present: usize) -> Vec<u8> {
    let mut tar = tar_of(&replaced("aclImdb/test/neg/1_2.txt", None));
    tar.truncate(tar.len() - 1024);
    let h = header("aclImdb/test/neg/5_1.txt", claimed, tar::EntryType::Regular);
    tar.extend_from_slice(h.as_bytes());
    tar.extend(std::iter::repeat_n(b'a', present));
    tar
}

#[test]
fn sizes_claimed_by_headers_are_capped_not_allocated() {
    // A terabyte claimed in a few kilobytes: refused before anything is read.
    let msg = bytes_error(&gz(&lying_entry(1 << 40, 512)));
    assert_names(
        &msg,
        &[
            "entry aclImdb/test/neg/5_1.txt",
            "size: 1099511627776 bytes, more than the 1048576",
        ],
    );
    // A plausible size with the content cut short: the read fails, naming the entry.
    let msg = bytes_error(&gz(&lying_entry(5000, 100)));
    assert_names(&msg, &["entry aclImdb/test/neg/5_1.txt", "content"]);
}

#[test]
fn damaged_archives_give_errors_not_panics() {
    let good = gz(&tar_of(&good_entries()));
    // Truncated gzip, at several points.
    for cut in [good.len() / 4, good.len() / 2, good.len() - 9, 11] {
        let msg = bytes_error(&good[..cut]);
        assert!(
            msg.contains("not a readable tar archive") || msg.contains("damaged or cut short"),
            "{msg}"
        );
    }
    // Corrupted deflate data or a wrong CRC.
    let mut flipped = good.clone();
    let mid = flipped.len() / 2;
    flipped[mid] ^= 0xff;
    flipped[mid + 1] ^= 0x55;
    let msg = bytes_error(&flipped);
    assert_names(&msg, &["bad.tar.gz: "]);
    let mut crc = good.clone();
    let n = crc.len();
    crc[n - 6] ^= 1;
    bytes_error(&crc);
    // Not a tar at all, compressed or not: a checksum the header does not have.
    let msg = bytes_error(&gz(&[b'x'; 2000]));
    assert_names(
        &msg,
        &["not a readable tar archive", "before the first entry"],
    );
    let msg = bytes_error(&[b'x'; 2000]);
    assert_names(&msg, &["not a readable tar archive"]);
    // A tar truncated mid-header names the last entry read.
    let tar = tar_of(&good_entries());
    let msg = bytes_error(&tar[..tar.len() - 1024 - 200]);
    assert_names(&msg, &["after entry aclImdb/train/unsup/5_0.txt"]);
}

#[test]
fn a_missing_archive_says_where_it_looked_and_how_to_get_it() {
    let dir = tempfile::tempdir().unwrap();
    let e = imdb::load_from(dir.path()).unwrap_err();
    assert!(matches!(e, Error::MissingData { .. }), "{e:?}");
    assert_names(
        &e.to_string(),
        &[
            "aclImdb-labeled.tar.gz",
            &dir.path().display().to_string(),
            "ZERODL_DATA",
        ],
    );
    let e = glove::load_from(dir.path()).unwrap_err();
    assert!(matches!(e, Error::MissingData { .. }), "{e:?}");
    assert_names(&e.to_string(), &[glove::FILE, "ZERODL_DATA"]);
}

// ---------------------------------------------------------------- the tokenizer

#[test]
fn the_tokenizer_follows_its_rules() {
    let t = |s: &str| tokenize(s);
    // Line-break tags in their spellings are separators, and leave no `br`.
    assert_eq!(t("One.<br /><br />Two"), ["one", "two"]);
    assert_eq!(t("a<br/>b<br>c<BR />d<br  / >e"), ["a", "b", "c", "d", "e"]);
    // Other tags and a bare `br` are ordinary text.
    assert_eq!(t("<i>x</i> br"), ["i", "x", "i", "br"]);
    assert_eq!(t("<br"), ["br"]);
    // Apostrophes between letters stay; quotes and trailing possessives go.
    assert_eq!(
        t("Don't! It's 'fun', dogs' O'Brien"),
        ["don't", "it's", "fun", "dogs", "o'brien"]
    );
    assert_eq!(
        t("don’t rock 'n' roll it''s"),
        ["don't", "rock", "n", "roll", "it", "s"]
    );
    // Punctuation, hyphens and decimal points separate; digits are word characters.
    assert_eq!(
        t("well-made, 3.5/10 (really)... 2nd"),
        ["well", "made", "3", "5", "10", "really", "2nd"]
    );
    // Lowercase, Unicode letters included.
    assert_eq!(
        t("GREAT Café ÉLAN Straße ΟΔΥΣΣΕΑΣ"),
        ["great", "café", "élan", "straße", "οδυσσεας"]
    );
    assert_eq!(t("日本の映画 — naïve"), ["日本の映画", "naïve"]);
    assert_eq!(t(""), Vec::<String>::new());
    assert_eq!(t(" \n\t!?"), Vec::<String>::new());
    let mut seen = Vec::new();
    text::for_each_word("A b<br />C", |w| seen.push(w.to_string()));
    assert_eq!(seen, t("A b<br />C"));
}

// ---------------------------------------------------------------- the vocabulary

fn fixture() -> Imdb {
    imdb::parse(&tar_of(&good_entries())[..], "fixture", 2).unwrap()
}

#[test]
fn the_vocabulary_comes_from_training_text_only_in_a_fixed_order() {
    let data = fixture();
    let vocab = data.vocab(VocabOptions::default()).unwrap();
    assert_eq!(vocab.word(PAD), Some("<pad>"));
    assert_eq!(vocab.word(UNK), Some("<unk>"));
    // "film" (3 times in train) first, then the words seen twice, then once, each group alphabetical.
    assert_eq!(&vocab.words()[2..5], ["film", "great", "it"]);
    assert_eq!(vocab.count(2), 3);
    assert_eq!(&vocab.words()[5..8], ["a", "acting", "awful"]);
    // Words only in the test split are unknown.
    for w in ["zzzonlyintest", "superb", "café"] {
        assert_eq!(vocab.id(w), None, "{w}");
    }
    assert_eq!(
        vocab.encode("Great film, zzzonlyintest!"),
        [vocab.id("great").unwrap(), 2, UNK]
    );
    // The same counts in any order give the same ids.
    let texts: Vec<&str> = data.train.iter().map(|r| r.text.as_str()).collect();
    let mut rev = texts.clone();
    rev.reverse();
    assert_eq!(Vocab::build(rev, VocabOptions::default()).unwrap(), vocab);
    assert_eq!(
        Vocab::build(texts.clone(), VocabOptions::default()).unwrap(),
        vocab
    );

    let min2 = Vocab::build(
        texts.clone(),
        VocabOptions {
            min_count: 2,
            max_size: None,
        },
    )
    .unwrap();
    assert_eq!(min2.words(), ["<pad>", "<unk>", "film", "great", "it"]);
    let max4 = Vocab::build(
        texts.clone(),
        VocabOptions {
            min_count: 1,
            max_size: Some(4),
        },
    )
    .unwrap();
    assert_eq!(max4.words(), ["<pad>", "<unk>", "film", "great"]);
    assert_eq!(max4.encode("it film"), [UNK, 2]);
    let e = Vocab::build(
        texts,
        VocabOptions {
            min_count: 1,
            max_size: Some(1),
        },
    )
    .unwrap_err();
    assert_names(&e.to_string(), &["max_size 1", "<pad> and <unk>"]);
}

#[test]
fn padding_keeps_the_first_tokens_and_reports_the_length() {
    assert_eq!(pad_or_truncate(&[5, 6, 7], 5), (vec![5, 6, 7, PAD, PAD], 3));
    assert_eq!(pad_or_truncate(&[5, 6, 7], 2), (vec![5, 6], 2));
    assert_eq!(pad_or_truncate(&[5, 6, 7], 3), (vec![5, 6, 7], 3));
    assert_eq!(pad_or_truncate(&[], 2), (vec![0, 0], 0));
    assert_eq!(pad_or_truncate(&[5], 0), (vec![], 0));
}

// ---------------------------------------------------------------- GloVe

const GLOVE_OK: &str = "film 0.5 -1 2e-1 0\ngreat 1 2 3 4\r\nit -0.25 0.125 7 -8\n";

fn glove_error(text: &[u8]) -> String {
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "vec.txt.gz", &gz(text));
    let e = glove::read(&path).unwrap_err();
    assert!(matches!(e, Error::Format { .. }), "{e:?}");
    let msg = e.to_string();
    assert!(msg.contains("vec.txt.gz"), "{msg}");
    msg
}

#[test]
fn glove_reads_compressed_or_plain() {
    let dir = tempfile::tempdir().unwrap();
    let g = glove::read(&write(dir.path(), "v.txt.gz", &gz(GLOVE_OK.as_bytes()))).unwrap();
    assert_eq!((g.dim, g.len()), (4, 3));
    assert_eq!(g.vector("film"), Some(&[0.5, -1.0, 0.2, 0.0][..]));
    assert_eq!(g.vector("it"), Some(&[-0.25, 0.125, 7.0, -8.0][..]));
    assert_eq!(g.vector("awful"), None);
    assert_eq!(g.words["great"], 1);
    let plain = glove::read(&write(dir.path(), "v.txt", GLOVE_OK.as_bytes())).unwrap();
    assert_eq!(plain, g);
    // No final newline, and blank lines, change nothing.
    let variant = format!("\n{}", GLOVE_OK.trim_end().replace("\r\n", "\n\n"));
    assert_eq!(glove::parse(variant.as_bytes(), "v").unwrap(), g);
}

/// A 50-d line for `word` with `n` numbers, the `bad`-th (1-based) replaced by `text`.
fn line50(word: &str, n: usize, bad: Option<(usize, &str)>) -> String {
    let mut fields = vec![word.to_string()];
    for k in 1..=n {
        fields.push(match bad {
            Some((b, t)) if b == k => t.to_string(),
            _ => format!("{}", k as f32 / 100.0),
        });
    }
    fields.join(" ")
}

#[test]
fn a_bad_glove_line_names_the_line_and_the_field() {
    let ok = line50("the", 50, None);
    let msg = glove_error(format!("{ok}\n{}\n", line50("a", 49, None)).as_bytes());
    assert!(
        msg.ends_with(
            "vec.txt.gz: line 2: 50 fields (the word and 49 numbers), expected 51 (the word and the 50 numbers of every line since line 1)"
        ),
        "{msg}"
    );
    let msg = glove_error(format!("{ok}\n{ok}x 1\n").as_bytes());
    assert_names(&msg, &["line 2", "52 fields"]);
    let msg = glove_error(
        format!(
            "{ok}\n{}\n{}\n",
            line50("b", 50, None),
            line50("a", 50, Some((37, "0.1x")))
        )
        .as_bytes(),
    );
    assert!(
        msg.ends_with("vec.txt.gz: line 3: field 38 (number 37 of 50): \"0.1x\" is not a number"),
        "{msg}"
    );
    for (bad, why) in [
        ("nan", "not a finite"),
        ("inf", "not a finite"),
        ("1e39", "not a finite"),
        ("", "not a number"),
        ("1,5", "not a number"),
    ] {
        let msg = glove_error(format!("{}\n", line50("a", 50, Some((1, bad)))).as_bytes());
        assert_names(&msg, &["line 1: field 2 (number 1 of 50)", why]);
    }
    // Two spaces make an empty field.
    let msg = glove_error(b"a 1  2\n");
    assert_names(
        &msg,
        &["line 1: field 3 (number 2 of 3): \"\" is not a number"],
    );
    let msg = glove_error(format!("{ok}\n\n{}\n", line50("the", 50, None)).as_bytes());
    assert_names(
        &msg,
        &["line 3: field 1 (the word): \"the\" already has a vector, on line 1"],
    );
    let msg = glove_error(b" 1 2\n");
    assert_names(&msg, &["line 1: field 1 (the word)"]);
    let msg = glove_error(b"\xff\xfe 1 2\n");
    assert_names(&msg, &["line 1: field 1 (the word)", "UTF-8"]);
    let msg = glove_error(b"lonely\n");
    assert_names(&msg, &["line 1: 1 field"]);
    let msg = glove_error(b"");
    assert_names(&msg, &["no vectors"]);
}

#[test]
fn a_truncated_or_corrupt_glove_gz_is_an_error() {
    let text: String = (0..300).map(|i| format!("w{i} 1 2 3 4\n")).collect();
    let good = gz(text.as_bytes());
    let dir = tempfile::tempdir().unwrap();
    for cut in [good.len() / 2, good.len() - 4, 5] {
        let path = write(dir.path(), "t.txt.gz", &good[..cut]);
        let msg = glove::read(&path).unwrap_err().to_string();
        assert_names(&msg, &["t.txt.gz", "cannot be decompressed"]);
    }
}

fn small_vocab() -> Vocab {
    Vocab::build(
        ["film film film great great it awful"],
        VocabOptions::default(),
    )
    .unwrap()
}

#[test]
fn the_embedding_matrix_takes_glove_rows_and_a_documented_oov_vector() {
    let vocab = small_vocab(); // <pad> <unk> film great awful it
    assert_eq!(vocab.words()[2..], ["film", "great", "awful", "it"]);
    let g = glove::parse(GLOVE_OK.as_bytes(), "g").unwrap();
    let (m, oov) = glove::embedding_matrix(&vocab, &g, Oov::Zeros);
    assert_eq!((m.nrows(), m.ncols(), oov), (6, 4, 1));
    for (id, word) in vocab.words().iter().enumerate() {
        let row: Vec<f32> = m.row(id).iter().copied().collect();
        match g.vector(word) {
            Some(v) => assert_eq!(row, v, "{word}"),
            None => assert_eq!(row, [0.0; 4], "{word}"),
        }
    }

    let uniform = Oov::Uniform { a: 0.05, seed: 7 };
    let (u, oov) = glove::embedding_matrix(&vocab, &g, uniform);
    assert_eq!(oov, 1);
    assert_eq!(
        u.row(PAD as usize).iter().copied().collect::<Vec<_>>(),
        [0.0; 4]
    );
    for id in [UNK as usize, 4] {
        let row: Vec<f32> = u.row(id).iter().copied().collect();
        assert!(row.iter().all(|x| x.abs() < 0.05 && *x != 0.0), "{row:?}");
    }
    assert_ne!(u.row(UNK as usize), u.row(4));
    assert_eq!(u.row(2), m.row(2));
    // Seeded: the same seed gives the same matrix, another seed another.
    assert_eq!(glove::embedding_matrix(&vocab, &g, uniform).0, u);
    let (other, _) = glove::embedding_matrix(&vocab, &g, Oov::Uniform { a: 0.05, seed: 8 });
    assert_ne!(other, u);
    // A width that is not a positive number gives zeros, as `Init::Uniform` does.
    let (z, _) = glove::embedding_matrix(
        &vocab,
        &g,
        Oov::Uniform {
            a: f32::NAN,
            seed: 7,
        },
    );
    assert_eq!(z, m);
}

// ---------------------------------------------------------------- no panics

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

fn edit(bytes: &'static [u8]) -> impl Strategy<Value = Edit> {
    let byte = prop_oneof![prop::sample::select(bytes.to_vec()), any::<u8>()];
    prop_oneof![
        (any::<usize>(), byte.clone()).prop_map(|(i, b)| Edit::Set(i, b)),
        (any::<usize>(), byte).prop_map(|(i, b)| Edit::Insert(i, b)),
        (any::<usize>(), 1usize..600).prop_map(|(i, n)| Edit::Delete(i, n)),
    ]
}

/// Recompute the checksum of every block that looks like a ustar/GNU header, so that mutations of
/// names, sizes and types get past the checksum to the code that reads them.
fn fix_checksums(tar: &mut [u8]) {
    for block in tar.chunks_exact_mut(512) {
        if &block[257..262] == b"ustar" {
            block[148..156].fill(b' ');
            let sum: u32 = block.iter().map(|&b| u32::from(b)).sum();
            block[148..156].copy_from_slice(format!("{sum:06o}\0 ").as_bytes());
        }
    }
}

fn check(data: &Imdb) {
    for split in [&data.train, &data.test] {
        assert!(split
            .windows(2)
            .all(|w| (w[0].positive, w[0].id) < (w[1].positive, w[1].id)));
        for r in split.iter() {
            assert!(if r.positive {
                (7..=10).contains(&r.rating)
            } else {
                (1..=4).contains(&r.rating)
            });
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn arbitrary_bytes_never_panic_the_glove_parser(bytes in prop::collection::vec(any::<u8>(), 0..600)) {
        match glove::parse(&bytes[..], "p") {
            Ok(g) => prop_assert_eq!(g.vectors.len(), g.len() * g.dim),
            Err(e) => prop_assert!(e.to_string().starts_with("p: "), "{}", e),
        }
    }

    #[test]
    fn mutated_glove_files_never_panic(edits in prop::collection::vec(edit(b" \n\r.-e0123456789"), 1..6)) {
        let mut bytes = GLOVE_OK.as_bytes().to_vec();
        apply(&mut bytes, &edits);
        if let Ok(g) = glove::parse(&bytes[..], "m") {
            prop_assert_eq!(g.vectors.len(), g.len() * g.dim);
            prop_assert!(g.vectors.iter().all(|x| x.is_finite()));
        }
    }

    #[test]
    fn mutated_archives_never_panic(
        compressed in any::<bool>(),
        fix in any::<bool>(),
        edits in prop::collection::vec(edit(b"\0 0123456789_/.txaclImdbposnegtrain"), 1..5),
    ) {
        let mut bytes = tar_of(&good_entries());
        apply(&mut bytes, &edits);
        if fix {
            fix_checksums(&mut bytes);
        }
        if compressed {
            bytes = gz(&bytes);
            // Mutate the compressed stream too.
            apply(&mut bytes, &edits[..1]);
        }
        match imdb::parse(&bytes[..], "m", 2) {
            Ok(data) => check(&data),
            Err(e) => prop_assert!(e.to_string().starts_with("m: "), "{}", e),
        }
    }
}

// ---------------------------------------------------------------- the real files (opt-in)

/// Opt-in: with `ZERODL_DATA` pointing at the real data, the archive holds 12,500 reviews per label in
/// each split and GloVe 62,596 words of dimension 50.
#[test]
fn real_imdb_and_glove_have_their_published_sizes() {
    let root = std::env::var("ZERODL_DATA").unwrap_or_default();
    let archive = Path::new(&root).join("imdb").join(imdb::ARCHIVE);
    let vectors = Path::new(&root)
        .join("glove")
        .join(format!("{}.gz", glove::FILE));
    if root.is_empty() || !archive.exists() || !vectors.exists() {
        eprintln!(
            "skipped: real IMDB/GloVe files not found (set ZERODL_DATA to a data root holding imdb/{} and glove/{}.gz)",
            imdb::ARCHIVE,
            glove::FILE
        );
        return;
    }
    let data = imdb::load().unwrap();
    for split in [&data.train, &data.test] {
        assert_eq!(split.len(), 25_000);
        assert_eq!(split.iter().filter(|r| r.positive).count(), 12_500);
        // The copy is complete: ids 0..12499 under each label.
        assert!(split[..12_500]
            .iter()
            .enumerate()
            .all(|(i, r)| !r.positive && r.id == i as u32));
        assert!(split[12_500..]
            .iter()
            .enumerate()
            .all(|(i, r)| r.positive && r.id == i as u32));
        check(&Imdb {
            train: split.clone(),
            test: vec![],
        });
    }
    let all = || data.train.iter().chain(&data.test);
    assert_eq!(all().filter(|r| r.text.contains("<br />")).count(), 29_200);
    assert_eq!(all().filter(|r| !r.text.is_ascii()).count(), 4_660);

    let g: Glove = glove::load().unwrap();
    assert_eq!((g.len(), g.dim), (62_596, 50));
    assert_eq!(g.vectors.len(), 62_596 * 50);
    assert_eq!(g.words["the"], 0);
    assert_eq!(g.vector("the").unwrap()[0], 0.418);
}
