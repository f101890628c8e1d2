//! Bad bytes never panic (issue 16): every reader of outside bytes — IDX (raw and gzip), the CSI-300 CSVs,
//! the IMDB archive, the GloVe text, the tokenizer — is fed arbitrary bytes and damaged copies of valid
//! files the test builds itself (cut short, extended, bit-flipped, header sizes set to huge values, the
//! gzip layer damaged too). Each must answer with a typed error that names the file, or with data that
//! keeps the reader's promises; never a panic, and never an allocation beyond what the input justifies
//! (a header claiming four billion images must be refused, not reserved).
//!
//! The default run is quick (a few hundred cases in all); a long run sets the cases per property:
//! `ZERODL_FUZZ_CASES=20000 cargo test --release --test fuzz`.

use flate2::{read::MultiGzDecoder, write::GzEncoder, Compression};
use proptest::prelude::*;
use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::io::{Read, Write};
use std::path::Path;
use zerodl::data::text::{self, Vocab, VocabOptions};
use zerodl::data::{csi300, glove, idx, imdb};
use zerodl::Error;

// ---------------------------------------------------------------- the allocation watch

/// The system allocator, noting the largest single request made on each thread, so that a property can
/// bound what one read allocated.
struct Watched;

thread_local! {
    static LARGEST: Cell<usize> = const { Cell::new(0) };
}

fn note(size: usize) {
    // `try_with`: the allocator also runs while thread-locals are torn down.
    let _ = LARGEST.try_with(|l| l.set(l.get().max(size)));
}

// SAFETY: every call is passed on unchanged to the system allocator.
unsafe impl GlobalAlloc for Watched {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        note(layout.size());
        System.alloc(layout)
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        note(layout.size());
        System.alloc_zeroed(layout)
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        note(new_size);
        System.realloc(ptr, layout, new_size)
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        System.dealloc(ptr, layout)
    }
}

#[global_allocator]
static ALLOCATOR: Watched = Watched;

/// The result of `f` and the largest single allocation it made.
fn watched<T>(f: impl FnOnce() -> T) -> (T, usize) {
    LARGEST.with(|l| l.set(0));
    let out = f();
    (out, LARGEST.with(|l| l.get()))
}

/// What reading `len` bytes may allocate at once: buffers of fixed size (decoders, readers) plus a few
/// times the data, since growing vectors double.
fn allowed(len: usize) -> usize {
    (1 << 20) + 16 * len
}

/// The length of what a gzip stream decompresses to before it ends or breaks: a damaged stream can
/// legitimately expand, and what it expands to is input the reader had to look at.
fn inflated_len(bytes: &[u8]) -> usize {
    let mut out = Vec::new();
    let _ = MultiGzDecoder::new(bytes).read_to_end(&mut out);
    out.len()
}

// ---------------------------------------------------------------- the settings

