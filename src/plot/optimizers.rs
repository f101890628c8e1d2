//! Chapter 5's optimizer figures: curves of the seven optimizers, and their paths over a bowl's contours.

use super::{draw_err, line_panels, Panel, Series, FONT, PALETTE};
use crate::chapters::optimizers::{bowl, Run};
use crate::error::Result;
use plotters::prelude::*;
use std::path::Path;

/// Training loss and test accuracy of each run over steps.
pub fn curves(runs: &[Run], title: &str, path: &Path) -> Result<()> {
    let name = |r: &Run| {
        let lr = if r.kind == crate::optim::Kind::AdaDelta {
            "no rate".to_string()
        } else {
            format!("lr {}", r.lr)
        };
        format!(
            "{} ({lr}){}",
            r.kind.name(),
            if r.diverged { ", diverged" } else { "" }
        )
    };
    let series = |f: fn(&(usize, f64, f64, f64)) -> f64| -> Vec<Series> {
        runs.iter()
            .enumerate()
            .map(|(k, r)| Series {
                name: name(r),
                color: PALETTE[k % PALETTE.len()],
                dashed: false,
                points: r.points.iter().map(|p| (p.0 as f64, f(p))).collect(),
            })
            .collect()
    };
    let (t1, t2) = (
        format!("{title}: training loss"),
        format!("{title}: test accuracy"),
    );
    line_panels(
        path,
        (1100, 440),
        &[
            Panel {
                title: &t1,
                x_desc: "step",
                y_desc: "cross-entropy (mean of the batches since the last point)",
                series: series(|p| p.1),
                y_range: Some((0.0, 2.5)),
            },
            Panel {
                title: &t2,
                x_desc: "step",
                y_desc: "accuracy on the test images",
                series: series(|p| p.3),
                y_range: Some((0.0, 1.0)),
            },
        ],
    )
}

/// The paths over the contour lines of `x²/20 + y²`.
pub fn paths(paths: &[(String, Vec<(f64, f64)>)], path: &Path) -> Result<()> {
    let root = SVGBackend::new(path, (900, 520)).into_drawing_area();
    root.fill(&WHITE).map_err(draw_err(path))?;
    let mut chart = ChartBuilder::on(&root)
        .caption(
            "Seven optimizers on f(x, y) = x²/20 + y², from (-7, 2)",
            (FONT, 17),
        )
        .margin(12)
        .x_label_area_size(35)
        .y_label_area_size(40)
        .build_cartesian_2d(-8.0..3.0, -3.0..3.0)
        .map_err(draw_err(path))?;
    chart
        .configure_mesh()
        .disable_mesh()
        .x_desc("x")
        .y_desc("y")
        .label_style((FONT, 12))
        .draw()
        .map_err(draw_err(path))?;
    // Level sets are ellipses: x = √(20c) cos t, y = √c sin t.
    for c in [0.05f64, 0.2, 0.5, 1.0, 2.0, 3.5, 5.5] {
        let pts: Vec<(f64, f64)> = (0..=120)
            .map(|i| {
                let t = i as f64 / 120.0 * std::f64::consts::TAU;
                ((20.0 * c).sqrt() * t.cos(), c.sqrt() * t.sin())
            })
            .collect();
        debug_assert!((bowl(pts[0].0, pts[0].1) - c).abs() < 1e-9);
        chart
            .draw_series(LineSeries::new(
                pts,
                RGBAColor(0, 0, 0, 0.18).stroke_width(1),
            ))
            .map_err(draw_err(path))?;
    }
    for (k, (name, p)) in paths.iter().enumerate() {
        let color = PALETTE[k % PALETTE.len()];
        let clipped: Vec<(f64, f64)> = p
            .iter()
            .map(|&(x, y)| (x.clamp(-8.0, 3.0), y.clamp(-3.0, 3.0)))
            .collect();
        chart
            .draw_series(LineSeries::new(clipped, color.stroke_width(2)))
            .map_err(draw_err(path))?
            .label(name.as_str())
            .legend(move |(x, y)| PathElement::new([(x, y), (x + 18, y)], color.stroke_width(2)));
    }
    chart
        .draw_series(std::iter::once(Circle::new((0.0, 0.0), 4, BLACK.filled())))
        .map_err(draw_err(path))?;
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
