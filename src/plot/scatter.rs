//! Points of several classes in 2-D, over a straight reference line.

use super::style::{self, LegendEntry, Swatch};
use super::{axes, draw_err};
use crate::error::Result;
use plotters::prelude::*;
use std::path::Path;

/// One class of points.
pub struct Class2d<'a> {
    pub name: &'a str,
    pub color: RGBColor,
    pub points: Vec<(f64, f64)>,
}

pub struct Scatter<'a> {
    pub title: &'a str,
    pub x_desc: &'a str,
    pub y_desc: &'a str,
    pub x_range: (f64, f64),
    pub y_range: (f64, f64),
    /// A black line between two points, drawn under the points, and its legend name.
    pub line: Option<(&'a str, [(f64, f64); 2])>,
    pub classes: &'a [Class2d<'a>],
}

/// Drawn the width of the book's column, with the legend under the chart.
pub fn scatter(path: &Path, s: &Scatter) -> Result<()> {
    let width = style::COLUMN_WIDTH;
    let mut legend: Vec<LegendEntry> = s
        .line
        .iter()
        .map(|(name, _)| LegendEntry {
            name: name.to_string(),
            swatch: Swatch::Line {
                color: BLACK,
                dashed: false,
            },
        })
        .collect();
    legend.extend(s.classes.iter().map(|c| LegendEntry {
        name: c.name.to_string(),
        swatch: Swatch::Dot(c.color),
    }));
    let (title_h, chart_h, legend_h) = (
        style::title_height(s.title, width),
        style::CHART_HEIGHT_ONE + 40,
        style::legend_height(&legend, width),
    );
    let root = SVGBackend::new(path, (width, title_h + chart_h + legend_h)).into_drawing_area();
    root.fill(&WHITE).map_err(draw_err(path))?;
    let (title, rest) = root.split_vertically(title_h);
    let (area, below) = rest.split_vertically(chart_h);
    style::draw_title(&title, s.title).map_err(draw_err(path))?;
    let mut chart = axes(
        path,
        &area,
        s.x_range,
        s.y_range,
        (s.x_desc, s.y_desc),
        true,
    )?;
    if let Some((_, ends)) = s.line {
        chart
            .draw_series(LineSeries::new(ends, BLACK.stroke_width(style::LINE_WIDTH)))
            .map_err(draw_err(path))?;
    }
    for class in s.classes {
        let color = class.color;
        chart
            .draw_series(
                class
                    .points
                    .iter()
                    .map(|&p| Circle::new(p, 3, color.filled())),
            )
            .map_err(draw_err(path))?;
    }
    style::draw_legend(&below, &legend).map_err(draw_err(path))?;
    root.present().map_err(draw_err(path))?;
    Ok(())
}