/// Cases per property: a few dozen by default, `ZERODL_FUZZ_CASES` for a long run.
fn config(default: u32) -> ProptestConfig {
    let cases = std::env::var("ZERODL_FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default);
    ProptestConfig {
        // Shrinking a failure of a long run can take longer than the run; the first failure is enough.
        max_shrink_iters: 256,
        ..ProptestConfig::with_cases(cases)
    }
}

/// The error is a format or I/O error whose path is `name`: what a user needs to find the bad file.
fn names(e: &Error, name: &str) -> std::result::Result<(), TestCaseError> {
    match e {
        Error::Format { path, msg } if path == name && !msg.is_empty() => Ok(()),
        Error::Io { path, .. } if path == name => Ok(()),
        other => Err(TestCaseError::fail(format!(
            "error does not name {name}: {other:?}"
        ))),
    }
}

// ---------------------------------------------------------------- damage

#[derive(Clone, Debug)]
enum Edit {
    Flip(usize, u8),
    Set(usize, u8),
    Insert(usize, Vec<u8>),
    Delete(usize, usize),
    Truncate(usize),
    Extend(Vec<u8>),
}

fn apply(bytes: &mut Vec<u8>, edits: &[Edit]) {
    for edit in edits {
        let len = bytes.len();
        match edit {
            Edit::Flip(i, bit) if len > 0 => bytes[i % len] ^= 1 << (bit % 8),
            Edit::Set(i, b) if len > 0 => bytes[i % len] = *b,
            Edit::Insert(i, more) => {
                let at = i % (len + 1);
                bytes.splice(at..at, more.iter().copied());
            }
            Edit::Delete(i, n) if len > 0 => {
                let start = i % len;
                bytes.drain(start..(start + n).min(len));
            }
            Edit::Truncate(i) => bytes.truncate(i % (len + 1)),
            Edit::Extend(more) => bytes.extend_from_slice(more),
            _ => {}
        }
    }
}

/// Damage drawn from `alphabet` (the bytes that mean something in the format) and from any byte.
fn edits(alphabet: &'static [u8]) -> impl Strategy<Value = Vec<Edit>> {
    let byte = prop_oneof![prop::sample::select(alphabet.to_vec()), any::<u8>()];
    let bytes = prop::collection::vec(byte.clone(), 1..40);
    let edit = prop_oneof![
        (any::<usize>(), 0u8..8).prop_map(|(i, b)| Edit::Flip(i, b)),
        (any::<usize>(), byte).prop_map(|(i, b)| Edit::Set(i, b)),
        (any::<usize>(), bytes.clone()).prop_map(|(i, b)| Edit::Insert(i, b)),
        (any::<usize>(), 1usize..64).prop_map(|(i, n)| Edit::Delete(i, n)),
        any::<usize>().prop_map(Edit::Truncate),
        bytes.prop_map(Edit::Extend),
    ];
    prop::collection::vec(edit, 1..5)
}

/// How a file reaches the reader: plain, gzip, gzip in several members, or gzip that is itself damaged.
#[derive(Clone, Debug)]
enum Packing {
    Plain,
    Gzip,
    Members(usize),
    DamagedGzip(Vec<Edit>),
}

fn packing() -> impl Strategy<Value = Packing> {
    prop_oneof![
        Just(Packing::Plain),
        Just(Packing::Gzip),
        any::<usize>().prop_map(Packing::Members),
        edits(b"\x1f\x8b\x08\0\xff").prop_map(Packing::DamagedGzip),
    ]
}

fn gz(bytes: &[u8]) -> Vec<u8> {
    let mut e = GzEncoder::new(Vec::new(), Compression::fast());
    e.write_all(bytes).unwrap();
    e.finish().unwrap()
}

/// `bytes` as the concatenation of two gzip members, cut at `at`: what `cat a.gz b.gz` and parallel
/// compressors make, and still one valid gzip file.
fn members(bytes: &[u8], at: usize) -> Vec<u8> {
    let at = at % (bytes.len() + 1);
    let mut out = gz(&bytes[..at]);
    out.extend(gz(&bytes[at..]));
    out
}

/// The packed bytes and the file name that tells the reader how to read them.
fn pack(bytes: &[u8], packing: &Packing, stem: &str) -> (Vec<u8>, String) {
    match packing {
        Packing::Plain => (bytes.to_vec(), stem.to_string()),
        Packing::Gzip => (gz(bytes), format!("{stem}.gz")),
        Packing::Members(at) => (members(bytes, *at), format!("{stem}.gz")),
        Packing::DamagedGzip(edits) => {
            let mut z = gz(bytes);
            apply(&mut z, edits);
            (z, format!("{stem}.gz"))
        }
    }
}

/// Writes the packed file into `dir` and returns its path and the input size the reader may use.
fn write_packed(
    dir: &Path,
    bytes: &[u8],
    packing: &Packing,
    stem: &str,
) -> (std::path::PathBuf, usize) {
    let (packed, name) = pack(bytes, packing, stem);
    let path = dir.join(name);
    std::fs::write(&path, &packed).unwrap();
    let len = match packing {
        Packing::Plain => packed.len(),
        _ => packed.len().max(inflated_len(&packed)),
    };
    (path, len)
}

// ---------------------------------------------------------------- IDX

fn idx_file() -> impl Strategy<Value = (Vec<usize>, Vec<u8>)> {
    prop::collection::vec(0usize..7, 1..4).prop_flat_map(|dims| {
        let n = dims.iter().product::<usize>();
        (Just(dims), prop::collection::vec(any::<u8>(), n))
    })
}

/// A dimension as big as the header can hold, or one just past the data.
fn huge_dim() -> impl Strategy<Value = u32> {
    prop_oneof![
        Just(u32::MAX),
        Just(4_000_000_000),
        Just(1 << 31),
        Just(60_000),
        any::<u32>(),
    ]
}

/// A valid IDX with one dimension replaced by `dim`, as a damaged or hostile header would say.
fn with_dim(bytes: &mut [u8], which: usize, dim: u32) {
    let ndim = usize::from(bytes[3]);
    let k = which % ndim;
    bytes[4 + 4 * k..8 + 4 * k].copy_from_slice(&dim.to_be_bytes());
}

fn check_idx(
    result: &zerodl::Result<idx::Idx>,
    name: &str,
    largest: usize,
    input: usize,
) -> std::result::Result<(), TestCaseError> {
    prop_assert!(
        largest <= allowed(input),
        "{largest} bytes allocated at once for {input} bytes of input"
    );
    match result {
        Ok(got) => {
            let n = got.dims.iter().try_fold(1usize, |n, &d| n.checked_mul(d));
            prop_assert_eq!(n, Some(got.data.len()));
        }
        Err(e) => names(e, name)?,
    }
    Ok(())
}

proptest! {
    #![proptest_config(config(32))]

    #[test]
    fn idx_arbitrary_bytes(bytes in prop::collection::vec(any::<u8>(), 0..256), magic in any::<bool>()) {
        // Half the cases start like an IDX file, so that the header's dimensions are read at all.
        let mut bytes = bytes;
        if magic && bytes.len() >= 4 {
            bytes[..3].copy_from_slice(&[0, 0, 8]);
            bytes[3] %= 5;
        }
        let (result, largest) = watched(|| idx::parse(&bytes, "a.idx"));
        check_idx(&result, "a.idx", largest, bytes.len())?;
    }

    #[test]
    fn idx_damaged_files(
        (dims, data) in idx_file(),
        damage in edits(b"\0\x08\x01\x02\x03\xff"),
        huge in prop::option::of((any::<usize>(), huge_dim())),
        packing in packing(),
    ) {
        let mut bytes = idx::encode(&dims, &data);
        if let Some((which, dim)) = huge {
            with_dim(&mut bytes, which, dim);
        }
        apply(&mut bytes, &damage);
        let dir = tempfile::tempdir().unwrap();
        let (path, input) = write_packed(dir.path(), &bytes, &packing, "images-idx3-ubyte");
        let (result, largest) = watched(|| idx::read(&path));
        check_idx(&result, &path.display().to_string(), largest, input)?;
    }

    /// The header's claim is checked against the bytes there before anything is reserved for it.
    #[test]
    fn idx_huge_headers_are_refused(
        (dims, data) in idx_file(),
        which in any::<usize>(),
        dim in huge_dim(),
        packing in packing(),
    ) {
        let mut bytes = idx::encode(&dims, &data);
        with_dim(&mut bytes, which, dim);
        let dir = tempfile::tempdir().unwrap();
        let (path, input) = write_packed(dir.path(), &bytes, &packing, "labels-idx1-ubyte");
        let (result, largest) = watched(|| idx::read(&path));
        check_idx(&result, &path.display().to_string(), largest, input)?;
    }

    /// Packing is invisible: plain, gzip and multi-member gzip read alike.
    #[test]
    fn idx_reads_the_same_however_packed((dims, data) in idx_file(), at in any::<usize>()) {
        let bytes = idx::encode(&dims, &data);
        let want = idx::Idx { dims, data };
        let dir = tempfile::tempdir().unwrap();
        for packing in [Packing::Plain, Packing::Gzip, Packing::Members(at)] {
            let (path, _) = write_packed(dir.path(), &bytes, &packing, "x-idx1-ubyte");
            prop_assert_eq!(idx::read(&path).unwrap(), want.clone());
        }
    }
}

// ---------------------------------------------------------------- CSI-300

/// A valid file of either layout: `n` rows from day `first`.
fn csi300_file(dated: bool, first: u32, rows: &[(f64, f64, f64)], crlf: bool) -> Vec<u8> {
    let lines: Vec<String> = rows
        .iter()
        .enumerate()
        .map(|(i, (c, v, t))| {
            let seq = first.wrapping_add(i as u32);
            if dated {
                // One row a day in January and February of a year; at most 40 rows, so always real dates.
                let (month, day) = if i < 31 { (1, i + 1) } else { (2, i - 30) };
                format!("2005-{month:02}-{day:02},{seq},{c},{v:e},{t},")
            } else {
                format!("{seq:>6}, {c:.4}, {v}, {t}")
            }
        })
        .collect();
    lines.join(if crlf { "\r\n" } else { "\n" }).into_bytes()
}

fn csi300_rows() -> impl Strategy<Value = Vec<(f64, f64, f64)>> {
    prop::collection::vec((1e-3f64..1e5, 0f64..1e12, 0f64..1e13), 1..40)
}

fn check_series(
    result: &zerodl::Result<csi300::Series>,
    name: &str,
    largest: usize,
    input: usize,
) -> std::result::Result<(), TestCaseError> {
    prop_assert!(
        largest <= allowed(input),
        "{largest} bytes allocated at once for {input} bytes of input"
    );
    match result {
        Ok(s) => {
            let n = s.len();
            prop_assert!(n > 0);
            prop_assert_eq!((s.seq.len(), s.volume.len(), s.turnover.len()), (n, n, n));
            prop_assert!(s.close.iter().all(|&c| c.is_finite() && c > 0.0));
            prop_assert!(s
                .volume
                .iter()
                .chain(&s.turnover)
                .all(|&v| v.is_finite() && v >= 0.0));
            prop_assert!(s.seq.windows(2).all(|w| w[1] == w[0] + 1));
            if let Some(d) = &s.dates {
                prop_assert_eq!(d.len(), n);
                prop_assert!(d.windows(2).all(|w| w[0] < w[1]));
            }
        }
        Err(e) => names(e, name)?,
    }
    Ok(())
}

proptest! {
    #![proptest_config(config(32))]

    #[test]
    fn csi300_arbitrary_bytes(bytes in prop::collection::vec(any::<u8>(), 0..512), dated in any::<bool>()) {
        let (result, largest) = watched(|| if dated {
            csi300::parse_history(&bytes, "c.csv")
        } else {
            csi300::parse_seq(&bytes, "c.csv")
        });
        check_series(&result, "c.csv", largest, bytes.len())?;
    }

    #[test]
    fn csi300_damaged_files(
        dated in any::<bool>(),
        first in prop_oneof![Just(u32::MAX - 3), 0u32..10_000],
        rows in csi300_rows(),
        crlf in any::<bool>(),
        damage in edits(b", \r\n\t.-+eE0123456789\"nafi"),
        packing in packing(),
    ) {
        let mut bytes = csi300_file(dated, first, &rows, crlf);
        apply(&mut bytes, &damage);
        let dir = tempfile::tempdir().unwrap();
        let stem = if dated { csi300::HISTORY_FILE } else { csi300::SEQ_FILE };
        let (path, input) = write_packed(dir.path(), &bytes, &packing, stem);
        let (result, largest) = watched(|| if dated {
            csi300::read_history(&path)
        } else {
            csi300::read_seq(&path)
        });
        check_series(&result, &path.display().to_string(), largest, input)?;
    }

    #[test]
    fn csi300_reads_the_same_however_packed(
        dated in any::<bool>(),
        rows in csi300_rows(),
        at in any::<usize>(),
    ) {
        let bytes = csi300_file(dated, 1, &rows, false);
        let dir = tempfile::tempdir().unwrap();
        let read = |packing: Packing| {
            let (path, _) = write_packed(dir.path(), &bytes, &packing, "c.csv");
            if dated { csi300::read_history(&path) } else { csi300::read_seq(&path) }.unwrap()
        };
        let plain = read(Packing::Plain);
        prop_assert_eq!(plain.len(), rows.len());
        prop_assert_eq!(&read(Packing::Gzip), &plain);
        prop_assert_eq!(&read(Packing::Members(at)), &plain);
    }
}

// ---------------------------------------------------------------- GloVe

fn glove_file(dim: usize, words: usize, values: &[f32]) -> Vec<u8> {
    let mut text = String::new();
    for w in 0..words {
        text.push_str(&format!("w{w}"));
        for k in 0..dim {
            text.push_str(&format!(" {}", values[(w * dim + k) % values.len()]));
        }
        text.push('\n');
    }
    text.into_bytes()
}

fn check_glove(
    result: &zerodl::Result<glove::Glove>,
    name: &str,
    largest: usize,
    input: usize,
) -> std::result::Result<(), TestCaseError> {
    prop_assert!(
        largest <= allowed(input),
        "{largest} bytes allocated at once for {input} bytes of input"
    );
    match result {
        Ok(g) => {
            prop_assert!(g.dim > 0 && !g.is_empty());
            prop_assert_eq!(g.vectors.len(), g.len() * g.dim);
            prop_assert!(g.vectors.iter().all(|x| x.is_finite()));
            for (word, &row) in &g.words {
                prop_assert!(row < g.len());
                prop_assert_eq!(g.vector(word).map(<[f32]>::len), Some(g.dim));
            }
        }
        Err(e) => names(e, name)?,
    }
    Ok(())
}

proptest! {
    #![proptest_config(config(32))]

    #[test]
    fn glove_arbitrary_bytes(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        let (result, largest) = watched(|| glove::parse(&bytes[..], "g.txt"));
        check_glove(&result, "g.txt", largest, bytes.len())?;
    }

    #[test]
    fn glove_damaged_files(
        dim in 1usize..6,
        words in 1usize..12,
        values in prop::collection::vec(-10f32..10.0, 1..20),
        damage in edits(b" \n\r.-e0123456789wnaif"),
        packing in packing(),
    ) {
        let mut bytes = glove_file(dim, words, &values);
        apply(&mut bytes, &damage);
        let dir = tempfile::tempdir().unwrap();
        let (path, input) = write_packed(dir.path(), &bytes, &packing, glove::FILE);
        let (result, largest) = watched(|| glove::read(&path));
        check_glove(&result, &path.display().to_string(), largest, input)?;
    }

    #[test]
    fn glove_reads_the_same_however_packed(
        dim in 1usize..6,
        words in 1usize..12,
        values in prop::collection::vec(-10f32..10.0, 1..20),
        at in any::<usize>(),
    ) {
        let bytes = glove_file(dim, words, &values);
        let dir = tempfile::tempdir().unwrap();
        let read = |packing: Packing| {
            let (path, _) = write_packed(dir.path(), &bytes, &packing, "g.txt");
            glove::read(&path).unwrap()
        };
        let plain = read(Packing::Plain);
        prop_assert_eq!((plain.len(), plain.dim), (words, dim));
        prop_assert_eq!(&read(Packing::Gzip), &plain);
        prop_assert_eq!(&read(Packing::Members(at)), &plain);
    }
}

// ---------------------------------------------------------------- IMDB

/// A valid archive of `per_folder` reviews in each folder, with a side file, and the byte offset of every
/// entry's header (so that a test can rewrite a header's size field).
fn imdb_archive(per_folder: u32, text: &str) -> (Vec<u8>, Vec<usize>) {
    let mut entries = vec![("aclImdb/README".to_string(), b"readme".to_vec())];
    for split in ["train", "test"] {
        for (label, rating) in [("neg", 2), ("pos", 9)] {
            for id in 0..per_folder {
                entries.push((
                    format!("aclImdb/{split}/{label}/{id}_{rating}.txt"),
                    format!("{text} {id}").into_bytes(),
                ));
            }
        }
    }
    let mut builder = tar::Builder::new(Vec::new());
    let mut offsets = Vec::new();
    let mut at = 0;
    for (path, data) in &entries {
        let mut h = tar::Header::new_ustar();
        h.set_path(path).unwrap();
        h.set_size(data.len() as u64);
        h.set_mode(0o644);
        h.set_entry_type(tar::EntryType::Regular);
        h.set_cksum();
        builder.append(&h, &data[..]).unwrap();
        offsets.push(at);
        at += 512 + data.len().div_ceil(512) * 512;
    }
    (builder.into_inner().unwrap(), offsets)
}

/// The size field (12 bytes at 124) as octal text, or in the base-256 form tar uses for sizes past 8 GB.
fn set_size(tar: &mut [u8], header: usize, size: u64, base256: bool) {
    let field = &mut tar[header + 124..header + 136];
    if base256 {
        field.fill(0);
        field[0] = 0x80;
        field[4..].copy_from_slice(&size.to_be_bytes());
    } else {
        let text = format!("{:011o}\0", size.min(0o777_7777_7777));
        field.copy_from_slice(text.as_bytes());
    }
}

/// Recompute the checksum of every block that looks like a ustar header, so that damage to names, sizes
/// and types gets past the checksum to the code that reads them.
fn fix_checksums(tar: &mut [u8]) {
    for block in tar.chunks_exact_mut(512) {
        if &block[257..262] == b"ustar" {
            block[148..156].fill(b' ');
            let sum: u32 = block.iter().map(|&b| u32::from(b)).sum();
            block[148..156].copy_from_slice(format!("{sum:06o}\0 ").as_bytes());
        }
    }
}

fn check_imdb(
    result: &zerodl::Result<imdb::Imdb>,
    name: &str,
    per_folder: usize,
    largest: usize,
    input: usize,
) -> std::result::Result<(), TestCaseError> {
    prop_assert!(
        largest <= allowed(input),
        "{largest} bytes allocated at once for {input} bytes of input"
    );
    match result {
        Ok(data) => {
            for split in [&data.train, &data.test] {
                prop_assert_eq!(split.len(), 2 * per_folder);
                prop_assert!(split
                    .windows(2)
                    .all(|w| (w[0].positive, w[0].id) < (w[1].positive, w[1].id)));
                let rated = |r: &imdb::Review| {
                    if r.positive {
                        (7..=10).contains(&r.rating)
                    } else {
                        (1..=4).contains(&r.rating)
                    }
                };
                prop_assert!(split.iter().all(rated));
            }
        }
        Err(e) => names(e, name)?,
    }
    Ok(())
}

fn huge_size() -> impl Strategy<Value = u64> {
    prop_oneof![
        Just(u64::MAX),
        Just(1 << 40),
        Just(4_000_000_000),
        Just(imdb::MAX_REVIEW_BYTES + 1),
        0u64..2048,
    ]
}

proptest! {
    #![proptest_config(config(32))]

    #[test]
    fn imdb_arbitrary_bytes(bytes in prop::collection::vec(any::<u8>(), 0..2048), gzip in any::<bool>()) {
        let bytes = if gzip { gz(&bytes) } else { bytes };
        let (result, largest) = watched(|| imdb::parse(&bytes[..], "i.tar.gz", 1));
        check_imdb(&result, "i.tar.gz", 1, largest, bytes.len())?;
    }

    #[test]
    fn imdb_damaged_archives(
        per_folder in 1u32..3,
        damage in edits(b"\0 0123456789_/.txaclImdbposnegtrain"),
        size in prop::option::of((any::<usize>(), huge_size(), any::<bool>())),
        // Long-name, long-link, pax and sparse headers make the tar reader read their content itself.
        kind in prop::option::of((any::<usize>(), prop::sample::select(b"LKxgS5".to_vec()))),
        fix in any::<bool>(),
        packing in packing(),
    ) {
        let (mut bytes, offsets) = imdb_archive(per_folder, "A film.<br />Fine");
        if let Some((which, claimed, base256)) = size {
            set_size(&mut bytes, offsets[which % offsets.len()], claimed, base256);
        }
        if let Some((which, kind)) = kind {
            bytes[offsets[which % offsets.len()] + 156] = kind;
        }
        apply(&mut bytes, &damage);
        if fix || size.is_some() || kind.is_some() {
            fix_checksums(&mut bytes);
        }
        let dir = tempfile::tempdir().unwrap();
        let (path, input) = write_packed(dir.path(), &bytes, &packing, "aclImdb-labeled.tar");
        let (result, largest) = watched(|| imdb::read_expecting(&path, per_folder as usize));
        check_imdb(&result, &path.display().to_string(), per_folder as usize, largest, input)?;
    }

    #[test]
    fn imdb_reads_the_same_however_packed(per_folder in 1u32..4, at in any::<usize>()) {
        let (bytes, _) = imdb_archive(per_folder, "Quite good, really.");
        let dir = tempfile::tempdir().unwrap();
        let read = |packing: Packing| {
            let (path, _) = write_packed(dir.path(), &bytes, &packing, "a.tar");
            imdb::read_expecting(&path, per_folder as usize).unwrap()
        };
        let plain = read(Packing::Plain);
        prop_assert_eq!(plain.train.len(), 2 * per_folder as usize);
        prop_assert_eq!(&read(Packing::Gzip), &plain);
        prop_assert_eq!(&read(Packing::Members(at)), &plain);
    }
}

// ---------------------------------------------------------------- the tokenizer and the vocabulary

/// Text from review-like pieces (tags, apostrophes, non-ASCII letters) and any characters at all.
fn review_text() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        prop::sample::select(vec![
            "<br />", "<BR/>", "<br", "< br>", "<", ">", "'", "’", "don't", "İ", "Σ", "ß", "²",
            " ", "\u{301}", "日本", "\0",
        ])
        .prop_map(str::to_string),
        any::<char>().prop_map(String::from),
        "[a-zA-Z]{1,6}",
    ];
    prop::collection::vec(piece, 0..40).prop_map(|p| p.concat())
}

