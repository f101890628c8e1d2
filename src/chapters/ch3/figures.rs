//! Chapter 3's figures: XOR's decision regions, fitting both ways, and the activation functions.

use super::{FittingRun, XorFit};
use crate::by_hand::activation::Kind;
use crate::error::Result;
use crate::plot::{
    decision_regions, line_panels, Panel, RGBColor, RegionGrid, RegionPanel, Regions, Series,
    YRange, PALETTE,
};
use crate::train::CurvePoint;
use nalgebra::DMatrix;
use std::path::Path;

const CLASS: [RGBColor; 2] = [PALETTE[0], PALETTE[1]];

/// Decision regions of each model over the XOR points, side by side.
pub fn xor_regions(
    x: &DMatrix<f64>,
    y: &[usize],
    models: &mut [(&str, &mut XorFit)],
    path: &Path,
) -> Result<()> {
    let grid = RegionGrid {
        lo: -0.5,
        hi: 1.5,
        n: 50,
    };
    let centres = grid.centres();
    let panels = models
        .iter_mut()
        .map(|(name, fit)| {
            Ok(RegionPanel {
                cells: fit.predict(&centres)?,
                title: format!("{name}: {:.0}% of points right", 100.0 * fit.accuracy),
            })
        })
        .collect::<Result<Vec<_>>>()?;
    let points: Vec<(f64, f64, usize)> = (0..x.nrows())
        .map(|i| (x[(i, 0)], x[(i, 1)], y[i]))
        .collect();
    decision_regions(
        path,
        &Regions {
            grid,
            colors: &CLASS,
            x_desc: "x1",
            y_desc: "x2",
            points: &points,
            panels: &panels,
        },
    )
}

/// Train and test loss of each model of the fitting experiment over epochs.
pub fn fitting(runs: &[FittingRun], path: &Path) -> Result<()> {
    let mut loss = Vec::new();
    let mut acc = Vec::new();
    for (k, run) in runs.iter().enumerate() {
        let color = PALETTE[k % PALETTE.len()];
        let c = &run.report.curve;
        for (dashed, which) in [(true, "train"), (false, "test")] {
            let pick = |p: &CurvePoint| {
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
        &[
            Panel {
                title: "Loss (dashed: train, solid: test)",
                x_desc: "epoch",
                y_desc: "cross-entropy",
                series: loss,
                y_range: YRange::Fixed(0.0, 2.5),
            },
            Panel {
                title: "Accuracy (dashed: train, solid: test)",
                x_desc: "epoch",
                y_desc: "accuracy",
                series: acc,
                y_range: YRange::Fraction,
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
                // Leaky ReLU is ReLU for z > 0: dashed, so that ReLU's line shows through its gaps.
                dashed: matches!(kind, Kind::LeakyRelu(_)),
                points: xs
                    .iter()
                    .map(|&x| (x, if derivative { kind.df(x) } else { kind.f(x) }))
                    .collect(),
            })
            .collect()
    };
    line_panels(
        path,
        &[
            Panel {
                title: "Activation functions f(z)",
                x_desc: "z",
                y_desc: "f(z)",
                series: series(false),
                y_range: YRange::Fixed(-1.2, 5.1),
            },
            Panel {
                title: "Their derivatives f'(z)",
                x_desc: "z",
                y_desc: "f'(z)",
                series: series(true),
                y_range: YRange::Fixed(-0.1, 1.2),
            },
        ],
    )
}
