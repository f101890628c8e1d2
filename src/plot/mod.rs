//! Figures, drawn with plotters into SVG. SVG keeps text as text: no font file or system font library is
//! needed to draw, and the reader's browser renders the labels.

pub mod ch1;

use crate::error::Error;
use std::path::Path;

/// Turn a plotters error into ours, naming the figure file.
pub(crate) fn draw_err<E: std::fmt::Display>(path: &Path) -> impl FnOnce(E) -> Error + '_ {
    move |e| Error::Format {
        path: path.display().to_string(),
        msg: format!("drawing failed: {e}"),
    }
}

pub(crate) const FONT: &str = "sans-serif";
