//! The downloader against small HTTP servers run by the tests on 127.0.0.1, each misbehaving in one way
//! (issue 16): stalling mid-file, failing before succeeding, sending `Content-Encoding: gzip`, sending the
//! file decompressed, serving a multi-member gzip, answering 404. Every failure must be an error naming
//! the URL and leave no temporary file; every success must leave the `.gz` bytes under the `.gz` name.

use flate2::{read::MultiGzDecoder, write::GzEncoder, Compression};
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use zerodl::data::download::{fetch, fetch_with, Content, Fetched, Options, Remote};
use zerodl::data::idx;
use zerodl::Error;

// ---------------------------------------------------------------- fixtures

fn gz(bytes: &[u8]) -> Vec<u8> {
    let mut e = GzEncoder::new(Vec::new(), Compression::fast());
    e.write_all(bytes).unwrap();
    e.finish().unwrap()
}

fn gunzip(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    MultiGzDecoder::new(bytes).read_to_end(&mut out).unwrap();
    out
}

fn md5_hex(bytes: &[u8]) -> &'static str {
    use md5::{Digest, Md5};
    let hex: String = Md5::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    Box::leak(hex.into_boxed_str())
}

/// A small IDX file, its published `.gz` and their checksums.
struct Dataset {
    raw: Vec<u8>,
    gz: Vec<u8>,
    remote: Remote,
    content: Content,
}

fn dataset(name: &'static str) -> Dataset {
    // Noise, so that the `.gz` is a few kilobytes, as long as the raw data, and can be cut anywhere.
    let mut x = 0x2545_f491_u32;
    let pixels: Vec<u8> = (0..5 * 28 * 28)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            x as u8
        })
        .collect();
    let raw = idx::encode(&[5, 28, 28], &pixels);
    let gz = gz(&raw);
    Dataset {
        remote: Remote {
            name,
            md5: md5_hex(&gz),
        },
        content: Content {
            name,
            md5: md5_hex(&raw),
        },
        raw,
        gz,
    }
}

/// Quick settings for tests: a short read timeout and next to no wait between tries.
fn options(contents: Vec<Content>) -> Options {
    Options {
        connect_timeout: Duration::from_secs(2),
        read_timeout: Duration::from_millis(500),
        attempts: 3,
        backoff: Duration::from_millis(20),
        progress: false,
        contents,
    }
}

/// The names in `dir`, sorted: a leftover `.part` file shows here.
fn listing(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

// ---------------------------------------------------------------- the server

/// An HTTP server on 127.0.0.1: each connection is handed, on its own thread, to `respond` with its
/// number (from 0) and the requested path. It serves until the test process ends.
struct Server {
    base: String,
    requests: Arc<AtomicUsize>,
}

impl Server {
    fn start(respond: impl Fn(usize, &str, &mut TcpStream) + Send + Sync + 'static) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let base = format!("http://{}/data/", listener.local_addr().unwrap());
        let requests = Arc::new(AtomicUsize::new(0));
        let count = requests.clone();
        let respond = Arc::new(respond);
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut s) = stream else { continue };
                let n = count.fetch_add(1, Ordering::SeqCst);
                let respond = respond.clone();
                std::thread::spawn(move || {
                    let path = read_request(&mut s);
                    respond(n, &path, &mut s);
                });
            }
        });
        Server { base, requests }
    }

    fn requests(&self) -> usize {
        self.requests.load(Ordering::SeqCst)
    }
}

/// Reads the request head and returns the path.
fn read_request(s: &mut TcpStream) -> String {
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") && s.read(&mut byte).unwrap_or(0) == 1 {
        head.push(byte[0]);
    }
    let head = String::from_utf8_lossy(&head);
    head.split_whitespace().nth(1).unwrap_or("/").to_string()
}

fn send(s: &mut TcpStream, status: &str, headers: &[(&str, String)], body: &[u8]) {
    let mut head = format!("HTTP/1.1 {status}\r\nConnection: close\r\n");
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    let _ = s.write_all(head.as_bytes());
    let _ = s.write_all(body);
}

fn ok(s: &mut TcpStream, body: &[u8]) {
    send(
        s,
        "200 OK",
        &[("Content-Length", body.len().to_string())],
        body,
    );
}