proptest! {
    #![proptest_config(config(32))]

    #[test]
    fn text_any_string_tokenizes(texts in prop::collection::vec(review_text(), 1..6), max in prop::option::of(2usize..8)) {
        for t in &texts {
            for w in text::tokenize(t) {
                prop_assert!(!w.is_empty());
                prop_assert!(w.chars().any(char::is_alphanumeric), "{:?}", w);
            }
        }
        let vocab = Vocab::build(texts.iter().map(String::as_str), VocabOptions { min_count: 1, max_size: max }).unwrap();
        prop_assert!(max.is_none_or(|m| vocab.len() <= m));
        for t in &texts {
            let ids = vocab.encode(t);
            prop_assert_eq!(ids.len(), text::tokenize(t).len());
            prop_assert!(ids.iter().all(|&id| (id as usize) < vocab.len() && id != text::PAD));
            let (padded, len) = text::pad_or_truncate(&ids, 5);
            prop_assert_eq!((padded.len(), len), (5, ids.len().min(5)));
        }
    }

    /// Arbitrary bytes read the way the IMDB reader hands them on: only valid UTF-8 reaches the tokenizer.
    #[test]
    fn text_arbitrary_bytes_lossy(bytes in prop::collection::vec(any::<u8>(), 0..256)) {
        let t = String::from_utf8_lossy(&bytes);
        let n = text::tokenize(&t).len();
        let vocab = Vocab::build([t.as_ref()], VocabOptions::default()).unwrap();
        prop_assert_eq!(vocab.encode(&t).len(), n);
    }
}

