//! Words on coloured ground: a text laid out in lines, each word's background from a diverging scale (blue for
//! a positive score, red for a negative one, white for zero), for showing which words drove a decision.

use super::style;
use crate::error::{Error, Result};
use std::fmt::Write as _;
use std::path::Path;

/// One text: a title and its words with their scores.
pub struct WordRow {
    pub title: String,
    pub words: Vec<(String, f64)>,
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// Draw `rows` into an SVG the width of the book's column; each row's scores are scaled by that row's largest
/// magnitude.
pub fn word_heat(path: &Path, rows: &[WordRow]) -> Result<()> {
    const FONT: f64 = style::TEXT_PX + 1.0;
    const LINE: f64 = 22.0;
    // A width per character that over-estimates sans-serif text, so that words never overlap.
    const CHAR: f64 = 0.59 * FONT;
    let (width, family) = (style::COLUMN_WIDTH, style::FONT);
    let mut body = String::new();
    let mut y = 10.0;
    for row in rows {
        y += LINE;
        let _ = write!(
            body,
            r#"<text x="10" y="{y:.1}" font-family="{family}" font-size="{FONT}" font-weight="bold">{}</text>"#,
            escape(&row.title)
        );
        y += LINE;
        let scale = row
            .words
            .iter()
            .map(|w| w.1.abs())
            .fold(0.0, f64::max)
            .max(1e-30);
        let mut x = 10.0;
        for (word, score) in &row.words {
            let w = word.chars().count() as f64 * CHAR + 6.0;
            if x + w > width as f64 - 10.0 {
                (x, y) = (10.0, y + LINE);
            }
            let v = (score / scale).clamp(-1.0, 1.0);
            let (r, g, b) = if v >= 0.0 {
                (255.0 * (1.0 - v), 255.0 * (1.0 - 0.6 * v), 255.0)
            } else {
                (255.0, 255.0 * (1.0 + 0.7 * v), 255.0 * (1.0 + 0.7 * v))
            };
            let _ = write!(
                body,
                r#"<rect x="{x:.1}" y="{:.1}" width="{w:.1}" height="{:.1}" fill="rgb({:.0},{:.0},{:.0})"/><text x="{:.1}" y="{y:.1}" font-family="{family}" font-size="{FONT}">{}</text>"#,
                y - FONT,
                FONT + 5.0,
                r,
                g,
                b,
                x + 3.0,
                escape(word)
            );
            x += w + 2.0;
        }
        y += 8.0;
    }
    let height = (y + 20.0).ceil();
    let svg = format!(
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}"><rect width="100%" height="100%" fill="white"/>{body}</svg>"#
    );
    std::fs::write(path, svg).map_err(|e| Error::io(path, e))
}
