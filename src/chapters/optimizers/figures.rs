//! Chapter 5's optimizer figures: curves of the seven optimizers, and their paths over a bowl's contours.

use super::{bowl, Run};
use crate::error::Result;
use crate::optim::Kind;
use crate::plot::{line_panels, paths_over_contours, Panel, PathChart, Series, YRange, PALETTE};
use std::path::Path;

/// Training loss and test accuracy of each run over steps.
pub fn curves(runs: &[Run], title: &str, path: &Path) -> Result<()> {
    let name = |r: &Run| {
        let lr = if r.kind == Kind::AdaDelta {
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
        &[
            Panel {
                title: &t1,
                x_desc: "step",
                y_desc: "cross-entropy (batch mean)",
                series: series(|p| p.1),
                y_range: YRange::Fixed(0.0, 2.5),
            },
            Panel {
                title: &t2,
                x_desc: "step",
                y_desc: "test accuracy",
                series: series(|p| p.3),
                y_range: YRange::Fraction,
            },
        ],
    )
}

/// The paths over the contour lines of `x²/20 + y²`.
pub fn paths(paths: &[(String, Vec<(f64, f64)>)], path: &Path) -> Result<()> {
    // Level sets are ellipses: x = √(20c) cos t, y = √c sin t.
    let contours: Vec<Vec<(f64, f64)>> = [0.05f64, 0.2, 0.5, 1.0, 2.0, 3.5, 5.5]
        .into_iter()
        .map(|c| {
            let pts: Vec<(f64, f64)> = (0..=120)
                .map(|i| {
                    let t = i as f64 / 120.0 * std::f64::consts::TAU;
                    ((20.0 * c).sqrt() * t.cos(), c.sqrt() * t.sin())
                })
                .collect();
            debug_assert!((bowl(pts[0].0, pts[0].1) - c).abs() < 1e-9);
            pts
        })
        .collect();
    let series: Vec<Series> = paths
        .iter()
        .enumerate()
        .map(|(k, (name, p))| Series {
            name: name.clone(),
            color: PALETTE[k % PALETTE.len()],
            dashed: false,
            points: p.clone(),
        })
        .collect();
    paths_over_contours(
        path,
        &PathChart {
            title: "Seven optimizers on f(x, y) = x²/20 + y², from (-7, 2)",
            x_desc: "x",
            y_desc: "y",
            x_range: (-8.0, 3.0),
            y_range: (-3.0, 3.0),
            contours: &contours,
            paths: &series,
            mark: Some((0.0, 0.0)),
        },
    )
}
