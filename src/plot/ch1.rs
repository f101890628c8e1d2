//! Chapter 1's figures: the points and the planes in 3-D, and the edge-on view of the learned plane.

use super::{draw_err, FONT};
use crate::chapters::ch1::Report;
use crate::error::Result;
use nalgebra::Vector3;
use plotters::prelude::*;
use std::path::Path;

const POS: RGBColor = RGBColor(214, 39, 40);
const NEG: RGBColor = RGBColor(31, 119, 180);

/// The book's 3-D scatter: positives and negatives, with the true plane (`learned = false`) or the learned
/// one (`learned = true`).
pub fn scatter_3d(r: &Report, learned: bool, path: &Path) -> Result<()> {
    let err = draw_err(path);
    let root = SVGBackend::new(path, (720, 560)).into_drawing_area();
    root.fill(&WHITE).map_err(draw_err(path))?;
    let (w, b) = if learned {
        (r.trained.model.w.clone(), r.trained.model.b)
    } else {
        (r.plane.w.clone(), r.plane.b)
    };
    let height = |x1: f64, x2: f64| -(w[0] * x1 + w[1] * x2 + b) / w[2];
    let x3 = r.data.x.column(2);
    let (lo, hi) = (x3.min().min(-220.0), x3.max().max(100.0));
    let title = if learned {
        format!(
            "Learned plane after {} updates: {:.2} x1 {} x2 {} x3 {} = 0",
            r.trained.updates,
            w[0],
            signed(w[1]),
            signed(w[2]),
            signed(b)
        )
    } else {
        "True plane 2x1 - 0.9x2 + x3 - 1 = 0 and the 200 points".to_string()
    };
    // plotters' 3-D axes are (x, y, z) with y up: our x3 is the height.
    let mut chart = ChartBuilder::on(&root)
        .caption(title, (FONT, 17))
        .margin(10)
        .build_cartesian_3d(0.0..100.0, lo..hi, 0.0..100.0)
        .map_err(draw_err(path))?;
    chart.with_projection(|mut p| {
        p.yaw = 0.6;
        p.pitch = 0.25;
        p.scale = 0.8;
        p.into_matrix()
    });
    chart
        .configure_axes()
        .x_labels(5)
        .y_labels(5)
        .z_labels(5)
        .label_style((FONT, 12))
        .draw()
        .map_err(draw_err(path))?;
    // plotters draws no titles on 3-D axes: put each name beside the middle of its tick labels.
    let axis_names = [
        ("x1", (50.0, lo, 122.0)),
        ("x2", (116.0, lo, 50.0)),
        ("x3", (0.0, hi + 0.06 * (hi - lo), 0.0)),
    ];
    chart
        .draw_series(
            axis_names
                .into_iter()
                .map(|(name, at)| Text::new(name, at, (FONT, 15).into_font().color(&BLACK))),
        )
        .map_err(draw_err(path))?;
    let grid: Vec<f64> = (0..=10).map(|i| i as f64 * 10.0).collect();
    chart
        .draw_series(
            SurfaceSeries::xoz(grid.iter().copied(), grid.iter().copied(), |x1, x2| {
                height(x1, x2).clamp(lo, hi)
            })
            .style(RGBAColor(120, 120, 120, 0.25).filled()),
        )
        .map_err(draw_err(path))?;
    for (label, color, name) in [
        (1.0, POS, "positive (y = +1)"),
        (-1.0, NEG, "negative (y = -1)"),
    ] {
        let pts: Vec<(f64, f64, f64)> = (0..r.data.x.nrows())
            .filter(|&i| r.data.y[i] == label)
            .map(|i| (r.data.x[(i, 0)], r.data.x[(i, 2)], r.data.x[(i, 1)]))
            .collect();
        chart
            .draw_series(pts.into_iter().map(|p| Circle::new(p, 3, color.filled())))
            .map_err(draw_err(path))?
            .label(name)
            .legend(move |(x, y)| Circle::new((x, y), 4, color.filled()));
    }
    chart
        .configure_series_labels()
        .label_font((FONT, 13))
        .border_style(BLACK)
        .background_style(WHITE.mix(0.9))
        .position(SeriesLabelPosition::UpperRight)
        .draw()
        .map_err(draw_err(path))?;
    root.present().map_err(err)?;
    Ok(())
}

/// `- 1.50` or `+ 1.50`, for a readable equation.
fn signed(v: f64) -> String {
    format!("{} {:.2}", if v < 0.0 { '-' } else { '+' }, v.abs())
}

/// The view in which the learned plane is a line: looking along a direction that lies in the plane.
/// Horizontal: the coordinate along `u`, the x1 axis projected onto the plane; vertical: the signed distance
/// `(w·x + b) / ‖w‖` to the plane. Every positive point is above the line and every negative one below.
pub fn edge_on(r: &Report, path: &Path) -> Result<()> {
    let m = &r.trained.model;
    let n = Vector3::new(m.w[0], m.w[1], m.w[2]);
    let norm = n.norm();
    let n_hat = n / norm;
    let e1 = Vector3::new(1.0, 0.0, 0.0);
    let u = (e1 - n_hat * n_hat.dot(&e1)).normalize();
    let project = |i: usize| {
        let p = Vector3::new(r.data.x[(i, 0)], r.data.x[(i, 1)], r.data.x[(i, 2)]);
        (p.dot(&u), (n.dot(&p) + m.b) / norm)
    };
    let pts: Vec<(f64, f64, f64)> = (0..r.data.x.nrows())
        .map(|i| {
            let (a, d) = project(i);
            (a, d, r.data.y[i])
        })
        .collect();
    let (amin, amax) = pts
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), p| {
            (lo.min(p.0), hi.max(p.0))
        });
    let dmax = pts.iter().map(|p| p.1.abs()).fold(0.0, f64::max) * 1.1;

    let root = SVGBackend::new(path, (720, 480)).into_drawing_area();
    root.fill(&WHITE).map_err(draw_err(path))?;
    let mut chart = ChartBuilder::on(&root)
        .caption("Edge-on view: looking along the learned plane", (FONT, 17))
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(60)
        .build_cartesian_2d(amin - 5.0..amax + 5.0, -dmax..dmax)
        .map_err(draw_err(path))?;
    chart
        .configure_mesh()
        .x_desc("position along the plane (x1 direction projected onto it)")
        .y_desc("signed distance to the plane")
        .label_style((FONT, 12))
        .axis_desc_style((FONT, 13))
        .draw()
        .map_err(draw_err(path))?;
    chart
        .draw_series(LineSeries::new(
            [(amin - 5.0, 0.0), (amax + 5.0, 0.0)],
            BLACK.stroke_width(2),
        ))
        .map_err(draw_err(path))?
        .label("learned plane")
        .legend(|(x, y)| PathElement::new([(x, y), (x + 16, y)], BLACK.stroke_width(2)));
    for (label, color, name) in [(1.0, POS, "positive"), (-1.0, NEG, "negative")] {
        chart
            .draw_series(
                pts.iter()
                    .filter(|p| p.2 == label)
                    .map(|p| Circle::new((p.0, p.1), 3, color.filled())),
            )
            .map_err(draw_err(path))?
            .label(name)
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
