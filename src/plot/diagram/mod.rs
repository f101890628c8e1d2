//! Diagrams of the book's ideas, written as SVG text by hand: boxes, circles, arrows, grids of numbered cells and
//! labels, in a fixed order with coordinates printed to one decimal, so the same input gives the same bytes.
//!
//! Like the plots, a diagram takes plain data: where it shows numbers (the convolution, im2col, pooling, the
//! tape), the caller computes them with the library's own functions and passes them in
//! (`chapters::diagrams` does). Everything is drawn at most 750 px wide, the book's content column, so it is
//! shown 1:1, with no text under 12 px and the Okabe-Ito colours, which stay distinct to colour-blind readers.
//!
//! Text takes a small markup for math without KaTeX: `h_t`, `h_{t-1}` (subscript), `x^{(1)}` (superscript), and
//! Unicode for the rest (`⊙`, `σ`, `∂`, `v̄`).

pub mod cells;
pub mod conv;
pub mod graphs;
pub mod rnn;

use nalgebra::DMatrix;
use std::fmt::Write;

/// The Okabe-Ito palette.
pub mod color {
    pub const ORANGE: &str = "#E69F00";
    pub const SKY: &str = "#56B4E9";
    pub const GREEN: &str = "#009E73";
    pub const YELLOW: &str = "#F0E442";
    pub const BLUE: &str = "#0072B2";
    pub const VERMILLION: &str = "#D55E00";
    pub const PURPLE: &str = "#CC79A7";
    pub const BLACK: &str = "#000000";
    /// Not of the palette: the grey of padding and of what is not highlighted.
    pub const GREY: &str = "#9A9A9A";
    pub const LIGHT: &str = "#EEEEEE";
}

/// The widest a diagram may be: the book's content column.
pub const MAX_WIDTH: f64 = 750.0;
/// The smallest text drawn.
pub const MIN_FONT: f64 = 12.0;

/// `#RRGGBB` mixed with white: `t = 0` is white, `1` the colour itself (fills under text).
pub fn tint(hex: &str, t: f64) -> String {
    let c = |i: usize| u8::from_str_radix(&hex[i..i + 2], 16).unwrap_or(0) as f64;
    let m = |v: f64| (255.0 - t * (255.0 - v)).round() as u8;
    format!("#{:02X}{:02X}{:02X}", m(c(1)), m(c(3)), m(c(5)))
}

/// A number as a diagram shows it: whole numbers without decimals, others with up to two, a true minus sign.
pub fn num(v: f64) -> String {
    let r = (v * 100.0).round() / 100.0;
    let s = if r.fract() == 0.0 {
        format!("{}", r.abs())
    } else {
        let t = format!("{:.2}", r.abs());
        t.trim_end_matches('0').to_string()
    };
    if r < 0.0 {
        format!("−{s}")
    } else {
        s
    }
}

/// A row of numbers, `(1, −2, 3)`.
pub fn tuple(v: &[f64]) -> String {
    let parts: Vec<String> = v.iter().map(|&x| num(x)).collect();
    format!("({})", parts.join(", "))
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// Coordinates to one decimal: deterministic, and short.
fn f(v: f64) -> String {
    let r = (v * 10.0).round() / 10.0;
    if r.fract() == 0.0 {
        format!("{}", r as i64)
    } else {
        format!("{r:.1}")
    }
}

/// How a text is placed.
#[derive(Clone, Copy, PartialEq)]
pub enum Anchor {
    Start,
    Middle,
    End,
}

/// A text's style: size, anchor, colour, bold, italic.
#[derive(Clone, Copy)]
pub struct Font {
    pub size: f64,
    pub anchor: Anchor,
    pub color: &'static str,
    pub bold: bool,
    pub italic: bool,
}

impl Font {
    pub const fn new(size: f64) -> Self {
        Font {
            size,
            anchor: Anchor::Middle,
            color: color::BLACK,
            bold: false,
            italic: false,
        }
    }
    pub const fn start(self) -> Self {
        Font {
            anchor: Anchor::Start,
            ..self
        }
    }
    pub const fn end(self) -> Self {
        Font {
            anchor: Anchor::End,
            ..self
        }
    }
    pub const fn color(self, color: &'static str) -> Self {
        Font { color, ..self }
    }
    pub const fn bold(self) -> Self {
        Font { bold: true, ..self }
    }
    pub const fn italic(self) -> Self {
        Font {
            italic: true,
            ..self
        }
    }
}

/// Stroke of a shape or line.
#[derive(Clone, Copy)]
pub struct Stroke {
    pub color: &'static str,
    pub width: f64,
    pub dashed: bool,
}

impl Stroke {
    pub const fn new(color: &'static str, width: f64) -> Self {
        Stroke {
            color,
            width,
            dashed: false,
        }
    }
    pub const fn dashed(self) -> Self {
        Stroke {
            dashed: true,
            ..self
        }
    }
    fn attrs(&self) -> String {
        let dash = if self.dashed {
            " stroke-dasharray=\"6 4\""
        } else {
            ""
        };
        format!(
            "stroke=\"{}\" stroke-width=\"{}\"{dash}",
            self.color,
            f(self.width)
        )
    }
}

/// How a grid of numbers is drawn: cell size, which cells are filled with which colour, a fill for the rest.
pub struct GridStyle<'a> {
    pub cell: f64,
    pub font: f64,
    /// `(row, col, colour)`: highlighted cells (the last given for a cell wins).
    pub highlight: &'a [(usize, usize, String)],
    /// The fill of the cells not highlighted.
    pub fill: &'static str,
    /// Cells drawn as padding: grey numbers on grey; `(top, left, bottom, right)` widths of the border.
    pub pad: (usize, usize, usize, usize),
}

