//! The data layer on fixtures the tests make: IDX parsing (raw and gzip) with its errors, MNIST loading with
//! its consistency checks, batching, the download (against a local HTTP server), and one opt-in check of the
//! real files.

use flate2::write::GzEncoder;
use flate2::Compression;
use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::Path;
use zerodl::data::batch::epoch_batches;
use zerodl::data::download::{fetch, Fetched, Remote};
use zerodl::data::{idx, mnist};
use zerodl::rng::seeded;
use zerodl::Error;

fn gz(bytes: &[u8]) -> Vec<u8> {
    let mut e = GzEncoder::new(Vec::new(), Compression::fast());
    e.write_all(bytes).unwrap();
    e.finish().unwrap()
}

fn write_mnist(dir: &Path, n_train: usize, n_test: usize, gzip: bool) {
    let make = |n: usize, seed: u8| {
        let pixels: Vec<u8> = (0..n * 784).map(|i| (i as u8).wrapping_mul(seed)).collect();
        let labels: Vec<u8> = (0..n).map(|i| (i % 10) as u8).collect();
        (
            idx::encode(&[n, 28, 28], &pixels),
            idx::encode(&[n], &labels),
        )
    };
    let (tri, trl) = make(n_train, 3);
    let (tei, tel) = make(n_test, 7);
    for (name, bytes) in mnist::FILES.iter().zip([tri, trl, tei, tel]) {
        if gzip {
            std::fs::write(dir.join(format!("{name}.gz")), gz(&bytes)).unwrap();
        } else {
            std::fs::write(dir.join(name), bytes).unwrap();
        }
    }
}

#[test]
fn idx_round_trips_and_reads_gzip() {
    let dir = tempfile::tempdir().unwrap();
    let bytes = idx::encode(&[2, 3], &[1, 2, 3, 4, 5, 6]);
    std::fs::write(dir.path().join("a.gz"), gz(&bytes)).unwrap();
    std::fs::write(dir.path().join("a"), &bytes).unwrap();
    let want = idx::Idx {
        dims: vec![2, 3],
        data: vec![1, 2, 3, 4, 5, 6],
    };
    assert_eq!(idx::read(&dir.path().join("a")).unwrap(), want);
    assert_eq!(idx::read(&dir.path().join("a.gz")).unwrap(), want);
}

#[test]
fn idx_errors_name_the_file_and_what_was_expected() {
    let msg = |bytes: &[u8]| idx::parse(bytes, "f.idx").unwrap_err().to_string();
    assert_eq!(
        msg(&[0x00, 0x00, 0x08]),
        "f.idx: 3 bytes is too short for an IDX header (at least 4)"
    );
    assert_eq!(
        msg(&[0x1f, 0x8b, 0x08, 0x00]),
        "f.idx: bad IDX magic number 1f 8b 08 00: expected 00 00 08 <dims>"
    );
    assert_eq!(
        msg(&[0, 0, 0x0d, 1, 0, 0, 0, 1, 0, 0, 0, 0]),
        "f.idx: IDX element type 0x0d is not unsigned bytes (0x08)"
    );
    let mut truncated = idx::encode(&[10, 28, 28], &[0; 7840]);
    truncated.truncate(truncated.len() - 100);
    assert_eq!(
        msg(&truncated),
        "f.idx: dimensions [10, 28, 28] need 7840 data bytes after the 16-byte header, found 7740 (truncated?)"
    );
    assert_eq!(
        msg(&[0, 0, 8, 3, 0, 0]),
        "f.idx: header declares 3 dimensions, which needs 16 header bytes; the file has 6"
    );
}

#[test]
fn a_corrupt_gzip_is_an_error_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("x.gz");
    let mut bytes = gz(&idx::encode(&[100], &[7; 100]));
    let n = bytes.len();
    bytes.truncate(n - 12);
    std::fs::write(&p, bytes).unwrap();
    let e = idx::read(&p).unwrap_err().to_string();
    assert!(
        e.starts_with(&p.display().to_string()) && e.contains("not a valid gzip stream"),
        "{e}"
    );
}

