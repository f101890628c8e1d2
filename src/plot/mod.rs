//! Figures, drawn with plotters into SVG. SVG keeps text as text: no font file or system font library is
//! needed to draw, and the reader's browser renders the labels. Pixel pictures (weights, feature maps) are
//! PNG embedded in an SVG that carries their labels.
//!
//! Plotting takes plain data (series of points, matrices, titles and colours) and knows no chapter: each
//! chapter turns its own report into these, in `chapters/<chapter>/figures.rs`.

pub mod contour;
pub mod diagram;
pub mod regions;
pub mod scatter;
pub mod scatter3d;
pub mod style;
pub mod words;

pub use contour::{paths_over_contours, PathChart};
pub use plotters::style::RGBColor;
pub use regions::{decision_regions, RegionGrid, RegionPanel, Regions};
pub use scatter::{scatter, Class2d, Scatter};
pub use scatter3d::{scatter_3d, Class3d, Scatter3d};
pub use style::PALETTE;

use crate::error::{Error, Result};
use base64::Engine;
use plotters::coord::types::RangedCoordf64;
use plotters::coord::Shift;
use plotters::prelude::*;
use std::path::Path;
use style::{LegendEntry, Swatch, TickLabels};

/// Turn a plotters error into ours, naming the figure file.
pub(crate) fn draw_err<E: std::fmt::Display>(path: &Path) -> impl FnOnce(E) -> Error + '_ {
    move |e| Error::Format {
        path: path.display().to_string(),
        msg: format!("drawing failed: {e}"),
    }
}

/// A flat chart over `x` and `y` in `area`, with the style's margins, label areas, tick labels and axis names
/// (`desc`: x, then y), and a faint grid when `grid`: where every 2-D chart kind starts.
pub(crate) fn axes<'a, 'b>(
    path: &Path,
    area: &'a DrawingArea<SVGBackend<'b>, Shift>,
    x: (f64, f64),
    y: (f64, f64),
    desc: (&str, &str),
    grid: bool,
) -> Result<ChartContext<'a, SVGBackend<'b>, Cartesian2d<RangedCoordf64, RangedCoordf64>>> {
    let mut chart = ChartBuilder::on(area)
        .margin(style::CHART_MARGIN)
        .margin_right(style::CHART_MARGIN_RIGHT)
        .x_label_area_size(style::X_LABEL_AREA)
        .y_label_area_size(style::Y_LABEL_AREA)
        .build_cartesian_2d(x.0..x.1, y.0..y.1)
        .map_err(draw_err(path))?;
    let (xt, yt) = (
        TickLabels::new(x.0, x.1, style::TICKS),
        TickLabels::new(y.0, y.1, style::TICKS),
    );
    let (xf, yf) = (|v: &f64| xt.label(*v), |v: &f64| yt.label(*v));
    let mut mesh = chart.configure_mesh();
    mesh.x_labels(style::TICKS)
        .y_labels(style::TICKS)
        .x_label_formatter(&xf)
        .y_label_formatter(&yf)
        .x_desc(desc.0)
        .y_desc(desc.1)
        .label_style(style::font(style::TICK_PX))
        .axis_desc_style(style::font(style::TEXT_PX));
    if grid {
        mesh.light_line_style(TRANSPARENT)
            .bold_line_style(RGBAColor(0, 0, 0, 0.08));
    } else {
        mesh.disable_mesh();
    }
    mesh.draw().map_err(draw_err(path))?;
    Ok(chart)
}

/// How a panel's y axis is ranged.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum YRange {
    /// Fitted to the data, with some room.
    Fit,
    /// Fixed (when the figure's point is the whole range, or the data run off to infinity).
    Fixed(f64, f64),
    /// A fraction such as an accuracy: fitted to the data, with room, inside `[0, 1]`.
    Fraction,
}

/// One line of a chart.
pub struct Series {
    pub name: String,
    pub color: RGBColor,
    pub dashed: bool,
    pub points: Vec<(f64, f64)>,
}

impl Series {
    pub fn new(
        name: impl Into<String>,
        color: RGBColor,
        dashed: bool,
        points: Vec<(f64, f64)>,
    ) -> Self {
        Series {
            name: name.into(),
            color,
            dashed,
            points,
        }
    }
}

/// A panel of a line chart.
pub struct Panel<'a> {
    pub title: &'a str,
    pub x_desc: &'a str,
    pub y_desc: &'a str,
    pub series: Vec<Series>,
    pub y_range: YRange,
}

/// The legend of a panel's named series (a series without a name, one of many drawn alike, has none).
fn legend_entries(series: &[Series]) -> Vec<LegendEntry> {
    series
        .iter()
        .filter(|s| !s.name.is_empty())
        .map(|s| LegendEntry {
            name: s.name.clone(),
            swatch: Swatch::Line {
                color: s.color,
                dashed: s.dashed,
            },
        })
        .collect()
}

