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
pub mod words;

pub use contour::{paths_over_contours, PathChart};
pub use plotters::style::RGBColor;
pub use regions::{decision_regions, RegionGrid, RegionPanel, Regions};
pub use scatter::{scatter, Class2d, Scatter};
pub use scatter3d::{scatter_3d, Class3d, Scatter3d};

use crate::error::{Error, Result};
use base64::Engine;
use plotters::prelude::*;
use std::path::Path;

/// Turn a plotters error into ours, naming the figure file.
pub(crate) fn draw_err<E: std::fmt::Display>(path: &Path) -> impl FnOnce(E) -> Error + '_ {
    move |e| Error::Format {
        path: path.display().to_string(),
        msg: format!("drawing failed: {e}"),
    }
}

pub(crate) const FONT: &str = "sans-serif";

/// The colours of the series, in order (the matplotlib "tab10" palette).
pub const PALETTE: [RGBColor; 8] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(127, 127, 127),
];

/// One line of a chart.
pub struct Series {
    pub name: String,
    pub color: RGBColor,
    pub dashed: bool,
    pub points: Vec<(f64, f64)>,
}

/// A panel of a line chart.
pub struct Panel<'a> {
    pub title: &'a str,
    pub x_desc: &'a str,
    pub y_desc: &'a str,
    pub series: Vec<Series>,
    /// Fixed y range; `None` to fit the data.
    pub y_range: Option<(f64, f64)>,
}

/// Panels side by side in one SVG.
pub fn line_panels(path: &Path, size: (u32, u32), panels: &[Panel]) -> Result<()> {
    let root = SVGBackend::new(path, size).into_drawing_area();
    root.fill(&WHITE).map_err(draw_err(path))?;
    let areas = root.split_evenly((1, panels.len().max(1)));
    for (area, panel) in areas.iter().zip(panels) {
        let all = panel.series.iter().flat_map(|s| s.points.iter());
        let (mut x0, mut x1, mut y0, mut y1) = (f64::MAX, f64::MIN, f64::MAX, f64::MIN);
        for &(x, y) in all {
            if y.is_finite() {
                x0 = x0.min(x);
                x1 = x1.max(x);
                y0 = y0.min(y);
                y1 = y1.max(y);
            }
        }
        if x0 > x1 {
            (x0, x1, y0, y1) = (0.0, 1.0, 0.0, 1.0);
        }
        if let Some((a, b)) = panel.y_range {
            (y0, y1) = (a, b);
        } else {
            let pad = 0.05 * (y1 - y0).max(1e-9);
            (y0, y1) = (y0 - pad, y1 + pad);
        }
        if x1 <= x0 {
            x1 = x0 + 1.0;
        }
        let mut chart = ChartBuilder::on(area)
            .caption(panel.title, (FONT, 16))
            .margin(10)
            .x_label_area_size(40)
            .y_label_area_size(55)
            .build_cartesian_2d(x0..x1, y0..y1)
            .map_err(draw_err(path))?;
        chart
            .configure_mesh()
            .x_desc(panel.x_desc)
            .y_desc(panel.y_desc)
            .label_style((FONT, 12))
            .axis_desc_style((FONT, 13))
            .light_line_style(RGBAColor(0, 0, 0, 0.05))
            .draw()
            .map_err(draw_err(path))?;
        for s in &panel.series {
            let style = s.color.stroke_width(2);
            let pts = s.points.iter().copied().filter(|p| p.1.is_finite());
            let color = s.color;
            let anno = if s.dashed {
                chart
                    .draw_series(DashedLineSeries::new(pts, 6, 4, style))
                    .map_err(draw_err(path))?
            } else {
                chart
                    .draw_series(LineSeries::new(pts, style))
                    .map_err(draw_err(path))?
            };
            // A series without a name (one of many drawn alike) stays out of the legend.
            if !s.name.is_empty() {
                anno.label(s.name.as_str()).legend(move |(x, y)| {
                    PathElement::new([(x, y), (x + 18, y)], color.stroke_width(2))
                });
            }
        }
        // The legend goes to the corner the curves leave free: below them when they end high.
        let ends: Vec<f64> = panel
            .series
            .iter()
            .filter_map(|s| s.points.iter().rev().find(|p| p.1.is_finite()).map(|p| p.1))
            .collect();
        let end_high =
            !ends.is_empty() && ends.iter().sum::<f64>() / ends.len() as f64 > (y0 + y1) / 2.0;
        chart
            .configure_series_labels()
            .label_font((FONT, 12))
            .border_style(RGBAColor(0, 0, 0, 0.4))
            .background_style(WHITE.mix(0.85))
            .position(if end_high {
                SeriesLabelPosition::LowerRight
            } else {
                SeriesLabelPosition::UpperRight
            })
            .draw()
            .map_err(draw_err(path))?;
    }
    root.present().map_err(draw_err(path))?;
    Ok(())
}

/// A grid of pictures (values mapped by a diverging blue-white-red scale around 0, each picture scaled by
/// its own largest magnitude, every pixel drawn as `scale x scale`), written as one PNG embedded in an SVG
/// with a label for each row and column.
pub fn picture_grid(
    path: &Path,
    title: &str,
    pictures: &[Vec<&[f32]>],
    side: (usize, usize),
    row_labels: &[String],
    col_labels: &[String],
    scale: usize,
) -> Result<()> {
    let (ph, pw) = side;
    let rows = pictures.len();
    let cols = pictures.iter().map(|r| r.len()).max().unwrap_or(0);
    let (gap, left, top) = (4usize, 90usize, 56usize);
    let cell_w = pw * scale + gap;
    let cell_h = ph * scale + gap;
    let (img_w, img_h) = (cols * cell_w, rows * cell_h);
    let mut rgb = vec![255u8; img_w * img_h * 3];
    for (r, row) in pictures.iter().enumerate() {
        for (c, pic) in row.iter().enumerate() {
            let m = pic.iter().fold(0f32, |m, v| m.max(v.abs())).max(1e-12);
            for y in 0..ph * scale {
                for x in 0..pw * scale {
                    let v = pic[(y / scale) * pw + x / scale] / m;
                    let (red, green, blue) = diverging(v);
                    let at = ((r * cell_h + y) * img_w + c * cell_w + x) * 3;
                    rgb[at..at + 3].copy_from_slice(&[red, green, blue]);
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
    let (w, h) = (left + img_w + 10, top + img_h + 10);
    let mut svg = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{w}\" height=\"{h}\" viewBox=\"0 0 {w} {h}\">\n\
         <rect width=\"{w}\" height=\"{h}\" fill=\"white\"/>\n\
         <text x=\"{}\" y=\"22\" font-family=\"{FONT}\" font-size=\"16\" text-anchor=\"middle\">{}</text>\n",
        w / 2,
        escape(title)
    );
    for (c, l) in col_labels.iter().enumerate() {
        svg += &format!(
            "<text x=\"{}\" y=\"{}\" font-family=\"{FONT}\" font-size=\"13\" text-anchor=\"middle\">{}</text>\n",
            left + c * cell_w + pw * scale / 2,
            top - 8,
            escape(l)
        );
    }
    for (r, l) in row_labels.iter().enumerate() {
        svg += &format!(
            "<text x=\"{}\" y=\"{}\" font-family=\"{FONT}\" font-size=\"13\" text-anchor=\"end\">{}</text>\n",
            left - 8,
            top + r * cell_h + ph * scale / 2 + 4,
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