// ---------------------------------------------------------------- the tests

#[test]
fn a_normal_download_is_verified_and_renamed_into_place() {
    let d = dataset("train-images-idx3-ubyte.gz");
    let body = d.gz.clone();
    let server = Server::start(move |_, _, s| ok(s, &body));
    let dir = tempfile::tempdir().unwrap();
    let got = fetch_with(&server.base, dir.path(), &[d.remote], &options(vec![])).unwrap();
    let dest = dir.path().join(d.remote.name);
    assert_eq!(got, vec![Fetched::Downloaded(dest.clone())]);
    assert_eq!(std::fs::read(&dest).unwrap(), d.gz);
    assert_eq!(listing(dir.path()), vec![d.remote.name]);
    assert_eq!(idx::read(&dest).unwrap().dims, vec![5, 28, 28]);
    // Found again by its checksum: the network is not asked.
    let again = fetch("http://127.0.0.1:9/", dir.path(), &[d.remote], false).unwrap();
    assert_eq!(again, vec![Fetched::AlreadyThere(dest)]);
    assert_eq!(server.requests(), 1);
}

#[test]
fn a_server_that_stalls_after_1000_bytes_times_out_and_leaves_no_part_file() {
    let d = dataset("t10k-images-idx3-ubyte.gz");
    let body = d.gz.clone();
    let server = Server::start(move |_, _, s| {
        let head = [("Content-Length", (body.len() + 100_000).to_string())];
        send(s, "200 OK", &head, &body[..1000.min(body.len())]);
        // Hold the connection open, sending nothing, until the client gives up and closes it.
        let _ = s.set_read_timeout(Some(Duration::from_secs(30)));
        let _ = s.read(&mut [0u8; 1]);
    });
    let dir = tempfile::tempdir().unwrap();
    let opts = Options {
        attempts: 2,
        ..options(vec![d.content])
    };
    let start = Instant::now();
    let e = fetch_with(&server.base, dir.path(), &[d.remote], &opts).unwrap_err();
    let took = start.elapsed();
    let msg = e.to_string();
    assert!(matches!(e, Error::Format { .. }), "{e:?}");
    assert!(
        msg.starts_with(&format!("{}{}", server.base, d.remote.name))
            && msg.contains("timed out")
            && msg.contains("after 1000 bytes")
            && msg.contains("after 2 tries"),
        "{msg}"
    );
    assert!(took < Duration::from_secs(5), "took {took:?}");
    assert_eq!(server.requests(), 2);
    assert!(listing(dir.path()).is_empty(), "{:?}", listing(dir.path()));
}

#[test]
fn transient_failures_are_tried_again() {
    let d = dataset("train-labels-idx1-ubyte.gz");
    let body = d.gz.clone();
    // A 503, then a connection that breaks after 100 bytes, then the file.
    let server = Server::start(move |n, _, s| match n {
        0 => send(
            s,
            "503 Service Unavailable",
            &[("Content-Length", "0".into())],
            b"",
        ),
        1 => send(
            s,
            "200 OK",
            &[("Content-Length", body.len().to_string())],
            &body[..100],
        ),
        _ => ok(s, &body),
    });
    let dir = tempfile::tempdir().unwrap();
    let got = fetch_with(&server.base, dir.path(), &[d.remote], &options(vec![])).unwrap();
    assert_eq!(
        got,
        vec![Fetched::Downloaded(dir.path().join(d.remote.name))]
    );
    assert_eq!(server.requests(), 3);
    assert_eq!(listing(dir.path()), vec![d.remote.name]);
}

#[test]
fn tries_run_out_with_the_last_failure_named() {
    let d = dataset("train-labels-idx1-ubyte.gz");
    let server = Server::start(|_, _, s| {
        send(
            s,
            "503 Service Unavailable",
            &[("Content-Length", "0".into())],
            b"",
        )
    });
    let dir = tempfile::tempdir().unwrap();
    let e = fetch_with(&server.base, dir.path(), &[d.remote], &options(vec![]))
        .unwrap_err()
        .to_string();
    assert!(
        e.contains(d.remote.name) && e.contains("after 3 tries") && e.contains("503"),
        "{e}"
    );
    assert_eq!(server.requests(), 3);
    assert!(listing(dir.path()).is_empty());
}