#[test]
fn mnist_loads_raw_or_gzip_with_both_views() {
    for gzip in [false, true] {
        let dir = tempfile::tempdir().unwrap();
        write_mnist(dir.path(), 30, 12, gzip);
        let m = mnist::load_from(dir.path()).unwrap();
        assert_eq!((m.train.len(), m.test.len()), (30, 12));
        let flat = m.train.flat();
        assert_eq!(flat.shape(), (30, 784));
        assert_eq!(
            flat[(1, 5)],
            ((784 + 5) as u8).wrapping_mul(3) as f32 / 255.0
        );
        assert!(m.train.images.iter().all(|&p| (0.0..=1.0).contains(&p)));
        let (shape, pixels) = m.test.nchw();
        assert_eq!(shape, [12, 1, 28, 28]);
        // (n, 0, h, w) of the NCHW view is pixel h * 28 + w of image n in the flat view.
        assert_eq!(pixels[3 * 784 + 5 * 28 + 7], m.test.flat()[(3, 5 * 28 + 7)]);
        assert_eq!(m.test.histogram(), [2, 2, 1, 1, 1, 1, 1, 1, 1, 1]);
    }
}

#[test]
fn mnist_missing_says_where_it_looked_and_how_to_get_it() {
    let dir = tempfile::tempdir().unwrap();
    let e = mnist::load_from(dir.path()).unwrap_err();
    assert!(matches!(e, Error::MissingData { .. }));
    let msg = e.to_string();
    assert!(
        msg.contains("train-images-idx3-ubyte (or train-images-idx3-ubyte.gz)"),
        "{msg}"
    );
    assert!(msg.contains(&dir.path().display().to_string()), "{msg}");
    assert!(
        msg.contains("zerodl data mnist") && msg.contains("ZERODL_DATA"),
        "{msg}"
    );
}

#[test]
fn a_directory_where_a_file_belongs_and_an_empty_split_name_the_path() {
    let dir = tempfile::tempdir().unwrap();
    write_mnist(dir.path(), 30, 12, false);
    let images = dir.path().join(mnist::FILES[2]);
    std::fs::remove_file(&images).unwrap();
    std::fs::create_dir(&images).unwrap();
    let e = mnist::load_from(dir.path()).unwrap_err().to_string();
    assert!(e.contains("t10k-images-idx3-ubyte: is a directory"), "{e}");
    std::fs::remove_dir(&images).unwrap();
    std::fs::write(&images, idx::encode(&[0, 28, 28], &[])).unwrap();
    std::fs::write(dir.path().join(mnist::FILES[3]), idx::encode(&[0], &[])).unwrap();
    let e = mnist::load_from(dir.path()).unwrap_err().to_string();
    assert!(e.contains("t10k-images-idx3-ubyte: holds no images"), "{e}");
}

#[test]
fn mnist_with_disagreeing_counts_is_rejected() {
    let dir = tempfile::tempdir().unwrap();
    write_mnist(dir.path(), 30, 12, false);
    std::fs::write(
        dir.path().join(mnist::FILES[1]),
        idx::encode(&[29], &[1; 29]),
    )
    .unwrap();
    let e = mnist::load_from(dir.path()).unwrap_err().to_string();
    assert!(e.contains("29 labels for the 30 images"), "{e}");
    std::fs::write(
        dir.path().join(mnist::FILES[1]),
        idx::encode(&[30], &[10; 30]),
    )
    .unwrap();
    let e = mnist::load_from(dir.path()).unwrap_err().to_string();
    assert!(e.contains("label 10 at index 0 is not a digit"), "{e}");
}

#[test]
fn batches_cover_every_example_once_are_seeded_and_keep_the_short_last_one() {
    let b1 = epoch_batches(103, 10, &mut seeded(5));
    let b2 = epoch_batches(103, 10, &mut seeded(5));
    let b3 = epoch_batches(103, 10, &mut seeded(6));
    assert_eq!(b1, b2);
    assert_ne!(b1, b3);
    assert_eq!(b1.len(), 11);
    assert_eq!(b1.last().unwrap().len(), 3);
    let mut all: Vec<usize> = b1.concat();
    all.sort_unstable();
    assert_eq!(all, (0..103).collect::<Vec<_>>());
}

/// A one-connection-at-a-time HTTP server on 127.0.0.1 that serves fixed bodies by path and stops after
/// `requests` requests.
fn serve(files: Vec<(String, Vec<u8>)>, requests: usize) -> (String, std::thread::JoinHandle<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let handle = std::thread::spawn(move || {
        for stream in listener.incoming().take(requests) {
            let mut s = stream.unwrap();
            let mut buf = [0u8; 4096];
            let n = s.read(&mut buf).unwrap();
            let req = String::from_utf8_lossy(&buf[..n]);
            let path = req.split_whitespace().nth(1).unwrap_or("/").to_string();
            match files.iter().find(|(p, _)| path.ends_with(p.as_str())) {
                Some((_, body)) => {
                    let head = format!(
                        "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                        body.len()
                    );
                    s.write_all(head.as_bytes()).unwrap();
                    s.write_all(body).unwrap();
                }
                None => {
                    s.write_all(
                        b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
                    )
                    .unwrap();
                }
            }
        }
    });
    (format!("http://{addr}/data/"), handle)
}