// ---------------------------------------------------------------- the cases the issue names

/// Issue 16's example: a header claiming four billion 28 x 28 images, in a file of a few bytes.
#[test]
fn an_idx_header_claiming_four_billion_images_is_refused_before_allocating() {
    // A megabyte of noise does not compress: the file is as large as the data it really holds.
    let mut x = 0x9e37_79b9_u32;
    let noise: Vec<u8> = (0..1300 * 784)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            x as u8
        })
        .collect();
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        (1, Packing::Plain),
        (1, Packing::Gzip),
        (1, Packing::Members(100)),
        (1300, Packing::Gzip),
    ];
    for (n, packing) in cases {
        let mut bytes = idx::encode(&[n, 28, 28], &noise[..n * 784]);
        with_dim(&mut bytes, 0, 4_000_000_000);
        let (path, input) = write_packed(dir.path(), &bytes, &packing, "t10k-images-idx3-ubyte");
        let (result, largest) = watched(|| idx::read(&path));
        let msg = result.unwrap_err().to_string();
        assert!(
            msg.starts_with(&path.display().to_string())
                && msg.contains("3136000000000 data bytes")
                && msg.contains("truncated"),
            "{msg}"
        );
        assert!(largest <= allowed(input), "{largest} bytes at once");
    }
    // Dimensions whose product does not fit in a usize are refused as such, not wrapped around.
    let overflowing = idx::encode(&[usize::MAX >> 32; 3], &[]);
    let msg = idx::parse(&overflowing, "o.idx").unwrap_err().to_string();
    assert!(
        msg.starts_with("o.idx: ") && msg.contains("multiply past"),
        "{msg}"
    );
}
