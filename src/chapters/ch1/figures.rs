//! Chapter 1's figures: the points and the planes in 3-D, and the edge-on view of the learned plane.

use super::Report;
use crate::error::Result;
use crate::plot::{scatter, scatter_3d, Class2d, Class3d, RGBColor, Scatter, Scatter3d, PALETTE};
use nalgebra::Vector3;
use std::path::Path;

const POS: RGBColor = PALETTE[1];
const NEG: RGBColor = PALETTE[0];

/// The book's 3-D scatter: positives and negatives, with the true plane (`learned = false`) or the learned
/// one (`learned = true`).
pub fn scatter_3d_plane(r: &Report, learned: bool, path: &Path) -> Result<()> {
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
    let classes = [
        (1.0, POS, "positive (y = +1)"),
        (-1.0, NEG, "negative (y = -1)"),
    ]
    .map(|(label, color, name)| Class3d {
        name,
        color,
        points: (0..r.data.x.nrows())
            .filter(|&i| r.data.y[i] == label)
            .map(|i| (r.data.x[(i, 0)], r.data.x[(i, 1)], r.data.x[(i, 2)]))
            .collect(),
    });
    scatter_3d(
        path,
        &Scatter3d {
            title: &title,
            ground: (0.0, 100.0),
            height: (lo, hi),
            axis_names: ["x1", "x2", "x3"],
            plane: &height,
            classes: &classes,
        },
    )
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
    let classes =
        [(1.0, POS, "positive"), (-1.0, NEG, "negative")].map(|(label, color, name)| Class2d {
            name,
            color,
            points: pts
                .iter()
                .filter(|p| p.2 == label)
                .map(|p| (p.0, p.1))
                .collect(),
        });
    scatter(
        path,
        &Scatter {
            title: "Edge-on view: looking along the learned plane",
            x_desc: "position along the plane (x1 direction projected onto it)",
            y_desc: "signed distance to the plane",
            x_range: (amin - 5.0, amax + 5.0),
            y_range: (-dmax, dmax),
            line: Some(("learned plane", [(amin - 5.0, 0.0), (amax + 5.0, 0.0)])),
            classes: &classes,
        },
    )
}
