//! `zerodl run ch8` and chapter 8's figures.

use super::{figures, run, Fold, Report, Settings, FEATURES};
use crate::chapters::flags::{self, set};
use crate::chapters::{long_lag, Chapter, Figures};
use crate::data::csi300;
use crate::error::Result;
use crate::train::{Control, Progress};
use clap::{ArgMatches, Args, Command};
use serde_json::{json, Value};

#[derive(Args)]
struct Flags {
    /// The book's setup: statistics over the whole series, columns divided by their variance, and the
    /// "validation" on the training windows (default: the honest chronological split).
    #[arg(long)]
    book_setup: bool,
    /// Learning rate (default 0.0015, the book's).
    #[arg(long, value_parser = flags::positive)]
    lr: Option<f64>,
    /// Batch size (default 32).
    #[arg(long, value_parser = flags::count)]
    batch: Option<usize>,
    /// Epochs (default 20).
    #[arg(long, value_parser = flags::count)]
    epochs: Option<usize>,
    /// Seed of every random draw.
    #[arg(long)]
    seed: Option<u64>,
    /// Hidden units per LSTM layer (default 64).
    #[arg(long, value_parser = flags::count)]
    hidden: Option<usize>,
    /// Stacked LSTM layers (default 3).
    #[arg(long, value_parser = flags::count)]
    layers: Option<usize>,
    /// Dropout on the LSTM's output: probability of keeping a value, in (0, 1] (default 0.5).
    #[arg(long, value_parser = flags::factor)]
    keep: Option<f64>,
    /// Forget-gate bias at initialisation (default 0, the book's; 1 is the usual advice).
    #[arg(long, value_parser = flags::finite)]
    forget_bias: Option<f64>,
    /// Predict changes from the window's last close instead of levels (an option of ours; the book predicts
    /// levels).
    #[arg(long)]
    relative: bool,
    /// Extra test origins of the rolling-origin evaluation (default 3; honest setup only).
    #[arg(long, conflicts_with = "book_setup")]
    origins: Option<usize>,
}

/// The days of the book's file, as `[close, volume, turnover]`.
pub fn days(s: &csi300::Series) -> Vec<[f64; FEATURES]> {
    (0..s.len())
        .map(|i| [s.close[i], s.volume[i], s.turnover[i]])
        .collect()
}

fn scores(f: &Fold) -> Value {
    let one = |s: &super::Scores| {
        json!({"rmse_mean": s.mean_rmse(), "mae_mean": s.mean_mae(), "rmse_day1": s.rmse[0],
               "rmse_day20": s.rmse[s.rmse.len() - 1], "direction_accuracy": s.direction,
               "rmse": s.rmse, "mae": s.mae})
    };
    json!({"origin_day": f.origin, "test_windows": f.test_windows, "model": one(&f.model),
           "persistence": one(&f.persistence), "linear": one(&f.linear),
           "always_up_direction_accuracy": f.up_share})
}

/// The JSON line of a run.
pub fn report_json(r: &Report) -> Value {
    let s = &r.settings;
    let rolling: Vec<Value> = r.rolling.iter().map(scores).collect();
    let beat = r
        .rolling
        .iter()
        .chain([&r.main])
        .filter(|f| f.model.mean_rmse() < f.persistence.mean_rmse())
        .count();
    json!({"experiment": "ch8", "setup": if s.book_setup { "book" } else { "honest" },
           "evaluated_on": if s.book_setup { "the training windows (in-sample, as the book does)" } else { "the test span" },
           "days": r.days, "epochs": s.epochs, "steps": r.main.steps, "hidden": s.hidden, "layers": s.layers,
           "keep": s.keep, "lr": s.lr, "targets": if s.relative { "changes from the last close" } else { "levels (the book's)" }, "test": scores(&r.main), "rolling_origins": rolling,
           "splits_where_lstm_beats_persistence": format!("{beat} of {}", r.rolling.len() + 1),
           "seconds": r.seconds})
}