impl Default for GridStyle<'_> {
    fn default() -> Self {
        GridStyle {
            cell: 30.0,
            font: 13.0,
            highlight: &[],
            fill: "white",
            pad: (0, 0, 0, 0),
        }
    }
}

/// An SVG being written: its size and its elements, in order.
pub struct Svg {
    width: f64,
    height: f64,
    body: String,
}

impl Svg {
    /// A white canvas of `width` (at most [`MAX_WIDTH`]) by `height` px.
    pub fn new(width: f64, height: f64) -> Self {
        Svg {
            width: width.min(MAX_WIDTH),
            height,
            body: String::new(),
        }
    }

    pub fn width(&self) -> f64 {
        self.width
    }

    /// The finished document.
    pub fn finish(self) -> String {
        let (w, h) = (f(self.width), f(self.height));
        format!(
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{w}\" height=\"{h}\" viewBox=\"0 0 {w} {h}\" \
             font-family=\"sans-serif\">\n<rect width=\"{w}\" height=\"{h}\" fill=\"white\"/>\n{}</svg>\n",
            self.body
        )
    }

    /// Opens a group with an id (the tests find a grid's numbers by it); close with [`Svg::end_group`].
    pub fn group(&mut self, id: &str) {
        let _ = writeln!(self.body, "<g id=\"{}\">", esc(id));
    }

    pub fn end_group(&mut self) {
        self.body += "</g>\n";
    }

    pub fn rect(&mut self, x: f64, y: f64, w: f64, h: f64, fill: &str, stroke: Stroke) {
        let _ = writeln!(
            self.body,
            "<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"{fill}\" {}/>",
            f(x),
            f(y),
            f(w),
            f(h),
            stroke.attrs()
        );
    }

    /// A box with rounded corners.
    pub fn rounded(&mut self, x: f64, y: f64, w: f64, h: f64, fill: &str, stroke: Stroke) {
        let _ = writeln!(
            self.body,
            "<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" rx=\"8\" fill=\"{fill}\" {}/>",
            f(x),
            f(y),
            f(w),
            f(h),
            stroke.attrs()
        );
    }

    pub fn circle(&mut self, cx: f64, cy: f64, r: f64, fill: &str, stroke: Stroke) {
        let _ = writeln!(
            self.body,
            "<circle cx=\"{}\" cy=\"{}\" r=\"{}\" fill=\"{fill}\" {}/>",
            f(cx),
            f(cy),
            f(r),
            stroke.attrs()
        );
    }

    pub fn line(&mut self, x1: f64, y1: f64, x2: f64, y2: f64, stroke: Stroke) {
        let _ = writeln!(
            self.body,
            "<line x1=\"{}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" {}/>",
            f(x1),
            f(y1),
            f(x2),
            f(y2),
            stroke.attrs()
        );
    }

