//! Points of several classes in 3-D, with a plane through them.

use super::draw_err;
use super::style::{self, LegendEntry, Swatch, TickLabels};
use crate::error::Result;
use plotters::prelude::*;
use std::path::Path;

/// One class of points, `(x1, x2, x3)` with `x3` the height.
pub struct Class3d<'a> {
    pub name: &'a str,
    pub color: RGBColor,
    pub points: Vec<(f64, f64, f64)>,
}

/// A 3-D scatter over the square `ground x ground` of the two ground axes, heights in `height`.
pub struct Scatter3d<'a> {
    pub title: &'a str,
    pub ground: (f64, f64),
    pub height: (f64, f64),
    /// The names of x1, x2 and the height axis.
    pub axis_names: [&'a str; 3],
    /// The height of the plane above `(x1, x2)`, drawn clamped to `height`.
    pub plane: &'a dyn Fn(f64, f64) -> f64,
    pub classes: &'a [Class3d<'a>],
}

/// The height of the 3-D view under the title.
const VIEW_HEIGHT: u32 = 500;

/// Drawn the width of the book's column, with the legend of the classes under the view.
pub fn scatter_3d(path: &Path, s: &Scatter3d) -> Result<()> {
    let width = style::COLUMN_WIDTH;
    let legend: Vec<LegendEntry> = s
        .classes
        .iter()
        .map(|c| LegendEntry {
            name: c.name.to_string(),
            swatch: Swatch::Dot(c.color),
        })
        .collect();
    let (title_h, legend_h) = (
        style::title_height(s.title, width),
        style::legend_height(&legend, width),
    );
    let root = SVGBackend::new(path, (width, title_h + VIEW_HEIGHT + legend_h)).into_drawing_area();
    root.fill(&WHITE).map_err(draw_err(path))?;
    let (title, rest) = root.split_vertically(title_h);
    let (area, below) = rest.split_vertically(VIEW_HEIGHT);
    style::draw_title(&title, s.title).map_err(draw_err(path))?;
    let (g0, g1) = s.ground;
    let (lo, hi) = s.height;
    // plotters' 3-D axes are (x, y, z) with y up: our height is its y.
    let mut chart = ChartBuilder::on(&area)
        .margin(style::CHART_MARGIN)
        .build_cartesian_3d(g0..g1, lo..hi, g0..g1)
        .map_err(draw_err(path))?;
    chart.with_projection(|mut p| {
        p.yaw = 0.6;
        p.pitch = 0.25;
        p.scale = 0.75;
        p.into_matrix()
    });
    let (gt, ht) = (
        TickLabels::new(g0, g1, LABELS),
        TickLabels::new(lo, hi, LABELS),
    );
    let (gf, hf) = (|v: &f64| gt.label(*v), |v: &f64| ht.label(*v));
    // x1's last tick and x2's last tick fall on the same corner of the view: x2's is left out, or the two labels
    // print over each other.
    let corner = |v: &f64| {
        if (v - g1).abs() <= 1e-9 * (g1 - g0) {
            String::new()
        } else {
            gt.label(*v)
        }
    };
    chart
        .configure_axes()
        .x_labels(LABELS)
        .y_labels(LABELS)
        .z_labels(LABELS)
        .x_formatter(&gf)
        .y_formatter(&hf)
        .z_formatter(&corner)
        .label_style(style::font(style::TICK_PX))
        .draw()
        .map_err(draw_err(path))?;
    // plotters draws no titles on 3-D axes: put each name beside the middle of its tick labels.
    let (mid, span) = ((g0 + g1) / 2.0, g1 - g0);
    let [n1, n2, n3] = s.axis_names;
    let axis_names = [
        (n1, (mid, lo, g1 + 0.24 * span)),
        (n2, (g1 + 0.18 * span, lo, mid)),
        (n3, (g0, hi + 0.07 * (hi - lo), g0)),
    ];
    chart
        .draw_series(axis_names.into_iter().map(|(name, at)| {
            Text::new(
                name.to_string(),
                at,
                style::font(style::TEXT_PX + 2.0).color(&BLACK),
            )
        }))
        .map_err(draw_err(path))?;
    let grid: Vec<f64> = (0..=10).map(|i| g0 + i as f64 * (span / 10.0)).collect();
    chart
        .draw_series(
            SurfaceSeries::xoz(grid.iter().copied(), grid.iter().copied(), |x1, x2| {
                (s.plane)(x1, x2).clamp(lo, hi)
            })
            .style(RGBAColor(120, 120, 120, 0.25).filled()),
        )
        .map_err(draw_err(path))?;
    for class in s.classes {
        let color = class.color;
        chart
            .draw_series(
                class
                    .points
                    .iter()
                    .map(|&(x1, x2, x3)| Circle::new((x1, x3, x2), 3, color.filled())),
            )
            .map_err(draw_err(path))?;
    }
    style::draw_legend(&below, &legend).map_err(draw_err(path))?;
    root.present().map_err(draw_err(path))?;
    Ok(())
}

/// Tick labels per 3-D axis: the axes are short once foreshortened.
const LABELS: usize = 5;