#[test]
fn a_404_is_final_and_names_the_url() {
    let d = dataset("t10k-labels-idx1-ubyte.gz");
    let server =
        Server::start(|_, _, s| send(s, "404 Not Found", &[("Content-Length", "0".into())], b""));
    let dir = tempfile::tempdir().unwrap();
    let e = fetch_with(&server.base, dir.path(), &[d.remote], &options(vec![]))
        .unwrap_err()
        .to_string();
    let url = format!("{}{}", server.base, d.remote.name);
    assert!(e.starts_with(&url) && e.contains("404"), "{e}");
    assert_eq!(server.requests(), 1, "a 404 is not tried again");
    assert!(listing(dir.path()).is_empty());
}

/// A server that labels the `.gz` as `Content-Encoding: gzip` (a common misconfiguration of static
/// hosts): an HTTP client may undo that encoding, and the file must still end up as gzip.
#[test]
fn content_encoding_gzip_still_saves_a_gz_with_the_right_content() {
    let d = dataset("train-images-idx3-ubyte.gz");
    let body = d.gz.clone();
    let server = Server::start(move |_, _, s| {
        let head = [
            ("Content-Length", body.len().to_string()),
            ("Content-Encoding", "gzip".to_string()),
        ];
        send(s, "200 OK", &head, &body);
    });
    let dir = tempfile::tempdir().unwrap();
    let got = fetch_with(
        &server.base,
        dir.path(),
        &[d.remote],
        &options(vec![d.content]),
    )
    .unwrap();
    let dest = dir.path().join(d.remote.name);
    assert_eq!(got, vec![Fetched::Downloaded(dest.clone())]);
    assert_eq!(gunzip(&std::fs::read(&dest).unwrap()), d.raw);
    assert_eq!(listing(dir.path()), vec![d.remote.name]);
}

/// A server (or proxy) that sends the decompressed file: accepted by its content checksum and compressed
/// again; without a content checksum to vouch for it, refused.
#[test]
fn a_body_sent_decompressed_is_accepted_by_its_content_checksum_only() {
    let d = dataset("t10k-images-idx3-ubyte.gz");
    let body = d.raw.clone();
    let server = Server::start(move |_, _, s| ok(s, &body));
    let dir = tempfile::tempdir().unwrap();
    let dest = dir.path().join(d.remote.name);

    let e = fetch_with(&server.base, dir.path(), &[d.remote], &options(vec![]))
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("checksum mismatch") && e.contains(d.remote.md5),
        "{e}"
    );
    assert!(listing(dir.path()).is_empty());

    let got = fetch_with(
        &server.base,
        dir.path(),
        &[d.remote],
        &options(vec![d.content]),
    )
    .unwrap();
    assert_eq!(got, vec![Fetched::Downloaded(dest.clone())]);
    let saved = std::fs::read(&dest).unwrap();
    assert_eq!(&saved[..2], &[0x1f, 0x8b]);
    assert_eq!(gunzip(&saved), d.raw);
    assert_eq!(idx::read(&dest).unwrap().dims, vec![5, 28, 28]);
    assert_eq!(listing(dir.path()), vec![d.remote.name]);
}

/// A mirror that recompressed the file into several gzip members: other bytes, the same content.
#[test]
fn a_multi_member_gzip_is_recognised_by_its_content() {
    let d = dataset("train-images-idx3-ubyte.gz");
    let mut multi = gz(&d.raw[..1000]);
    multi.extend(gz(&d.raw[1000..]));
    assert_ne!(md5_hex(&multi), d.remote.md5);
    let body = multi.clone();
    let server = Server::start(move |_, _, s| ok(s, &body));
    let dir = tempfile::tempdir().unwrap();
    let dest = dir.path().join(d.remote.name);
    let got = fetch_with(
        &server.base,
        dir.path(),
        &[d.remote],
        &options(vec![d.content]),
    )
    .unwrap();
    assert_eq!(got, vec![Fetched::Downloaded(dest.clone())]);
    assert_eq!(std::fs::read(&dest).unwrap(), multi);
    assert_eq!(idx::read(&dest).unwrap().data.len(), 5 * 28 * 28);

    // A corrupt multi-member file is refused, and nothing is left.
    let mut bad = multi.clone();
    let n = bad.len();
    bad[n - 20] ^= 0x55;
    let server = Server::start(move |_, _, s| ok(s, &bad));
    let other = tempfile::tempdir().unwrap();
    let e = fetch_with(
        &server.base,
        other.path(),
        &[d.remote],
        &options(vec![d.content]),
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("decompressed content does not match"), "{e}");
    assert!(listing(other.path()).is_empty());
}

