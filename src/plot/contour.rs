//! Paths over the level curves of a function of two variables (how optimizers walk down a surface).

use super::style;
use super::{axes, draw_err, legend_entries, Series};
use crate::error::Result;
use plotters::prelude::*;
use std::path::Path;

pub struct PathChart<'a> {
    pub title: &'a str,
    pub x_desc: &'a str,
    pub y_desc: &'a str,
    pub x_range: (f64, f64),
    pub y_range: (f64, f64),
    /// Level curves, each a polyline, drawn in faint grey under the paths.
    pub contours: &'a [Vec<(f64, f64)>],
    /// The paths; a point outside the ranges is drawn on the border.
    pub paths: &'a [Series],
    /// A point to mark (the minimum).
    pub mark: Option<(f64, f64)>,
}

/// The height of the chart under the title: the paths need room more than the legend does.
const CHART_HEIGHT: u32 = 400;

/// Drawn the width of the book's column, with the legend of the paths under the chart.
pub fn paths_over_contours(path: &Path, s: &PathChart) -> Result<()> {
    let (x0, x1) = s.x_range;
    let (y0, y1) = s.y_range;
    let width = style::COLUMN_WIDTH;
    let legend = legend_entries(s.paths);
    let (title_h, legend_h) = (
        style::title_height(s.title, width),
        style::legend_height(&legend, width),
    );
    let root =
        SVGBackend::new(path, (width, title_h + CHART_HEIGHT + legend_h)).into_drawing_area();
    root.fill(&WHITE).map_err(draw_err(path))?;
    let (title, rest) = root.split_vertically(title_h);
    let (area, below) = rest.split_vertically(CHART_HEIGHT);
    style::draw_title(&title, s.title).map_err(draw_err(path))?;
    let mut chart = axes(path, &area, (x0, x1), (y0, y1), (s.x_desc, s.y_desc), false)?;
    for level in s.contours {
        chart
            .draw_series(LineSeries::new(
                level.iter().copied(),
                RGBAColor(0, 0, 0, 0.18).stroke_width(1),
            ))
            .map_err(draw_err(path))?;
    }
    for p in s.paths {
        let style = p.color.stroke_width(style::LINE_WIDTH);
        let clipped = p
            .points
            .iter()
            .map(|&(x, y)| (x.clamp(x0, x1), y.clamp(y0, y1)));
        if p.dashed {
            let (dash, gap) = style::DASH;
            chart
                .draw_series(DashedLineSeries::new(clipped, dash, gap, style))
                .map_err(draw_err(path))?;
        } else {
            chart
                .draw_series(LineSeries::new(clipped, style))
                .map_err(draw_err(path))?;
        }
    }
    if let Some(m) = s.mark {
        chart
            .draw_series(std::iter::once(Circle::new(m, 4, BLACK.filled())))
            .map_err(draw_err(path))?;
    }
    style::draw_legend(&below, &legend).map_err(draw_err(path))?;
    root.present().map_err(draw_err(path))?;
    Ok(())
}
