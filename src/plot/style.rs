//! The one look every figure shares. The book's column is 750 CSS px wide, so every figure is drawn at most
//! that wide and shown 1:1: a size chosen here is the size the reader sees. Sizes of text are given in the
//! pixels wanted on the page; colours come from the Okabe-Ito palette, which stays distinct for colour-blind
//! readers; legends sit under the charts and draw a dashed swatch for a dashed series; tick labels print
//! integers as integers.

use plotters::coord::ranged1d::Ranged;
use plotters::coord::types::RangedCoordf64;
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

/// The width of the book's content column (mdbook's `--content-max-width`).
pub const COLUMN_WIDTH: u32 = 750;
pub const FONT: &str = "sans-serif";
pub const TITLE_PX: f64 = 15.0;
/// Axis names, legends, the labels of pictures and words.
pub const TEXT_PX: f64 = 13.0;
pub const TICK_PX: f64 = 12.0;
pub const LINE_WIDTH: u32 = 2;
/// A dashed line's dash and gap, in pixels, in the charts and in their legends alike.
pub const DASH: (u32, u32) = (7, 4);
/// At most this many tick labels on an axis: more crowd a half-column panel.
pub const TICKS: usize = 6;

/// The series colours, in order: Okabe and Ito's palette, which colour-blind readers can tell apart. Yellow
/// is last, as it is faint on white.
pub const PALETTE: [RGBColor; 8] = [
    RGBColor(0, 114, 178),   // blue
    RGBColor(213, 94, 0),    // vermillion
    RGBColor(0, 158, 115),   // bluish green
    RGBColor(204, 121, 167), // reddish purple
    RGBColor(230, 159, 0),   // orange
    RGBColor(86, 180, 233),  // sky blue
    RGBColor(0, 0, 0),       // black
    RGBColor(240, 228, 66),  // yellow
];
/// For a reference drawn behind the series (the real values, a baseline).
pub const GREY: RGBColor = RGBColor(140, 140, 140);

/// The height of a chart's plotting area with its axes, one panel to a row or two.
pub const CHART_HEIGHT_ONE: u32 = 330;
pub const CHART_HEIGHT_TWO: u32 = 290;
/// Room for the tick labels and the axis name under and left of a chart.
pub const X_LABEL_AREA: u32 = 48;
pub const Y_LABEL_AREA: u32 = 62;
pub const CHART_MARGIN: u32 = 10;
/// Room right of a chart for half of its last x tick label, which is centred on the axis's end.
pub const CHART_MARGIN_RIGHT: u32 = 22;

/// Panels side by side in a row: two at most, so that each is half the column (375 px) or more.
pub fn panels_per_row(panels: usize) -> usize {
    panels.clamp(1, 2)
}

/// plotters writes a font's size divided by 1.24 into the SVG (its fonts' em box): ask it for 1.24 times
/// the size wanted on the page.
pub fn font(px: f64) -> FontDesc<'static> {
    (FONT, px * 1.24).into_font()
}

/// A width that sans-serif text of `px` is unlikely to exceed, for laying out titles and legends.
pub fn text_width(text: &str, px: f64) -> f64 {
    text.chars().count() as f64 * 0.55 * px
}

/// `text` cut at spaces into lines no wider than `width`.
pub fn wrap(text: &str, px: f64, width: f64) -> Vec<String> {
    let mut lines: Vec<String> = Vec::new();
    for word in text.split(' ') {
        match lines.last_mut() {
            Some(l) if text_width(&format!("{l} {word}"), px) <= width => {
                l.push(' ');
                l.push_str(word);
            }
            _ => lines.push(word.to_string()),
        }
    }
    lines
}

/// The height a title takes over a chart `width` wide (it wraps onto as many lines as it needs).
pub fn title_height(title: &str, width: u32) -> u32 {
    if title.is_empty() {
        return 0;
    }
    let lines = wrap(title, TITLE_PX, width as f64 - 20.0).len() as f64;
    (lines * TITLE_PX * 1.3 + 10.0).ceil() as u32
}

/// Draw `title` centred at the top of `area`, wrapped to its width.
pub fn draw_title(
    area: &DrawingArea<SVGBackend<'_>, Shift>,
    title: &str,
) -> Result<(), DrawingAreaErrorKind<std::io::Error>> {
    let (w, _) = area.dim_in_pixel();
    let style = font(TITLE_PX)
        .color(&BLACK)
        .pos(Pos::new(HPos::Center, VPos::Top));
    for (k, l) in wrap(title, TITLE_PX, w as f64 - 20.0).iter().enumerate() {
        let y = 6 + (k as f64 * TITLE_PX * 1.3).round() as i32;
        area.draw_text(l, &style, (w as i32 / 2, y))?;
    }
    Ok(())
}

/// The mark beside a legend's label: a line, as the series is drawn, or a dot for a class of points.
#[derive(Clone, Copy, PartialEq, Debug)]
pub enum Swatch {
    Line { color: RGBColor, dashed: bool },
    Dot(RGBColor),
}

#[derive(Clone, PartialEq, Debug)]
pub struct LegendEntry {
    pub name: String,
    pub swatch: Swatch,
}

const SWATCH_LEN: i32 = 29;
const LEGEND_ROW: u32 = 20;

/// Columns of equal width, as many as fit in `width`: `(columns, column width)`.
fn legend_columns(entries: &[LegendEntry], width: u32) -> (usize, f64) {
    let col = entries
        .iter()
        .map(|e| SWATCH_LEN as f64 + 6.0 + text_width(&e.name, TEXT_PX) + 18.0)
        .fold(0.0, f64::max);
    let fit = (((width as f64 - 20.0) / col).floor() as usize).clamp(1, entries.len().max(1));
    // As few columns as give the fewest rows: four entries in two rows of two, not three and one.
    let rows = entries.len().div_ceil(fit);
    (entries.len().div_ceil(rows.max(1)).max(1), col)
}

