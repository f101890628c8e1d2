//! The IDX format of MNIST: a big-endian header (two zero bytes, a type code, the number of dimensions, then
//! each dimension as a u32) followed by the data. We read unsigned bytes (type 0x08), the only type MNIST
//! uses, raw or gzip-compressed.
//!
//! The header is untrusted: it can claim billions of images. What it claims is compared with the bytes
//! actually there before anything is allocated for them, so a damaged or hostile file costs no more memory
//! than its own size (after decompression).

use crate::error::{Error, Result};
use flate2::read::MultiGzDecoder;
use std::io::Read;
use std::path::Path;

/// An IDX array of bytes: its dimensions and its data, row-major.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Idx {
    pub dims: Vec<usize>,
    pub data: Vec<u8>,
}

/// How much more than the compressed size is reserved up front for the data: real IDX files compress
/// less than 5 to 1, so MNIST's data land in one allocation of the right size, while a header that claims
/// more than a file of this size plausibly holds gets only this much, and the buffer grows as (and only
/// if) the bytes really arrive.
const RESERVE_RATIO: usize = 8;

/// Read an IDX file, decompressing it when its name ends in `.gz`. A gzip file of several members (as
/// made by concatenating `.gz` files, or by parallel compressors) is read to its end.
pub fn read(path: &Path) -> Result<Idx> {
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    let name = path.display().to_string();
    if path.extension().is_some_and(|e| e == "gz") {
        read_gzip(&bytes, &name)
    } else {
        parse(&bytes, &name)
    }
}

/// Decompress and parse in one pass: the header is read first, so that the data are read only as far as
/// it says (one byte more, to notice trailing bytes) and a header claiming more than the stream holds
/// fails when the stream ends, not by reserving what it claims.
fn read_gzip(compressed: &[u8], name: &str) -> Result<Idx> {
    let not_gzip = |e: std::io::Error| Error::Format {
        path: name.to_string(),
        msg: format!("not a valid gzip stream ({} bytes): {e}", compressed.len()),
    };
    let mut stream = MultiGzDecoder::new(compressed);
    let mut head = [0u8; 4];
    let got = read_up_to(&mut stream, &mut head).map_err(not_gzip)?;
    let mut header = head[..got].to_vec();
    if got == 4 {
        let mut dims = vec![0u8; 4 * usize::from(head[3])];
        let got = read_up_to(&mut stream, &mut dims).map_err(not_gzip)?;
        header.extend_from_slice(&dims[..got]);
    }
    let (dims, expected) = parse_header(&header, header.len(), name)?;
    let limit = u64::try_from(expected)
        .unwrap_or(u64::MAX)
        .saturating_add(1);
    let reserve = expected.min(compressed.len().saturating_mul(RESERVE_RATIO));
    let mut data = Vec::with_capacity(reserve);
    stream
        .take(limit)
        .read_to_end(&mut data)
        .map_err(not_gzip)?;
    // Reading stopped one byte past what the header promises, so a longer stream shows as "more".
    check_length(&dims, expected, header.len(), data.len(), false, name)?;
    Ok(Idx { dims, data })
}

/// `read_exact` that stops quietly at the end of the stream and says how much it got.
fn read_up_to(r: &mut impl Read, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match r.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}

fn format_error(name: &str, msg: String) -> Error {
    Error::Format {
        path: name.to_string(),
        msg,
    }
}

// ANCHOR: idx_parse
/// Parse IDX bytes; `name` is used in errors.
pub fn parse(bytes: &[u8], name: &str) -> Result<Idx> {
    let (dims, expected) = parse_header(bytes, bytes.len(), name)?;
    let header = 4 + 4 * dims.len();
    check_length(&dims, expected, header, bytes.len() - header, true, name)?;
    Ok(Idx {
        dims,
        data: bytes[header..].to_vec(),
    })
}

/// The dimensions and the data length they promise, from the start of a file of `file_len` bytes
/// (`bytes` may hold only the header).
fn parse_header(bytes: &[u8], file_len: usize, name: &str) -> Result<(Vec<usize>, usize)> {
    let err = |msg: String| format_error(name, msg);
    if bytes.len() < 4 {
        return Err(err(format!(
            "{} bytes is too short for an IDX header (at least 4)",
            bytes.len()
        )));
    }
    if bytes[0] != 0 || bytes[1] != 0 {
        return Err(err(format!(
            "bad IDX magic number {:02x} {:02x} {:02x} {:02x}: expected 00 00 08 <dims>",
            bytes[0], bytes[1], bytes[2], bytes[3]
        )));
    }
    if bytes[2] != 0x08 {
        return Err(err(format!(
            "IDX element type 0x{:02x} is not unsigned bytes (0x08)",
            bytes[2]
        )));
    }
    let ndim = bytes[3] as usize;
    let header = 4 + 4 * ndim;
    if ndim == 0 || bytes.len() < header {
        return Err(err(format!(
            "header declares {ndim} dimensions, which needs {header} header bytes; the file has {file_len}"
        )));
    }
    let dims: Vec<usize> = bytes[4..header]
        .chunks_exact(4)
        .map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]) as usize)
        .collect();
    // Three u32 dimensions can multiply past u64: such a header cannot describe a real file.
    let expected = dims
        .iter()
        .try_fold(1usize, |n, &d| n.checked_mul(d))
        .ok_or_else(|| {
            err(format!(
                "dimensions {dims:?} multiply past {} bytes: not a real file",
                usize::MAX
            ))
        })?;
    Ok((dims, expected))
}

fn check_length(
    dims: &[usize],
    expected: usize,
    header: usize,
    found: usize,
    found_all: bool,
    name: &str,
) -> Result<()> {
    if found != expected {
        return Err(format_error(
            name,
            format!(
                "dimensions {dims:?} need {expected} data bytes after the {header}-byte header, found {}{}",
                if found_all || found < expected {
                    found.to_string()
                } else {
                    "more".to_string()
                },
                if found < expected { " (truncated?)" } else { " (trailing bytes)" }
            ),
        ));
    }
    Ok(())
}
// ANCHOR_END: idx_parse

/// Encode bytes as IDX (used by tests to make fixtures).
pub fn encode(dims: &[usize], data: &[u8]) -> Vec<u8> {
    let mut out = vec![0, 0, 0x08, dims.len() as u8];
    for &d in dims {
        out.extend_from_slice(&(d as u32).to_be_bytes());
    }
    out.extend_from_slice(data);
    out
}
