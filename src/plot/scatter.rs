//! Points of several classes in 2-D, over a straight reference line.

use super::draw_err;
use super::style::{self, LegendEntry, Swatch, TickLabels};
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
    let mut chart = ChartBuilder::on(&area)
        .margin(style::CHART_MARGIN)
        .margin_right(style::CHART_MARGIN_RIGHT)
        .x_label_area_size(style::X_LABEL_AREA)
        .y_label_area_size(style::Y_LABEL_AREA)
        .build_cartesian_2d(s.x_range.0..s.x_range.1, s.y_range.0..s.y_range.1)
        .map_err(draw_err(path))?;
    let (xt, yt) = (
        TickLabels::new(s.x_range.0, s.x_range.1, style::TICKS),
        TickLabels::new(s.y_range.0, s.y_range.1, style::TICKS),
    );
    chart
        .configure_mesh()
        .x_labels(style::TICKS)
        .y_labels(style::TICKS)
        .x_label_formatter(&|v| xt.label(*v))
        .y_label_formatter(&|v| yt.label(*v))
        .x_desc(s.x_desc)
        .y_desc(s.y_desc)
        .label_style(style::font(style::TICK_PX))
        .axis_desc_style(style::font(style::TEXT_PX))
        .light_line_style(TRANSPARENT)
        .bold_line_style(RGBAColor(0, 0, 0, 0.08))
        .draw()
        .map_err(draw_err(path))?;
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
