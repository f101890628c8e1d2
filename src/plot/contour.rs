//! Paths over the level curves of a function of two variables (how optimizers walk down a surface).

use super::{draw_err, Series, FONT};
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

pub fn paths_over_contours(path: &Path, size: (u32, u32), s: &PathChart) -> Result<()> {
    let (x0, x1) = s.x_range;
    let (y0, y1) = s.y_range;
    let root = SVGBackend::new(path, size).into_drawing_area();
    root.fill(&WHITE).map_err(draw_err(path))?;
    let mut chart = ChartBuilder::on(&root)
        .caption(s.title, (FONT, 17))
        .margin(12)
        .x_label_area_size(35)
        .y_label_area_size(40)
        .build_cartesian_2d(x0..x1, y0..y1)
        .map_err(draw_err(path))?;
    chart
        .configure_mesh()
        .disable_mesh()
        .x_desc(s.x_desc)
        .y_desc(s.y_desc)
        .label_style((FONT, 12))
        .draw()
        .map_err(draw_err(path))?;
    for level in s.contours {
        chart
            .draw_series(LineSeries::new(
                level.iter().copied(),
                RGBAColor(0, 0, 0, 0.18).stroke_width(1),
            ))
            .map_err(draw_err(path))?;
    }
    for p in s.paths {
        let color = p.color;
        let style = color.stroke_width(2);
        let clipped = p
            .points
            .iter()
            .map(|&(x, y)| (x.clamp(x0, x1), y.clamp(y0, y1)));
        let drawn = if p.dashed {
            chart.draw_series(DashedLineSeries::new(clipped, 6, 4, style))
        } else {
            chart.draw_series(LineSeries::new(clipped, style))
        };
        drawn
            .map_err(draw_err(path))?
            .label(p.name.as_str())
            .legend(move |(x, y)| PathElement::new([(x, y), (x + 18, y)], color.stroke_width(2)));
    }
    if let Some(m) = s.mark {
        chart
            .draw_series(std::iter::once(Circle::new(m, 4, BLACK.filled())))
            .map_err(draw_err(path))?;
    }
    chart
        .configure_series_labels()
        .label_font((FONT, 12))
        .border_style(RGBAColor(0, 0, 0, 0.4))
        .background_style(WHITE.mix(0.9))
        .position(SeriesLabelPosition::UpperRight)
        .draw()
        .map_err(draw_err(path))?;
    root.present().map_err(draw_err(path))?;
    Ok(())
}
