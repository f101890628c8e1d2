//! Chapter 2's figures: the training curves and the weight templates.

use super::Report;
use crate::data::mnist::{PIXELS, SIDE};
use crate::error::Result;
use crate::plot::{line_panels, picture_grid, Panel, Series, YRange, PALETTE};
use crate::train::CurvePoint;
use std::path::Path;

/// Train and test loss and accuracy over the steps of a run, in two panels (every MNIST chapter draws these).
pub fn curves(curve: &[CurvePoint], title: &str, path: &Path) -> Result<()> {
    let pts = |f: fn(&CurvePoint) -> f64| -> Vec<(f64, f64)> {
        curve.iter().map(|p| (p.step as f64, f(p))).collect()
    };
    let series = |train: fn(&CurvePoint) -> f64, test: fn(&CurvePoint) -> f64| {
        vec![
            Series {
                name: "train (batches since last point)".into(),
                color: PALETTE[0],
                dashed: false,
                points: pts(train),
            },
            Series {
                name: "test (all 10,000 images)".into(),
                color: PALETTE[1],
                dashed: false,
                points: pts(test),
            },
        ]
    };
    let loss_title = format!("{title}: loss");
    let acc_title = format!("{title}: accuracy");
    line_panels(
        path,
        &[
            Panel {
                title: &loss_title,
                x_desc: "step",
                y_desc: "cross-entropy",
                series: series(|p| p.train_loss, |p| p.test_loss),
                y_range: YRange::Fit,
            },
            Panel {
                title: &acc_title,
                x_desc: "step",
                y_desc: "accuracy",
                series: series(|p| p.train_acc, |p| p.test_acc),
                y_range: YRange::Fraction,
            },
        ],
    )
}

/// The ten columns of `W` (one per digit) as 28 x 28 pictures, one row per recorded step: red pixels push
/// the digit's score up, blue ones down.
pub fn weight_templates(r: &Report, path: &Path) -> Result<()> {
    let columns: Vec<Vec<Vec<f32>>> = r
        .weights
        .iter()
        .map(|(_, w)| {
            (0..10)
                .map(|d| (0..PIXELS).map(|p| w[(p, d)]).collect())
                .collect()
        })
        .collect();
    let pictures: Vec<Vec<&[f32]>> = columns
        .iter()
        .map(|row| row.iter().map(|c| c.as_slice()).collect())
        .collect();
    let rows: Vec<String> = r.weights.iter().map(|(s, _)| format!("step {s}")).collect();
    let cols: Vec<String> = (0..10).map(|d| d.to_string()).collect();
    picture_grid(
        path,
        "Weights of each digit's output as a 28 x 28 picture (red +, blue -)",
        &pictures,
        (SIDE, SIDE),
        &rows,
        &cols,
    )
}
