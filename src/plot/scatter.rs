//! Points of several classes in 2-D, over a straight reference line.

use super::{draw_err, FONT};
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

pub fn scatter(path: &Path, size: (u32, u32), s: &Scatter) -> Result<()> {
    let root = SVGBackend::new(path, size).into_drawing_area();
    root.fill(&WHITE).map_err(draw_err(path))?;
    let mut chart = ChartBuilder::on(&root)
        .caption(s.title, (FONT, 17))
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(60)
        .build_cartesian_2d(s.x_range.0..s.x_range.1, s.y_range.0..s.y_range.1)
        .map_err(draw_err(path))?;
    chart
        .configure_mesh()
        .x_desc(s.x_desc)
        .y_desc(s.y_desc)
        .label_style((FONT, 12))
        .axis_desc_style((FONT, 13))
        .draw()
        .map_err(draw_err(path))?;
    if let Some((name, ends)) = s.line {
        chart
            .draw_series(LineSeries::new(ends, BLACK.stroke_width(2)))
            .map_err(draw_err(path))?
            .label(name)
            .legend(|(x, y)| PathElement::new([(x, y), (x + 16, y)], BLACK.stroke_width(2)));
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
            .map_err(draw_err(path))?
            .label(class.name)
            .legend(move |(x, y)| Circle::new((x, y), 4, color.filled()));
    }
    chart
        .configure_series_labels()
        .label_font((FONT, 13))
        .border_style(BLACK)
        .background_style(WHITE.mix(0.9))
        .position(SeriesLabelPosition::LowerLeft)
        .draw()
        .map_err(draw_err(path))?;
    root.present().map_err(draw_err(path))?;
    Ok(())
}
