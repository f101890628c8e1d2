//! The data root: one setting, the environment variable `ZERODL_DATA` (default `data/` in the working
//! directory), under which each dataset has its folder: `mnist/`, `csi300/`, `imdb/`, `glove/`.

use crate::error::{Error, Result};
use std::path::{Path, PathBuf};

pub const ENV: &str = "ZERODL_DATA";

pub fn data_root() -> PathBuf {
    std::env::var_os(ENV)
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("data"))
}

/// Find `name` or `name.gz` in `dir`; the error says where we looked and how to get the dataset.
pub fn find(dir: &Path, name: &str, dataset: &str, hint: &str) -> Result<PathBuf> {
    let raw = dir.join(name);
    if raw.is_file() {
        return Ok(raw);
    }
    let gz = dir.join(format!("{name}.gz"));
    if gz.is_file() {
        return Ok(gz);
    }
    // Something is there but it is not a file: say so, rather than "not found" for what `ls` shows.
    if let Some(p) = [&raw, &gz].into_iter().find(|p| p.exists()) {
        return Err(Error::Format {
            path: p.display().to_string(),
            msg: format!(
                "is a directory (or another non-file), expected the {dataset} file {name}"
            ),
        });
    }
    Err(Error::MissingData {
        what: format!("{dataset} file {name} (or {name}.gz)"),
        path: dir.display().to_string(),
        hint: format!("{hint} (the data root is ${ENV}, default data/)"),
    })
}