/// Panels in one SVG the width of the book's column: one panel full width, more two to a row. Panels with
/// the same series share one legend under them all; otherwise each has its own under it.
pub fn line_panels(path: &Path, panels: &[Panel]) -> Result<()> {
    let cols = style::panels_per_row(panels.len());
    let width = style::COLUMN_WIDTH;
    let panel_w = width / cols as u32;
    let chart_h = if cols == 1 {
        style::CHART_HEIGHT_ONE
    } else {
        style::CHART_HEIGHT_TWO
    };
    let legends: Vec<Vec<LegendEntry>> = panels.iter().map(|p| legend_entries(&p.series)).collect();
    let shared = legends.windows(2).all(|w| w[0] == w[1]);
    let shared_h = match (shared, legends.first()) {
        (true, Some(l)) => style::legend_height(l, width),
        _ => 0,
    };
    let rows: Vec<(u32, u32)> = panels
        .chunks(cols)
        .zip(legends.chunks(cols))
        .map(|(ps, ls)| {
            let title = ps
                .iter()
                .map(|p| style::title_height(p.title, panel_w))
                .max();
            let legend = ls.iter().map(|l| style::legend_height(l, panel_w)).max();
            (
                title.unwrap_or(0),
                if shared { 0 } else { legend.unwrap_or(0) },
            )
        })
        .collect();
    let height = rows.iter().map(|(t, l)| t + chart_h + l).sum::<u32>() + shared_h;
    let root = SVGBackend::new(path, (width, height.max(1))).into_drawing_area();
    root.fill(&WHITE).map_err(draw_err(path))?;
    let mut rest = root.clone();
    let mut k = 0;
    for &(title_h, legend_h) in &rows {
        let (row, below) = rest.split_vertically(title_h + chart_h + legend_h);
        rest = below;
        for cell in row.split_evenly((1, cols)) {
            let Some(panel) = panels.get(k) else { break };
            let (title, body) = cell.split_vertically(title_h);
            let (chart, legend) = body.split_vertically(chart_h);
            style::draw_title(&title, panel.title).map_err(draw_err(path))?;
            draw_lines(path, &chart, panel)?;
            if !shared {
                style::draw_legend(&legend, &legends[k]).map_err(draw_err(path))?;
            }
            k += 1;
        }
    }
    if shared {
        if let Some(l) = legends.first() {
            style::draw_legend(&rest, l).map_err(draw_err(path))?;
        }
    }
    root.present().map_err(draw_err(path))?;
    Ok(())
}

/// The smallest and largest finite `x` and `y` of the points, `None` without any.
fn bounds<'a>(points: impl Iterator<Item = &'a (f64, f64)>) -> Option<(f64, f64, f64, f64)> {
    points
        .filter(|p| p.0.is_finite() && p.1.is_finite())
        .fold(None, |b, &(x, y)| {
            let (x0, x1, y0, y1) = b.unwrap_or((x, x, y, y));
            Some((x0.min(x), x1.max(x), y0.min(y), y1.max(y)))
        })
}

fn draw_lines(path: &Path, area: &DrawingArea<SVGBackend<'_>, Shift>, panel: &Panel) -> Result<()> {
    let (mut x0, mut x1, y0, y1) =
        bounds(panel.series.iter().flat_map(|s| s.points.iter())).unwrap_or((0.0, 1.0, 0.0, 1.0));
    let (mut y0, mut y1) = match panel.y_range {
        YRange::Fixed(a, b) => (a, b),
        YRange::Fraction => style::fraction_range(y0, y1),
        YRange::Fit => {
            let pad = 0.05 * (y1 - y0).max(1e-9);
            (y0 - pad, y1 + pad)
        }
    };
    if x1 <= x0 {
        (x0, x1) = (x0 - 0.5, x0 + 0.5);
    }
    if y1 <= y0 {
        (y0, y1) = (y0 - 0.5, y0 + 0.5);
    }
    let mut chart = axes(
        path,
        area,
        (x0, x1),
        (y0, y1),
        (panel.x_desc, panel.y_desc),
        true,
    )?;
    for s in &panel.series {
        let style = s.color.stroke_width(style::LINE_WIDTH);
        let pts = s.points.iter().copied().filter(|p| p.1.is_finite());
        if s.dashed {
            let (dash, gap) = style::DASH;
            chart
                .draw_series(DashedLineSeries::new(pts, dash, gap, style))
                .map_err(draw_err(path))?;
        } else {
            chart
                .draw_series(LineSeries::new(pts, style))
                .map_err(draw_err(path))?;
        }
    }
    Ok(())
}

