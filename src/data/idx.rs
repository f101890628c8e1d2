//! The IDX format of MNIST: a big-endian header (two zero bytes, a type code, the number of dimensions, then
//! each dimension as a u32) followed by the data. We read unsigned bytes (type 0x08), the only type MNIST
//! uses, raw or gzip-compressed.

use crate::error::{Error, Result};
use flate2::read::GzDecoder;
use std::io::Read;
use std::path::Path;

/// An IDX array of bytes: its dimensions and its data, row-major.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Idx {
    pub dims: Vec<usize>,
    pub data: Vec<u8>,
}

/// Read an IDX file, decompressing it when its name ends in `.gz`.
pub fn read(path: &Path) -> Result<Idx> {
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    let bytes = if path.extension().is_some_and(|e| e == "gz") {
        let mut out = Vec::with_capacity(bytes.len() * 4);
        GzDecoder::new(&bytes[..])
            .read_to_end(&mut out)
            .map_err(|e| Error::Format {
                path: path.display().to_string(),
                msg: format!("not a valid gzip stream ({} bytes): {e}", bytes.len()),
            })?;
        out
    } else {
        bytes
    };
    parse(&bytes, &path.display().to_string())
}

// ANCHOR: idx_parse
/// Parse IDX bytes; `name` is used in errors.
pub fn parse(bytes: &[u8], name: &str) -> Result<Idx> {
    let err = |msg: String| Error::Format {
        path: name.to_string(),
        msg,
    };
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
            "header declares {ndim} dimensions, which needs {header} header bytes; the file has {}",
            bytes.len()
        )));
    }
    let dims: Vec<usize> = (0..ndim)
        .map(|i| {
            let b = &bytes[4 + 4 * i..8 + 4 * i];
            u32::from_be_bytes([b[0], b[1], b[2], b[3]]) as usize
        })
        .collect();
    let expected = dims.iter().product::<usize>();
    let found = bytes.len() - header;
    if found != expected {
        return Err(err(format!(
            "dimensions {dims:?} need {expected} data bytes after the {header}-byte header, found {found}{}",
            if found < expected { " (truncated?)" } else { " (trailing bytes)" }
        )));
    }
    Ok(Idx {
        dims,
        data: bytes[header..].to_vec(),
    })
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