    /// A polyline through `points` with an arrowhead at the last one.
    pub fn arrow_path(&mut self, points: &[(f64, f64)], stroke: Stroke) {
        let [.., (ax, ay), (bx, by)] = points else {
            return;
        };
        let (dx, dy) = (bx - ax, by - ay);
        let len = (dx * dx + dy * dy).sqrt().max(1e-9);
        let (ux, uy) = (dx / len, dy / len);
        let head = 6.0 + 2.0 * stroke.width;
        // The line stops where the head begins, so a thick line does not poke through its tip.
        let (sx, sy) = (bx - ux * head * 0.8, by - uy * head * 0.8);
        let mut d = String::new();
        for (i, &(x, y)) in points[..points.len() - 1].iter().enumerate() {
            let _ = write!(d, "{}{} {} ", if i == 0 { "M" } else { "L" }, f(x), f(y));
        }
        let _ = write!(d, "L{} {}", f(sx), f(sy));
        let _ = writeln!(
            self.body,
            "<path d=\"{d}\" fill=\"none\" {}/>",
            stroke.attrs()
        );
        let (px, py) = (-uy, ux);
        let (lx, ly) = (
            bx - ux * head + px * head * 0.45,
            by - uy * head + py * head * 0.45,
        );
        let (rx, ry) = (
            bx - ux * head - px * head * 0.45,
            by - uy * head - py * head * 0.45,
        );
        let _ = writeln!(
            self.body,
            "<path d=\"M{} {} L{} {} L{} {} Z\" fill=\"{}\"/>",
            f(*bx),
            f(*by),
            f(lx),
            f(ly),
            f(rx),
            f(ry),
            stroke.color
        );
    }

    /// A straight arrow from `(x1, y1)` to `(x2, y2)`.
    pub fn arrow(&mut self, x1: f64, y1: f64, x2: f64, y2: f64, stroke: Stroke) {
        self.arrow_path(&[(x1, y1), (x2, y2)], stroke);
    }

    /// A curved arrow (a quadratic Bézier through control point `(cx, cy)`), its head at `(x2, y2)`.
    pub fn curved_arrow(
        &mut self,
        from: (f64, f64),
        ctrl: (f64, f64),
        to: (f64, f64),
        stroke: Stroke,
    ) {
        let pts: Vec<(f64, f64)> = (0..=24)
            .map(|i| {
                let t = i as f64 / 24.0;
                let u = 1.0 - t;
                (
                    u * u * from.0 + 2.0 * u * t * ctrl.0 + t * t * to.0,
                    u * u * from.1 + 2.0 * u * t * ctrl.1 + t * t * to.1,
                )
            })
            .collect();
        self.arrow_path(&pts, stroke);
    }

    /// A text at `(x, y)` (its baseline), with the markup `a_b`, `a_{bc}`, `a^b`, `a^{bc}` for sub- and
    /// superscripts, set at 80% of the size but never under [`MIN_FONT`].
    pub fn text(&mut self, x: f64, y: f64, s: &str, font: Font) {
        let anchor = match font.anchor {
            Anchor::Start => "start",
            Anchor::Middle => "middle",
            Anchor::End => "end",
        };
        let weight = if font.bold {
            " font-weight=\"bold\""
        } else {
            ""
        };
        let style = if font.italic {
            " font-style=\"italic\""
        } else {
            ""
        };
        let _ = write!(
            self.body,
            "<text x=\"{}\" y=\"{}\" font-size=\"{}\" text-anchor=\"{anchor}\" fill=\"{}\"{weight}{style}>",
            f(x),
            f(y),
            f(font.size),
            font.color
        );
        self.body += &markup(s, font.size);
        self.body += "</text>\n";
    }

    /// A matrix as a grid of cells at `(x, y)`, each showing its number; returns the grid's width and height.
    /// The group gets the id `id`, its numbers in row-major order.
    pub fn grid(
        &mut self,
        id: &str,
        x: f64,
        y: f64,
        m: &DMatrix<f64>,
        style: &GridStyle,
    ) -> (f64, f64) {
        let labels = DMatrix::from_fn(m.nrows(), m.ncols(), |i, j| num(m[(i, j)]));
        self.label_grid(id, x, y, &labels, style)
    }

    /// A grid of cells holding any labels (symbols, not numbers).
    pub fn label_grid(
        &mut self,
        id: &str,
        x: f64,
        y: f64,
        m: &DMatrix<String>,
        style: &GridStyle,
    ) -> (f64, f64) {
        let c = style.cell;
        let (rows, cols) = m.shape();
        let (pt, pl, pb, pr) = style.pad;
        self.group(id);
        for i in 0..rows {
            for j in 0..cols {
                let padding = i < pt || j < pl || i + pb >= rows || j + pr >= cols;
                let hl = style
                    .highlight
                    .iter()
                    .rev()
                    .find(|h| h.0 == i && h.1 == j)
                    .map(|h| h.2.as_str());
                let fill = match (hl, padding) {
                    (Some(h), _) => h,
                    (None, true) => color::LIGHT,
                    (None, false) => style.fill,
                };
                let (cx, cy) = (x + j as f64 * c, y + i as f64 * c);
                self.rect(cx, cy, c, c, fill, Stroke::new("#555555", 1.0));
                let ink = if padding { "#6E6E6E" } else { color::BLACK };
                self.text(
                    cx + c / 2.0,
                    cy + c / 2.0 + style.font * 0.36,
                    &m[(i, j)],
                    Font::new(style.font).color(ink),
                );
            }
        }
        self.end_group();
        (cols as f64 * c, rows as f64 * c)
    }