/// The height a legend of `entries` takes under a chart `width` wide.
pub fn legend_height(entries: &[LegendEntry], width: u32) -> u32 {
    if entries.is_empty() {
        return 0;
    }
    let (cols, _) = legend_columns(entries, width);
    entries.len().div_ceil(cols) as u32 * LEGEND_ROW + 10
}

/// Draw `entries` in rows, centred in `area`; a dashed line's swatch is dashed as its series is.
pub fn draw_legend(
    area: &DrawingArea<SVGBackend<'_>, Shift>,
    entries: &[LegendEntry],
) -> Result<(), DrawingAreaErrorKind<std::io::Error>> {
    if entries.is_empty() {
        return Ok(());
    }
    let (w, _) = area.dim_in_pixel();
    let (cols, col_w) = legend_columns(entries, w);
    let used = col_w * cols.min(entries.len()) as f64 - 18.0;
    let left = ((w as f64 - used) / 2.0).max(0.0);
    let label = font(TEXT_PX)
        .color(&BLACK)
        .pos(Pos::new(HPos::Left, VPos::Center));
    for (k, e) in entries.iter().enumerate() {
        let x = (left + (k % cols) as f64 * col_w).round() as i32;
        let y = ((k / cols) as u32 * LEGEND_ROW + LEGEND_ROW / 2 + 4) as i32;
        match e.swatch {
            Swatch::Line { color, dashed } => {
                let style = color.stroke_width(LINE_WIDTH);
                if dashed {
                    let (dash, gap) = (DASH.0 as i32, DASH.1 as i32);
                    let mut a = 0;
                    while a < SWATCH_LEN {
                        let b = (a + dash).min(SWATCH_LEN);
                        area.draw(&PathElement::new([(x + a, y), (x + b, y)], style))?;
                        a = b + gap;
                    }
                } else {
                    area.draw(&PathElement::new([(x, y), (x + SWATCH_LEN, y)], style))?;
                }
            }
            Swatch::Dot(color) => {
                area.draw(&Circle::new((x + SWATCH_LEN / 2, y), 4, color.filled()))?;
            }
        }
        area.draw_text(&e.name, &label, (x + SWATCH_LEN + 6, y))?;
    }
    Ok(())
}

/// The labels of the ticks plotters draws on `[lo, hi]` when asked for at most `n`: with the fewest decimals
/// that write every tick exactly, so that ticks at whole numbers (steps, epochs, sizes) read "500", not
/// "500.0", and ticks 0.25 apart keep their two decimals.
pub struct TickLabels {
    decimals: usize,
}

impl TickLabels {
    pub fn new(lo: f64, hi: f64, n: usize) -> Self {
        let ticks = RangedCoordf64::from(lo..hi).key_points(n);
        TickLabels {
            decimals: tick_decimals(&ticks),
        }
    }

    pub fn label(&self, v: f64) -> String {
        let d = self.decimals;
        let s = format!("{v:.d$}");
        // A tick a rounding error below zero would read "-0".
        if s.trim_start_matches('-')
            .chars()
            .all(|c| c == '0' || c == '.')
        {
            s.trim_start_matches('-').to_string()
        } else {
            s
        }
    }
}

/// The fewest decimals that write each of `ticks` to within a millionth of their spacing.
pub fn tick_decimals(ticks: &[f64]) -> usize {
    let spacing = ticks
        .windows(2)
        .map(|w| (w[1] - w[0]).abs())
        .fold(f64::INFINITY, f64::min);
    let tol = if spacing.is_finite() && spacing > 0.0 {
        spacing * 1e-6
    } else {
        1e-9
    };
    (0..8)
        .find(|&d| {
            let p = 10f64.powi(d as i32);
            ticks.iter().all(|t| ((t * p).round() / p - t).abs() <= tol)
        })
        .unwrap_or(8)
}

/// An axis for fractions (accuracies): fitted to the values with some room, never past `[0, 1]`, so that
/// curves near the top are told apart rather than bunched under 1.
pub fn fraction_range(lo: f64, hi: f64) -> (f64, f64) {
    let pad = (0.08 * (hi - lo)).max(0.01);
    ((lo - pad).max(0.0), (hi + pad).min(1.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_at_whole_numbers_print_without_decimals() {
        let t = TickLabels::new(0.0, 3000.0, TICKS);
        assert_eq!(t.label(500.0), "500");
        assert_eq!(t.label(0.0), "0");
    }

    #[test]
    fn ticks_keep_the_decimals_that_tell_them_apart() {
        assert_eq!(tick_decimals(&[0.0, 0.25, 0.5, 0.75]), 2);
        assert_eq!(tick_decimals(&[0.8, 0.85, 0.9]), 2);
        assert_eq!(tick_decimals(&[-1.5, -1.0, 0.0, 1.5]), 1);
        assert_eq!(TickLabels::new(0.84, 0.97, TICKS).label(0.9), "0.90");
    }

    #[test]
    fn minus_zero_reads_zero() {
        assert_eq!(TickLabels::new(-1.0, 1.0, TICKS).label(-1e-17), "0.0");
    }

    #[test]
    fn a_fraction_axis_fits_its_data_inside_zero_one() {
        let (lo, hi) = fraction_range(0.9, 0.98);
        assert!(lo > 0.85 && lo < 0.9 && hi > 0.98 && hi <= 1.0);
        assert_eq!(fraction_range(0.0, 1.0), (0.0, 1.0));
    }
}