/// Data already there is recognised by its content, compressed in another way or not at all, without
/// asking the network; a file with the wrong content is replaced.
#[test]
fn data_already_there_is_recognised_by_its_content() {
    let d = dataset("train-labels-idx1-ubyte.gz");
    let unreachable = "http://127.0.0.1:9/";
    let opts = options(vec![d.content]);
    let dir = tempfile::tempdir().unwrap();
    let dest = dir.path().join(d.remote.name);

    let mut recompressed = GzEncoder::new(Vec::new(), Compression::best());
    recompressed.write_all(&d.raw).unwrap();
    std::fs::write(&dest, recompressed.finish().unwrap()).unwrap();
    let got = fetch_with(unreachable, dir.path(), &[d.remote], &opts).unwrap();
    assert_eq!(got, vec![Fetched::AlreadyThere(dest.clone())]);

    std::fs::remove_file(&dest).unwrap();
    let raw = dir.path().join("train-labels-idx1-ubyte");
    std::fs::write(&raw, &d.raw).unwrap();
    let got = fetch_with(unreachable, dir.path(), &[d.remote], &opts).unwrap();
    assert_eq!(got, vec![Fetched::AlreadyThere(raw.clone())]);
    std::fs::remove_file(&raw).unwrap();

    std::fs::write(&dest, gz(b"something else")).unwrap();
    let body = d.gz.clone();
    let server = Server::start(move |_, _, s| ok(s, &body));
    let got = fetch_with(&server.base, dir.path(), &[d.remote], &opts).unwrap();
    assert_eq!(got, vec![Fetched::Downloaded(dest.clone())]);
    assert_eq!(std::fs::read(&dest).unwrap(), d.gz);
}

/// A failed connection (nothing listening) is an error naming the URL after the tries, with nothing left.
#[test]
fn a_refused_connection_is_an_error_naming_the_url() {
    let d = dataset("t10k-labels-idx1-ubyte.gz");
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let base = format!("http://127.0.0.1:{port}/x/");
    let dir = tempfile::tempdir().unwrap();
    let opts = Options {
        attempts: 2,
        ..options(vec![])
    };
    let e = fetch_with(&base, dir.path(), &[d.remote], &opts)
        .unwrap_err()
        .to_string();
    assert!(
        e.starts_with(&format!("{base}{}", d.remote.name)) && e.contains("after 2 tries"),
        "{e}"
    );
    assert!(listing(dir.path()).is_empty());
}

/// Opt-in: the shared MNIST copy, whose `.gz` bytes differ from the publisher's (another compressor), is
/// recognised by the built-in decompressed checksums, so `zerodl data mnist` does not download it again.
#[test]
fn real_mnist_recompressed_is_already_there() {
    let root = std::env::var("ZERODL_DATA").unwrap_or_default();
    let dir = Path::new(&root).join("mnist");
    let names = zerodl::data::download::MNIST.map(|r| dir.join(r.name));
    if root.is_empty() || !names.iter().all(|p| p.is_file()) {
        eprintln!("skipped: set ZERODL_DATA to a data root holding mnist/*.gz");
        return;
    }
    let got = fetch(
        "http://127.0.0.1:9/",
        &dir,
        &zerodl::data::download::MNIST,
        false,
    )
    .unwrap();
    let raw = |p: &Path| p.with_extension("");
    for (g, p) in got.iter().zip(&names) {
        assert!(
            matches!(g, Fetched::AlreadyThere(q) if q == p || *q == raw(p)),
            "{g:?}"
        );
    }
}
