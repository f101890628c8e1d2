//! Chapter 7's figures: the prediction on the test range, the training curves, the gradient reaching each
//! step of a long sequence, and training with and without clipping.

use super::Report;
use crate::error::Result;
use crate::plot::style::GREY;
use crate::plot::{line_panels, Panel, Series, YRange, PALETTE};
use std::path::Path;

/// Predicted versus real values on the test range (consecutive windows: each 10 read, the next 10 predicted).
pub fn prediction(r: &Report, path: &Path) -> Result<()> {
    let pick = |k: usize| {
        r.predictions
            .iter()
            .map(|p| (p.0, [p.1, p.2, p.3][k]))
            .collect()
    };
    let title = format!(
        "Test range: prediction of the next 10 values (test MSE {:.5})",
        r.test_mse
    );
    line_panels(
        path,
        &[Panel {
            title: &title,
            x_desc: "x",
            y_desc: "f(x)",
            series: vec![
                Series {
                    name: "real (with noise)".into(),
                    color: GREY,
                    dashed: false,
                    points: pick(1),
                },
                Series {
                    name: "signal (no noise)".into(),
                    color: PALETTE[2],
                    dashed: true,
                    points: pick(2),
                },
                Series {
                    name: "predicted".into(),
                    color: PALETTE[0],
                    dashed: false,
                    points: pick(0),
                },
            ],
            y_range: YRange::Fit,
        }],
    )
}

/// Training loss and test MSE over the run, on a log scale.
pub fn curves(r: &Report, path: &Path) -> Result<()> {
    let lg = |k: usize| {
        r.curve
            .iter()
            .map(|c| (c.0 as f64, [c.1, c.2][k].log10()))
            .collect()
    };
    line_panels(
        path,
        &[Panel {
            title: "3-layer tanh RNN, Adam lr 0.005, batch 32",
            x_desc: "step",
            y_desc: "log10 MSE",
            series: vec![
                Series {
                    name: "training loss".into(),
                    color: PALETTE[0],
                    dashed: false,
                    points: lg(0),
                },
                Series {
                    name: "test MSE".into(),
                    color: PALETTE[1],
                    dashed: false,
                    points: lg(1),
                },
                Series {
                    name: "noise floor".into(),
                    color: GREY,
                    dashed: true,
                    points: vec![
                        (0.0, r.noise_floor.log10()),
                        (r.steps as f64, r.noise_floor.log10()),
                    ],
                },
            ],
            y_range: YRange::Fit,
        }],
    )
}

/// `log10 ‖∂L/∂h_t‖` against the step `t`, one line per scale of `W_h`.
pub fn gradient_flow(runs: &[(f64, Vec<f64>)], path: &Path) -> Result<()> {
    let series = runs
        .iter()
        .enumerate()
        .map(|(k, (rho, norms))| Series {
            name: format!("W_h = {rho} x orthogonal"),
            color: PALETTE[k % PALETTE.len()],
            dashed: false,
            points: norms
                .iter()
                .enumerate()
                .map(|(t, &g)| ((t + 1) as f64, g.max(1e-30).log10()))
                .collect(),
        })
        .collect();
    line_panels(
        path,
        &[Panel {
            title: "Gradient of L = sum(h_T) reaching each step, T = 200",
            x_desc: "step t",
            y_desc: "log10 of mean |dL/dh_t|",
            series,
            y_range: YRange::Fit,
        }],
    )
}

/// Loss and gradient norm per step of the same long-sequence run without and with clipping.
pub fn clipping(runs: &[(&str, &[(f64, f64)])], path: &Path) -> Result<()> {
    let series = |k: usize| -> Vec<Series> {
        runs.iter()
            .enumerate()
            .map(|(i, (name, pts))| Series {
                name: name.to_string(),
                color: PALETTE[i % PALETTE.len()],
                dashed: false,
                points: pts
                    .iter()
                    .enumerate()
                    .map(|(s, p)| ((s + 1) as f64, [p.0, p.1][k].log10()))
                    .collect(),
            })
            .collect()
    };
    line_panels(
        path,
        &[
            Panel {
                title: "Training loss",
                x_desc: "step",
                y_desc: "log10 MSE",
                series: series(0),
                y_range: YRange::Fit,
            },
            Panel {
                title: "Gradient norm before clipping",
                x_desc: "step",
                y_desc: "log10 global gradient norm",
                series: series(1),
                y_range: YRange::Fit,
            },
        ],
    )
}