/// A grid of pictures (values mapped by a diverging blue-white-red scale around 0, each picture scaled by
/// its own largest magnitude), written as one PNG embedded in an SVG with a label for each row and column.
/// Each picture has a grey frame and a gap around it, since a white (zero) edge would otherwise run into its
/// neighbour; every pixel is drawn as the largest square that fits the grid in the book's column.
pub fn picture_grid(
    path: &Path,
    title: &str,
    pictures: &[Vec<&[f32]>],
    side: (usize, usize),
    row_labels: &[String],
    col_labels: &[String],
) -> Result<()> {
    const GAP: usize = 6;
    const FRAME: usize = 1;
    /// The largest side a picture is drawn at: larger only makes the figure long.
    const MAX_TILE: usize = 64;
    let (ph, pw) = side;
    let rows = pictures.len();
    let cols = pictures.iter().map(|r| r.len()).max().unwrap_or(0).max(1);
    let column = style::COLUMN_WIDTH as usize;
    let label_w = row_labels
        .iter()
        .map(|l| style::text_width(l, style::TEXT_PX).ceil() as usize)
        .max()
        .unwrap_or(0);
    let left = label_w + 16;
    let title_h = style::title_height(title, style::COLUMN_WIDTH) as usize;
    let top = title_h + if col_labels.is_empty() { 0 } else { 22 };
    let room = column.saturating_sub(left + 10) / cols;
    let scale = (1..=MAX_TILE)
        .take_while(|&s| s == 1 || (pw * s + 2 * FRAME + GAP <= room && pw.max(ph) * s <= MAX_TILE))
        .last()
        .unwrap_or(1);
    let cell_w = pw * scale + 2 * FRAME + GAP;
    let cell_h = ph * scale + 2 * FRAME + GAP;
    let (img_w, img_h) = (cols * cell_w, rows * cell_h);
    let mut rgb = vec![255u8; img_w * img_h * 3];
    for (r, row) in pictures.iter().enumerate() {
        for (c, pic) in row.iter().enumerate() {
            let m = pic.iter().fold(0f32, |m, v| m.max(v.abs())).max(1e-12);
            for y in 0..ph * scale + 2 * FRAME {
                for x in 0..pw * scale + 2 * FRAME {
                    let inside = (FRAME..FRAME + ph * scale).contains(&y)
                        && (FRAME..FRAME + pw * scale).contains(&x);
                    let colour = if inside {
                        let v = pic[((y - FRAME) / scale) * pw + (x - FRAME) / scale] / m;
                        diverging(v)
                    } else {
                        (150, 150, 150)
                    };
                    let at = ((r * cell_h + y) * img_w + c * cell_w + x) * 3;
                    rgb[at..at + 3].copy_from_slice(&[colour.0, colour.1, colour.2]);
                }
            }
        }
    }
    let mut png_bytes = Vec::new();
    {
        let mut enc = png::Encoder::new(&mut png_bytes, img_w as u32, img_h as u32);
        enc.set_color(png::ColorType::Rgb);
        enc.set_depth(png::BitDepth::Eight);
        let mut w = enc.write_header().map_err(draw_err(path))?;
        w.write_image_data(&rgb).map_err(draw_err(path))?;
    }
    let b64 = base64::engine::general_purpose::STANDARD.encode(&png_bytes);
    let (w, h) = (left + img_w + 10 - GAP, top + img_h + 10 - GAP);
    let (font, title_px, text_px) = (style::FONT, style::TITLE_PX, style::TEXT_PX);
    let mut svg = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{w}\" height=\"{h}\" viewBox=\"0 0 {w} {h}\">\n\
         <rect width=\"{w}\" height=\"{h}\" fill=\"white\"/>\n"
    );
    for (k, l) in style::wrap(title, title_px, column as f64 - 20.0)
        .iter()
        .enumerate()
    {
        svg += &format!(
            "<text x=\"{}\" y=\"{:.1}\" font-family=\"{font}\" font-size=\"{title_px}\" text-anchor=\"middle\">{}</text>\n",
            w / 2,
            6.0 + title_px + k as f64 * title_px * 1.3,
            escape(l)
        );
    }
    for (c, l) in col_labels.iter().enumerate() {
        svg += &format!(
            "<text x=\"{}\" y=\"{}\" font-family=\"{font}\" font-size=\"{text_px}\" text-anchor=\"middle\">{}</text>\n",
            left + c * cell_w + FRAME + pw * scale / 2,
            top - 7,
            escape(l)
        );
    }
    for (r, l) in row_labels.iter().enumerate() {
        svg += &format!(
            "<text x=\"{}\" y=\"{}\" font-family=\"{font}\" font-size=\"{text_px}\" text-anchor=\"end\">{}</text>\n",
            left - 8,
            top + r * cell_h + FRAME + ph * scale / 2 + 4,
            escape(l)
        );
    }
    svg += &format!(
        "<image x=\"{left}\" y=\"{top}\" width=\"{img_w}\" height=\"{img_h}\" href=\"data:image/png;base64,{b64}\"/>\n</svg>\n"
    );
    std::fs::write(path, svg).map_err(|e| Error::io(path, e))
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// `v ∈ [-1, 1]` to blue (negative), white (0), red (positive).
fn diverging(v: f32) -> (u8, u8, u8) {
    let v = v.clamp(-1.0, 1.0);
    let t = |x: f32| (255.0 * (1.0 - x)).round() as u8;
    if v >= 0.0 {
        (255, t(v), t(v))
    } else {
        (t(-v), t(-v), 255)
    }
}
