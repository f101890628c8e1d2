//! Chapter 3's figures: XOR's decision regions, fitting both ways, and the activation functions.

use super::{draw_err, line_panels, Panel, Series, FONT, PALETTE};
use crate::by_hand::activation::Kind;
use crate::chapters::ch3::{FittingRun, XorFit};
use crate::error::Result;
use nalgebra::DMatrix;
use plotters::prelude::*;
use std::path::Path;

const CLASS: [RGBColor; 2] = [RGBColor(31, 119, 180), RGBColor(214, 39, 40)];

/// Decision regions of each model over the XOR points, side by side.
pub fn xor_regions(
    x: &DMatrix<f64>,
    y: &[usize],
    models: &mut [(&str, &mut XorFit)],
    path: &Path,
) -> Result<()> {
    let root = SVGBackend::new(path, (960, 460)).into_drawing_area();
    root.fill(&WHITE).map_err(draw_err(path))?;
    let areas = root.split_evenly((1, models.len()));
    let (lo, hi, n) = (-0.5, 1.5, 50usize);
    let step = (hi - lo) / n as f64;
    let grid = DMatrix::from_fn(n * n, 2, |r, c| {
        let (i, j) = (r / n, r % n);
        lo + step * (if c == 0 { j } else { i } as f64 + 0.5)
    });
    for (area, (name, fit)) in areas.iter().zip(models.iter_mut()) {
        let pred = fit.predict(&grid)?;
        let title = format!("{name}: {:.0}% of points right", 100.0 * fit.accuracy);
        let mut chart = ChartBuilder::on(area)
            .caption(title, (FONT, 16))
            .margin(10)
            .x_label_area_size(35)
            .y_label_area_size(40)
            .build_cartesian_2d(lo..hi, lo..hi)
            .map_err(draw_err(path))?;
        chart
            .configure_mesh()
            .disable_mesh()
            .x_desc("x1")
            .y_desc("x2")
            .label_style((FONT, 12))
            .draw()
            .map_err(draw_err(path))?;
        chart
            .draw_series((0..n * n).map(|r| {
                let (x0, y0) = (grid[(r, 0)] - step / 2.0, grid[(r, 1)] - step / 2.0);
                Rectangle::new(
                    [(x0, y0), (x0 + step, y0 + step)],
                    CLASS[pred[r]].mix(0.18).filled(),
                )
            }))
            .map_err(draw_err(path))?;
        chart
            .draw_series(
                (0..x.nrows())
                    .map(|i| Circle::new((x[(i, 0)], x[(i, 1)]), 3, CLASS[y[i]].filled())),
            )
            .map_err(draw_err(path))?;
    }
    root.present().map_err(draw_err(path))?;
    Ok(())
}

/// Train and test loss of each model of the fitting experiment over epochs.
pub fn fitting(runs: &[FittingRun], path: &Path) -> Result<()> {
    let mut loss = Vec::new();
    let mut acc = Vec::new();
    for (k, run) in runs.iter().enumerate() {
        let color = PALETTE[k % PALETTE.len()];
        let c = &run.report.curve;
        for (dashed, which) in [(true, "train"), (false, "test")] {
            let pick = |p: &crate::train::CurvePoint| {
                if dashed {
                    (p.train_loss, p.train_acc)
                } else {
                    (p.test_loss, p.test_acc)
                }
            };
            loss.push(Series {
                name: format!("{}: {which}", run.name),
                color,
                dashed,
                points: c.iter().map(|p| (p.epoch, pick(p).0)).collect(),
            });
            acc.push(Series {
                name: format!("{}: {which}", run.name),
                color,
                dashed,
                points: c.iter().map(|p| (p.epoch, pick(p).1)).collect(),
            });
        }
    }
    line_panels(
        path,
        (1100, 460),
        &[
            Panel {
                title: "Loss (dashed: train, solid: test)",
                x_desc: "epoch",
                y_desc: "cross-entropy",
                series: loss,
                y_range: Some((0.0, 2.5)),
            },
            Panel {
                title: "Accuracy (dashed: train, solid: test)",
                x_desc: "epoch",
                y_desc: "accuracy",
                series: acc,
                y_range: Some((0.0, 1.02)),
            },
        ],
    )
}

/// The activation functions and their derivatives on `[-5, 5]`.
pub fn activations(path: &Path) -> Result<()> {
    let kinds = [
        ("sigmoid", Kind::Sigmoid),
        ("tanh", Kind::Tanh),
        ("ReLU", Kind::Relu),
        ("leaky ReLU (α = 0.1)", Kind::LeakyRelu(0.1)),
    ];
    let xs: Vec<f64> = (0..=400).map(|i| -5.0 + i as f64 * 0.025).collect();
    let series = |derivative: bool| -> Vec<Series> {
        kinds
            .iter()
            .enumerate()
            .map(|(k, (name, kind))| Series {
                name: name.to_string(),
                color: PALETTE[k],
                dashed: false,
                points: xs
                    .iter()
                    .map(|&x| (x, if derivative { kind.df(x) } else { kind.f(x) }))
                    .collect(),
            })
            .collect()
    };
    line_panels(
        path,
        (1000, 420),
        &[
            Panel {
                title: "Activation functions f(z)",
                x_desc: "z",
                y_desc: "f(z)",
                series: series(false),
                y_range: Some((-1.5, 3.0)),
            },
            Panel {
                title: "Their derivatives f'(z)",
                x_desc: "z",
                y_desc: "f'(z)",
                series: series(true),
                y_range: Some((-0.1, 1.2)),
            },
        ],
    )
}
