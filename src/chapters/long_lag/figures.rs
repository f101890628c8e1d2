//! The long-lag figures: the two cells trained on the adding problem against the trivial baseline, and the
//! gradient reaching a step as a function of its distance from the loss. `line_panels` has linear axes
//! only, so losses and norms are drawn as their log10 (the spans are orders of magnitude).

use super::{GradientCurve, Report};
use crate::error::Result;
use crate::plot::style::GREY;
use crate::plot::{line_panels, Panel, RGBColor, Series, YRange, PALETTE};
use std::path::Path;

/// `ch8_long_lag.svg`: training loss of both cells, with the trivial baseline (always 1.0) and the
/// near-marker-only score as dashed lines.
pub fn long_lag(r: &Report, path: &Path) -> Result<()> {
    let curve = |k: usize, run: &super::ModelRun| Series {
        name: format!("{} (test MSE {:.4})", run.name, run.test_mse),
        color: PALETTE[k],
        dashed: false,
        points: run
            .curve
            .iter()
            .map(|&(s, l)| (s as f64, l.log10()))
            .collect(),
    };
    let level = |name: String, color: RGBColor, v: f64| Series {
        name,
        color,
        dashed: true,
        points: vec![(0.0, v.log10()), (r.steps as f64, v.log10())],
    };
    let title = format!(
        "Adding problem, T = {}: same steps, batch, Adam, hidden size, seed",
        r.len
    );
    line_panels(
        path,
        &[Panel {
            title: &title,
            x_desc: "step",
            y_desc: "log10 training MSE",
            series: vec![
                curve(0, &r.rnn),
                curve(1, &r.lstm),
                level(
                    format!("always 1.0 ({:.3})", r.baseline_mse),
                    GREY,
                    r.baseline_mse,
                ),
                level(
                    format!("near marker only ({:.3})", r.near_only_mse),
                    PALETTE[6],
                    r.near_only_mse,
                ),
            ],
            y_range: YRange::Fit,
        }],
    )
}

fn distance_series(curves: &[(String, &[f64])]) -> Vec<Series> {
    curves
        .iter()
        .enumerate()
        .map(|(k, (name, norms))| Series {
            name: name.clone(),
            color: PALETTE[k % PALETTE.len()],
            dashed: false,
            points: norms
                .iter()
                .enumerate()
                .map(|(d, &g)| (d as f64, if g > 0.0 { g.log10() } else { f64::NAN }))
                .collect(),
        })
        .collect()
}

/// `ch8_gradient_distance.svg`: `log10 ‖∂L/∂x_{T-k}‖` against the distance `k`, at initialisation (one
/// line per cell and forget bias) and, when a report is given, after training on the adding problem. A
/// norm that underflowed f32 to 0 is left out rather than drawn at an invented floor.
pub fn gradient_distance(
    at_init: &[GradientCurve],
    trained: Option<&Report>,
    path: &Path,
) -> Result<()> {
    let init: Vec<(String, &[f64])> = at_init
        .iter()
        .map(|c| (c.name.clone(), &c.norms[..]))
        .collect();
    let steps = at_init.first().map_or(0, |c| c.norms.len());
    let title = format!("At initialisation, T = {steps}, L = sum(h_T)");
    let mut panels = vec![Panel {
        title: &title,
        x_desc: "distance T - t",
        y_desc: "log10 of mean |dL/dx_t|",
        series: distance_series(&init),
        y_range: YRange::Fit,
    }];
    let trained_title = trained.map(|r| format!("After {} steps on the adding problem", r.steps));
    if let (Some(r), Some(t)) = (trained, &trained_title) {
        let runs: Vec<(String, &[f64])> = [&r.rnn, &r.lstm]
            .iter()
            .map(|m| (m.name.clone(), &m.gradient[..]))
            .collect();
        panels.push(Panel {
            title: t,
            x_desc: "distance T - t",
            y_desc: "log10 of mean |dL/dx_t|",
            series: distance_series(&runs),
            y_range: YRange::Fit,
        });
    }
    line_panels(path, &panels)
}