fn md5_hex(bytes: &[u8]) -> &'static str {
    use md5::{Digest, Md5};
    let h = Md5::digest(bytes);
    Box::leak(
        h.iter()
            .map(|b| format!("{b:02x}"))
            .collect::<String>()
            .into_boxed_str(),
    )
}

#[test]
fn download_verifies_checksums_and_writes_atomically() {
    let good = gz(&idx::encode(&[3], &[1, 2, 3]));
    let other = gz(&idx::encode(&[2], &[9, 9]));
    let files = [
        Remote {
            name: "good.gz",
            md5: md5_hex(&good),
        },
        Remote {
            name: "other.gz",
            md5: md5_hex(&other),
        },
    ];
    let (base, server) = serve(
        vec![
            ("good.gz".into(), good.clone()),
            ("other.gz".into(), other.clone()),
        ],
        2,
    );
    let dir = tempfile::tempdir().unwrap();
    let got = fetch(&base, dir.path(), &files, false).unwrap();
    server.join().unwrap();
    assert!(matches!(&got[0], Fetched::Downloaded(p) if p.ends_with("good.gz")));
    assert_eq!(std::fs::read(dir.path().join("good.gz")).unwrap(), good);
    assert_eq!(std::fs::read(dir.path().join("other.gz")).unwrap(), other);
    // A second run finds both files with the right checksum and asks the network nothing.
    let again = fetch("http://127.0.0.1:9/unreachable/", dir.path(), &files, false).unwrap();
    assert!(again.iter().all(|f| matches!(f, Fetched::AlreadyThere(_))));
}

#[test]
fn a_corrupt_download_is_rejected_and_leaves_nothing() {
    let good = gz(&idx::encode(&[3], &[1, 2, 3]));
    let mut corrupt = good.clone();
    corrupt[12] ^= 0xff;
    let files = [Remote {
        name: "f.gz",
        md5: md5_hex(&good),
    }];
    let (base, server) = serve(vec![("f.gz".into(), corrupt)], 1);
    let dir = tempfile::tempdir().unwrap();
    let e = fetch(&base, dir.path(), &files, false)
        .unwrap_err()
        .to_string();
    server.join().unwrap();
    assert!(
        e.contains("checksum mismatch") && e.contains(md5_hex(&good)),
        "{e}"
    );
    let left: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
    assert!(left.is_empty(), "files left behind: {left:?}");
}

#[test]
fn a_missing_remote_file_is_an_error_naming_the_url() {
    let files = [Remote {
        name: "absent.gz",
        md5: "00",
    }];
    let (base, server) = serve(vec![], 1);
    let dir = tempfile::tempdir().unwrap();
    let e = fetch(&base, dir.path(), &files, false)
        .unwrap_err()
        .to_string();
    server.join().unwrap();
    assert!(e.contains("absent.gz") && e.contains("404"), "{e}");
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
}

/// Opt-in: with `ZERODL_DATA` pointing at the real data, MNIST has the published counts and label histograms.
#[test]
fn real_mnist_counts_and_histograms() {
    let root = std::env::var("ZERODL_DATA").unwrap_or_default();
    let dir = Path::new(&root).join("mnist");
    if root.is_empty() || !dir.exists() {
        eprintln!("skipped: real MNIST not found (set ZERODL_DATA to a data root holding mnist/)");
        return;
    }
    let m = mnist::load_from(&dir).unwrap();
    assert_eq!((m.train.len(), m.test.len()), (60_000, 10_000));
    assert_eq!(
        m.train.histogram(),
        [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
    );
    assert_eq!(
        m.test.histogram(),
        [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
    );
    assert_eq!(&m.train.labels[..10], &[5, 0, 4, 1, 9, 2, 1, 3, 1, 4]);
    assert_eq!(&m.test.labels[..5], &[7, 2, 1, 0, 4]);
}

#[test]
fn a_batch_stream_runs_epoch_after_epoch_in_the_order_of_epoch_batches() {
    use zerodl::data::batch::BatchStream;
    let mut stream = BatchStream::new(10, 4, seeded(9));
    let mut rng = seeded(9);
    let expected: Vec<Vec<usize>> = (0..3)
        .flat_map(|_| epoch_batches(10, 4, &mut rng))
        .collect();
    let got: Vec<Vec<usize>> = (0..expected.len()).map(|_| stream.next_batch()).collect();
    assert_eq!(got, expected);
    assert_eq!(got.len(), 9, "three epochs of 4 + 4 + 2");
}
