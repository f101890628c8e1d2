//! Chapter 6's figures: a hidden unit's input distribution over training, a rate only batch normalization
//! survives, and the CNN's curves with and without batch normalization.

use super::SigmoidRun;
use crate::error::Result;
use crate::plot::{line_panels, Panel, Series, YRange, PALETTE};
use crate::train::CurvePoint;
use std::path::Path;

/// The {15, 50, 85}th percentiles of one unit's input over training, without and with batch normalization.
pub fn percentiles(without: &SigmoidRun, with: &SigmoidRun, path: &Path) -> Result<()> {
    let series = |r: &SigmoidRun| -> Vec<Series> {
        ["15th percentile", "median", "85th percentile"]
            .iter()
            .enumerate()
            .map(|(k, name)| Series {
                name: name.to_string(),
                color: PALETTE[k],
                dashed: k != 1,
                points: r
                    .percentiles
                    .iter()
                    .map(|(s, q)| (*s as f64, q[k]))
                    .collect(),
            })
            .collect()
    };
    let (t1, t2) = (
        format!("Without batch norm (SGD lr {})", without.lr),
        format!("With batch norm (SGD lr {})", with.lr),
    );
    line_panels(
        path,
        &[
            Panel {
                title: &t1,
                x_desc: "step",
                y_desc: "input of the sigmoid",
                series: series(without),
                y_range: YRange::Fit,
            },
            Panel {
                title: &t2,
                x_desc: "step",
                y_desc: "input of the sigmoid",
                series: series(with),
                y_range: YRange::Fit,
            },
        ],
    )
}

/// Training loss and test accuracy of runs of the sigmoid network.
pub fn sigmoid_curves(runs: &[&SigmoidRun], title: &str, path: &Path) -> Result<()> {
    let name = |r: &SigmoidRun| {
        format!(
            "{} batch norm, lr {}{}",
            if r.batch_norm { "with" } else { "without" },
            r.lr,
            if r.diverged { " (diverged)" } else { "" }
        )
    };
    let series = |loss: bool| -> Vec<Series> {
        runs.iter()
            .enumerate()
            .map(|(k, r)| Series {
                name: name(r),
                color: PALETTE[k],
                dashed: false,
                points: r
                    .curve
                    .iter()
                    .map(|c| (c.0 as f64, if loss { c.1 } else { c.2 }))
                    .collect(),
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
                y_desc: "cross-entropy",
                series: series(true),
                y_range: YRange::Fit,
            },
            Panel {
                title: &t2,
                x_desc: "step",
                y_desc: "test accuracy",
                series: series(false),
                y_range: YRange::Fraction,
            },
        ],
    )
}

/// The CNN's test accuracy and loss over training, without and with batch normalization.
pub fn cnn_compare(without: &[CurvePoint], with: &[CurvePoint], path: &Path) -> Result<()> {
    let s = |f: fn(&CurvePoint) -> f64| -> Vec<Series> {
        [
            ("chapter 5, no batch norm", without),
            ("chapter 6, batch norm", with),
        ]
        .iter()
        .enumerate()
        .map(|(k, (name, c))| Series {
            name: name.to_string(),
            color: PALETTE[k],
            dashed: false,
            points: c.iter().map(|p| (p.step as f64, f(p))).collect(),
        })
        .collect()
    };
    line_panels(
        path,
        &[
            Panel {
                title: "The CNN: test loss",
                x_desc: "step",
                y_desc: "cross-entropy",
                series: s(|p| p.test_loss),
                y_range: YRange::Fit,
            },
            Panel {
                title: "The CNN: test accuracy",
                x_desc: "step",
                y_desc: "accuracy",
                series: s(|p| p.test_acc),
                y_range: YRange::Fraction,
            },
        ],
    )
}
