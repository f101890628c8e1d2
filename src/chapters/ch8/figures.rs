//! Chapter 8's figures: the forecast against the real index over the test span, forecasts from several origins
//! over the real path, the error per horizon day against the baselines, the training curves, and the book's
//! in-sample curve beside the honest one.

use super::{Fold, Report};
use crate::error::Result;
use crate::plot::style::GREY;
use crate::plot::{line_panels, Panel, Series, YRange, PALETTE};
use std::path::Path;

/// The real close over the days a fold's test windows predict.
fn real_path(f: &Fold, closes: &[f64], window: usize, horizon: usize) -> Vec<(f64, f64)> {
    let (first, last) = (
        f.starts[0] + window,
        f.starts[f.starts.len() - 1] + window + horizon,
    );
    (first..last).map(|d| (d as f64, closes[d])).collect()
}

/// The one-day-ahead forecast of every test window, at the day it predicts.
fn day_one(f: &Fold, window: usize) -> Vec<(f64, f64)> {
    f.starts
        .iter()
        .zip(&f.predictions)
        .map(|(&s, p)| ((s + window) as f64, p[0]))
        .collect()
}

/// The model's next-day forecast against the real index over the test span.
pub fn forecast(r: &Report, closes: &[f64], path: &Path) -> Result<()> {
    let (w, h) = (r.settings.window, r.settings.horizon);
    let f = &r.main;
    let title = format!(
        "Test span: next-day forecast (RMSE day 1: model {:.1}, persistence {:.1} points)",
        f.model.rmse[0], f.persistence.rmse[0]
    );
    line_panels(
        path,
        &[Panel {
            title: &title,
            x_desc: "trading day",
            y_desc: "CSI-300 close",
            series: vec![
                Series::new("real", GREY, false, real_path(f, closes, w, h)),
                Series::new("LSTM, 1 day ahead", PALETTE[0], false, day_one(f, w)),
            ],
            y_range: YRange::Fit,
        }],
    )
}

/// The 20-day forecasts from several origins, each drawn over the real path.
pub fn origins(r: &Report, closes: &[f64], path: &Path) -> Result<()> {
    let (w, h) = (r.settings.window, r.settings.horizon);
    let f = &r.main;
    let mut series = vec![Series::new("real", GREY, false, real_path(f, closes, w, h))];
    let every = (f.starts.len() / 8).max(1);
    for (k, i) in (0..f.starts.len()).step_by(every).enumerate() {
        let origin = f.starts[i] + w;
        let mut pts = vec![((origin - 1) as f64, closes[origin - 1])];
        pts.extend((0..h).map(|d| ((origin + d) as f64, f.predictions[i][d])));
        let name = if k == 0 {
            "LSTM, 20 days from an origin"
        } else {
            ""
        };
        series.push(Series::new(name, PALETTE[3], false, pts));
    }
    line_panels(
        path,
        &[Panel {
            title: "Test span: 20-day forecasts from several origins",
            x_desc: "trading day",
            y_desc: "CSI-300 close",
            series,
            y_range: YRange::Fit,
        }],
    )
}

/// RMSE and MAE per horizon day: the model against persistence and the linear model.
pub fn horizon_error(r: &Report, path: &Path) -> Result<()> {
    let f = &r.main;
    let per = |v: &[f64]| -> Vec<(f64, f64)> {
        v.iter()
            .enumerate()
            .map(|(k, &e)| ((k + 1) as f64, e))
            .collect()
    };
    let three = |pick: &dyn Fn(&super::Scores) -> Vec<f64>| {
        vec![
            Series::new("LSTM", PALETTE[0], false, per(&pick(&f.model))),
            Series::new("persistence", GREY, true, per(&pick(&f.persistence))),
            Series::new(
                "linear on the window",
                PALETTE[1],
                false,
                per(&pick(&f.linear)),
            ),
        ]
    };
    line_panels(
        path,
        &[
            Panel {
                title: "RMSE per horizon day (index points)",
                x_desc: "days ahead",
                y_desc: "RMSE",
                series: three(&|s| s.rmse.clone()),
                y_range: YRange::Fit,
            },
            Panel {
                title: "MAE per horizon day (index points)",
                x_desc: "days ahead",
                y_desc: "MAE",
                series: three(&|s| s.mae.clone()),
                y_range: YRange::Fit,
            },
        ],
    )
}

/// Training loss and validation MSE (scaled closes) over the run, on a log scale.
pub fn curves(r: &Report, path: &Path) -> Result<()> {
    let c = &r.main.curve;
    let lg = |k: usize| -> Vec<(f64, f64)> {
        c.iter()
            .map(|p| (p.0 as f64, [p.1, p.2][k].log10()))
            .collect()
    };
    let val = if r.settings.book_setup {
        "validation = the training windows (the book)"
    } else {
        "validation span"
    };
    line_panels(
        path,
        &[Panel {
            title: "Training curves (MSE of the scaled closes)",
            x_desc: "step",
            y_desc: "log10 MSE",
            series: vec![
                Series::new("training batches", PALETTE[0], false, lg(0)),
                Series::new(val, PALETTE[1], false, lg(1)),
            ],
            y_range: YRange::Fit,
        }],
    )
}

/// The book's in-sample next-day curve beside the honest one on the test span.
pub fn book_vs_honest(book: &Report, honest: &Report, closes: &[f64], path: &Path) -> Result<()> {
    let series = |r: &Report| {
        let (w, h) = (r.settings.window, r.settings.horizon);
        vec![
            Series::new("real", GREY, false, real_path(&r.main, closes, w, h)),
            Series::new("LSTM, 1 day ahead", PALETTE[0], false, day_one(&r.main, w)),
        ]
    };
    let b = format!(
        "The book's setup: in-sample (RMSE day 1: {:.1})",
        book.main.model.rmse[0]
    );
    let o = format!(
        "Honest: unseen test span (RMSE day 1: {:.1})",
        honest.main.model.rmse[0]
    );
    let panel = |title, series| Panel {
        title,
        x_desc: "trading day",
        y_desc: "CSI-300 close",
        series,
        y_range: YRange::Fit,
    };
    line_panels(path, &[panel(&b, series(book)), panel(&o, series(honest))])
}