    /// A thick outline around the cells `rows x cols` from `(r0, c0)` of a grid drawn at `(x, y)`.
    #[allow(clippy::too_many_arguments)]
    pub fn outline(
        &mut self,
        x: f64,
        y: f64,
        cell: f64,
        (r0, c0): (usize, usize),
        (rows, cols): (usize, usize),
        stroke: Stroke,
    ) {
        self.rect(
            x + c0 as f64 * cell,
            y + r0 as f64 * cell,
            cols as f64 * cell,
            rows as f64 * cell,
            "none",
            stroke,
        );
    }

    /// A box with one or more centred lines of text.
    #[allow(clippy::too_many_arguments)]
    pub fn labelled_box(
        &mut self,
        x: f64,
        y: f64,
        w: f64,
        h: f64,
        fill: &str,
        stroke: Stroke,
        lines: &[&str],
        font: Font,
    ) {
        self.rounded(x, y, w, h, fill, stroke);
        let step = font.size * 1.55;
        let top = y + h / 2.0 - step * (lines.len() as f64 - 1.0) / 2.0 + font.size * 0.36;
        for (i, l) in lines.iter().enumerate() {
            self.text(x + w / 2.0, top + i as f64 * step, l, font);
        }
    }

    /// A circle with a symbol in it (an elementwise op: `×`, `+`, `σ`, `tanh`).
    pub fn op(&mut self, cx: f64, cy: f64, r: f64, fill: &str, symbol: &str, size: f64) {
        self.circle(cx, cy, r, fill, Stroke::new(color::BLACK, 1.5));
        self.text(cx, cy + size * 0.36, symbol, Font::new(size));
    }
}

/// The text markup to tspans: `_x`/`_{..}` a subscript, `^x`/`^{..}` a superscript. The text after a script
/// moves back to the baseline with the script's `dy` undone.
fn markup(s: &str, size: f64) -> String {
    let small = (size * 0.8).max(MIN_FONT);
    let shift = size * 0.3;
    let mut out = String::new();
    let mut chars = s.chars().peekable();
    let mut plain = String::new();
    // The vertical offset the text is at, to undo before the next piece.
    let mut raised = 0.0;
    let flush = |out: &mut String, plain: &mut String, raised: &mut f64| {
        if plain.is_empty() {
            return;
        }
        if *raised == 0.0 {
            *out += &esc(plain);
        } else {
            let _ = write!(out, "<tspan dy=\"{}\">{}</tspan>", f(-*raised), esc(plain));
            *raised = 0.0;
        }
        plain.clear();
    };
    while let Some(ch) = chars.next() {
        if (ch == '_' || ch == '^') && chars.peek().is_some() {
            let mut inner = String::new();
            if chars.peek() == Some(&'{') {
                chars.next();
                for c in chars.by_ref() {
                    if c == '}' {
                        break;
                    }
                    inner.push(c);
                }
            } else if let Some(c) = chars.next() {
                inner.push(c);
            }
            flush(&mut out, &mut plain, &mut raised);
            let dy = if ch == '_' { shift } else { -shift * 1.2 };
            let _ = write!(
                out,
                "<tspan dy=\"{}\" font-size=\"{}\">{}</tspan>",
                f(dy - raised),
                f(small),
                esc(&inner)
            );
            raised = dy;
        } else {
            plain.push(ch);
        }
    }
    flush(&mut out, &mut plain, &mut raised);
    out
}

/// Writes a diagram's SVG to `path`.
pub fn write(path: &std::path::Path, svg: &str) -> crate::error::Result<()> {
    std::fs::write(path, svg).map_err(|e| crate::error::Error::io(path, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_read_as_the_book_writes_them() {
        assert_eq!(num(3.0), "3");
        assert_eq!(num(-2.5), "−2.5");
        assert_eq!(num(0.125), "0.13");
        assert_eq!(num(-0.001), "0");
        assert_eq!(tuple(&[1.0, -2.0]), "(1, −2)");
    }

    #[test]
    fn subscripts_become_tspans_no_smaller_than_the_minimum() {
        let m = markup("h_{t-1}", 14.0);
        assert!(m.starts_with("h<tspan dy=\"4.2\" font-size=\"12\">t-1</tspan>"));
    }
}