pub struct Ch8;

impl Chapter for Ch8 {
    fn name(&self) -> &'static str {
        "ch8"
    }

    fn about(&self) -> &'static str {
        "Chapter 8: a 3-layer LSTM forecasts the next 20 closes of the CSI-300 index (--book-setup: the book's way)."
    }

    fn flags(&self, cmd: Command) -> Command {
        Flags::augment_args(cmd)
    }

    fn run(
        &self,
        m: &ArgMatches,
        progress: &mut dyn FnMut(&Progress),
        _: &Control,
    ) -> Result<Value> {
        let f: Flags = flags::parse(m)?;
        let mut s = if f.book_setup {
            Settings::book()
        } else {
            Settings::default()
        };
        set(&mut s.lr, f.lr);
        set(&mut s.batch, f.batch);
        set(&mut s.epochs, f.epochs);
        set(&mut s.seed, f.seed);
        set(&mut s.hidden, f.hidden);
        set(&mut s.layers, f.layers);
        set(&mut s.keep, f.keep);
        set(&mut s.forget_bias, f.forget_bias);
        set(&mut s.origins, f.origins);
        s.relative |= f.relative;
        s.validate()?;
        let series = csi300::load()?;
        let r = run(&days(&series), &s, progress)?;
        Ok(report_json(&r))
    }

    fn figures(&self, out: &mut Figures) -> Result<()> {
        // Why the LSTM exists: the long-lag task and the gradient by distance need no data.
        let ll = long_lag::run(&long_lag::Settings::default(), &mut |_, _| {})?;
        for m in [&ll.rnn, &ll.lstm] {
            println!(
                "ch8: adding problem, T = {}: {} test MSE {:.5} (always 1.0: {:.4}), {:.1} s",
                ll.len, m.name, m.test_mse, ll.baseline_mse, m.seconds
            );
        }
        let curves = long_lag::gradient_at_init(&long_lag::GradientSettings::default())?;
        long_lag::figures::long_lag(&ll, &out.file("ch8_long_lag.svg"))?;
        long_lag::figures::gradient_distance(
            &curves,
            Some(&ll),
            &out.file("ch8_gradient_distance.svg"),
        )?;

        let Some(series) = out.dataset("the chapter 8 CSI-300 figures", csi300::load)? else {
            return Ok(());
        };
        let days = days(&series);
        let closes: Vec<f64> = series.close.clone();
        let honest = run(&days, &Settings::default(), &mut |_| {})?;
        let book = run(&days, &Settings::book(), &mut |_| {})?;
        for (name, r) in [("honest", &honest), ("book setup", &book)] {
            let f = &r.main;
            println!(
                "ch8: {name}, {} test windows, mean RMSE over 20 days: LSTM {:.1}, persistence {:.1}, linear {:.1} \
                 index points; direction right {:.1}% ({:.1} s)",
                f.test_windows,
                f.model.mean_rmse(),
                f.persistence.mean_rmse(),
                f.linear.mean_rmse(),
                100.0 * f.model.direction,
                r.seconds
            );
        }
        for f in &honest.rolling {
            println!(
                "ch8: origin day {}: mean RMSE LSTM {:.1}, persistence {:.1}, linear {:.1}",
                f.origin,
                f.model.mean_rmse(),
                f.persistence.mean_rmse(),
                f.linear.mean_rmse()
            );
        }
        figures::forecast(&honest, &closes, &out.file("ch8_forecast.svg"))?;
        figures::origins(&honest, &closes, &out.file("ch8_origins.svg"))?;
        figures::horizon_error(&honest, &out.file("ch8_horizon_error.svg"))?;
        figures::curves(&honest, &out.file("ch8_curves.svg"))?;
        figures::book_vs_honest(&book, &honest, &closes, &out.file("ch8_book_vs_honest.svg"))?;
        Ok(())
    }
}
