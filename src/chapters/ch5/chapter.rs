//! `zerodl run ch4` and `zerodl run ch5` (one network, the naive and the fast layers), chapter 4's run for the
//! figures, and chapter 5's figures: the optimizers' paths and plates, and the CNN's curves, filters and
//! feature maps.

use super::{figures, model, run, run_with, Settings};
use crate::autograd::Tape;
use crate::chapters::ch2::figures::curves;
use crate::chapters::flags::{self, set, InitArg, Optimizer};
use crate::chapters::optimizers;
use crate::chapters::predict::digit;
use crate::chapters::{Chapter, Figures};
use crate::data::mnist::{self, Mnist};
use crate::error::Result;
use crate::optim::{Kind, Schedule};
use crate::train::Checkpoint;
use crate::train::{Control, Progress};
use clap::{ArgMatches, Args, Command};
use serde_json::{json, Value};
use std::path::Path;
use std::time::Instant;

/// The flags of every CNN run (chapters 4, 5 and 6).
#[derive(Args)]
pub(crate) struct CnnFlags {
    /// Learning rate: a constant rate replaces the book's per-epoch table.
    #[arg(long, value_parser = flags::positive)]
    lr: Option<f64>,
    /// Batch size (default 32).
    #[arg(long, value_parser = flags::count)]
    batch: Option<usize>,
    /// Epochs.
    #[arg(long, value_parser = flags::count)]
    epochs: Option<usize>,
    /// Seed of every random draw.
    #[arg(long)]
    seed: Option<u64>,
    /// Optimizer (default Adam, the book's).
    #[arg(long, value_enum)]
    optimizer: Option<Optimizer>,
    /// Train on the first 5,000 training images and test on the first 1,000 (seconds, for exercises).
    #[arg(long)]
    small: bool,
    /// Initial weights (default he: ours; book: the original's 0.01·N(0, 1)).
    #[arg(long, value_enum)]
    init: Option<InitArg>,
}

/// The book settings `s` of a CNN chapter, changed by its flags.
fn cnn_settings(mut s: Settings, m: &ArgMatches) -> Result<Settings> {
    let f: CnnFlags = flags::parse(m)?;
    if let Some(v) = f.lr {
        s.schedule = Schedule::Constant(v);
    }
    set(&mut s.batch, f.batch);
    set(&mut s.epochs, f.epochs);
    set(&mut s.seed, f.seed);
    flags::check_rate(f.optimizer, f.lr)?;
    set(&mut s.optimizer, f.optimizer.map(Optimizer::kind));
    if f.small {
        // Never more than the chapter's own subset (chapter 4 runs on 320 images already).
        s.train_size = Some(
            s.train_size
                .map_or(flags::SMALL.0, |n| n.min(flags::SMALL.0)),
        );
        s.test_size = Some(
            s.test_size
                .map_or(flags::SMALL.1, |n| n.min(flags::SMALL.1)),
        );
    }
    set(&mut s.init, f.init.map(InitArg::init));
    Ok(s)
}

/// `zerodl predict` of a CNN chapter whose book settings are `s`.
pub(crate) fn predict_cnn(
    s: Settings,
    m: &ArgMatches,
    c: &Checkpoint,
    input: &Path,
) -> Result<Value> {
    let s = cnn_settings(s, m)?;
    let mut tape = Tape::new();
    let net = model(&mut tape, &s)?;
    c.restore_model(&mut tape, &net)?;
    digit(&mut tape, &net, input)
}

/// `zerodl run <name>` of a CNN chapter whose book settings are `s`.
pub(crate) fn run_cnn(
    name: &str,
    s: Settings,
    m: &ArgMatches,
    progress: &mut dyn FnMut(&Progress),
    control: &Control,
) -> Result<Value> {
    let s = cnn_settings(s, m)?;
    let data = mnist::load()?;
    let r = run_with(&data, &s, progress, control)?;
    Ok(
        json!({"experiment": name, "optimizer": s.optimizer.name(), "epochs": s.epochs, "batch": s.batch,
               "train_images": s.train_size.unwrap_or(data.train.len()),
               "test_images": s.test_size.unwrap_or(data.test.len()),
               "test_accuracy": r.fit.test_acc, "test_loss": r.fit.test_loss, "steps": r.fit.steps,
               "seconds": r.fit.seconds, "epoch_seconds": r.epoch_seconds}),
    )
}

/// Chapter 5's CNN curve, kept for chapter 6's comparison with batch normalization.
pub(crate) const CNN_CURVE: &str = "ch5 CNN curve";

pub struct Ch4;

impl Chapter for Ch4 {
    fn name(&self) -> &'static str {
        "ch4"
    }

    fn about(&self) -> &'static str {
        "Chapter 4: the book's CNN with the naive loops, on 320 training and 500 test images."
    }

    fn flags(&self, cmd: Command) -> Command {
        CnnFlags::augment_args(cmd)
    }

    fn run(
        &self,
        m: &ArgMatches,
        progress: &mut dyn FnMut(&Progress),
        control: &Control,
    ) -> Result<Value> {
        run_cnn("ch4", Settings::ch4(), m, progress, control)
    }

    fn checkpoints(&self) -> bool {
        true
    }

    fn predict(&self, m: &ArgMatches, c: &Checkpoint, input: &Path) -> Result<Value> {
        predict_cnn(Settings::ch4(), m, c, input)
    }

    fn figures(&self, out: &mut Figures) -> Result<()> {
        let Some(data) = out.mnist("the chapter 4 CNN run") else {
            return Ok(());
        };
        if !out.full("the chapter 4 CNN") {
            return Ok(());
        }
        let s = Settings::ch4();
        let r = run(data, &s, &mut |_| {})?;
        println!(
            "ch4: CNN with naive layers, {} training images, {} steps, {:.1} s, accuracy {:.1}% on {} test images",
            s.train_size.unwrap_or(0),
            r.fit.steps,
            r.fit.seconds,
            100.0 * r.fit.test_acc,
            s.test_size.unwrap_or(0)
        );
        Ok(())
    }
}

pub struct Ch5;

impl Chapter for Ch5 {
    fn name(&self) -> &'static str {
        "ch5"
    }

    fn about(&self) -> &'static str {
        "Chapter 5: the book's CNN with im2col, Adam and the book's learning-rate table, 5 epochs."
    }

    fn flags(&self, cmd: Command) -> Command {
        CnnFlags::augment_args(cmd)
    }

    fn run(
        &self,
        m: &ArgMatches,
        progress: &mut dyn FnMut(&Progress),
        control: &Control,
    ) -> Result<Value> {
        run_cnn("ch5", Settings::ch5(), m, progress, control)
    }

    fn checkpoints(&self) -> bool {
        true
    }

    fn predict(&self, m: &ArgMatches, c: &Checkpoint, input: &Path) -> Result<Value> {
        predict_cnn(Settings::ch5(), m, c, input)
    }

    fn figures(&self, out: &mut Figures) -> Result<()> {
        optimizer_paths(out)?;
        let Some(data) = out.mnist("the chapter 5 optimizer plates and CNN figures") else {
            return Ok(());
        };
        optimizer_plates(out, data)?;
        if !out.full("the chapter 5 CNN") {
            return Ok(());
        }
        let s = Settings::ch5();
        let mut r = run(data, &s, &mut |_| {})?;
        println!(
            "ch5: CNN, {} epochs, test accuracy {:.2}%, test loss {:.4}, {:.1} s per epoch",
            s.epochs,
            100.0 * r.fit.test_acc,
            r.fit.test_loss,
            r.epoch_seconds
        );
        curves(
            &r.fit.curve,
            "Chapter 5, the CNN",
            &out.file("ch5_curves.svg"),
        )?;
        out.keep(CNN_CURVE, r.fit.curve.clone());
        figures::filters(&r.model, &r.tape, &out.file("ch5_filters.svg"))?;
        let (a, b) = (
            out.file("ch5_maps_conv1.svg"),
            out.file("ch5_maps_conv2.svg"),
        );
        figures::feature_maps(
            &r.model,
            &mut r.tape,
            data.test.image(0),
            data.test.labels[0],
            [&a, &b],
        )
    }
}

/// The seven optimizers' paths on the bowl `x²/20 + y²`.
fn optimizer_paths(out: &mut Figures) -> Result<()> {
    let mut paths = Vec::new();
    for kind in Kind::ALL {
        let lr = match kind {
            Kind::Sgd => 0.4,
            Kind::Momentum | Kind::Nag => 0.05,
            Kind::Adagrad => 1.0,
            Kind::RmsProp | Kind::Adam => 0.2,
            Kind::AdaDelta => 1.0,
        };
        let p = optimizers::path(kind, lr, 80)?;
        let (x, y) = *p.last().expect("a path has its start");
        let label = if kind == Kind::AdaDelta {
            format!("{} (no rate)", kind.name())
        } else {
            format!("{} (lr {lr})", kind.name())
        };
        println!(
            "ch5: {label} on x²/20 + y², after 80 steps at ({x:.3}, {y:.3}), f = {:.2e}",
            optimizers::bowl(x, y)
        );
        paths.push((label, p));
    }
    optimizers::figures::paths(&paths, &out.file("ch5_opt_paths.svg"))
}

/// A plate of the optimizer comparison: its file, title, and the rate each optimizer gets.
type Plate = (&'static str, &'static str, Box<dyn Fn(Kind) -> f64>);

/// The book's colour plates: the seven optimizers on MNIST at suitable, shared, too small and too large rates.
fn optimizer_plates(out: &mut Figures, data: &Mnist) -> Result<()> {
    let t = Instant::now();
    let s = optimizers::Settings::default();
    let plates: [Plate; 5] = [
        (
            "ch5_opt_suitable.svg",
            "A suitable rate each",
            Box::new(optimizers::suitable_lr),
        ),
        ("ch5_opt_lr_0.01.svg", "All at lr 0.01", Box::new(|_| 0.01)),
        ("ch5_opt_lr_0.1.svg", "All at lr 0.1", Box::new(|_| 0.1)),
        (
            "ch5_opt_too_small.svg",
            "A rate 100 times too small",
            Box::new(|k| optimizers::suitable_lr(k) / 100.0),
        ),
        (
            "ch5_opt_too_large.svg",
            "A rate 30 times too large",
            Box::new(|k| optimizers::suitable_lr(k) * 30.0),
        ),
    ];
    for (file, title, lr) in plates {
        let runs: Vec<(Kind, f64)> = Kind::ALL.iter().map(|&k| (k, lr(k))).collect();
        let result = optimizers::compare(data, &s, &runs)?;
        for r in &result {
            let last = r.points.last();
            println!(
                "ch5 optimizers, {title}: {} lr {}: {}",
                r.kind.name(),
                r.lr,
                match (r.diverged, last) {
                    (true, _) => "diverged".to_string(),
                    (false, Some(p)) =>
                        format!("train loss {:.3}, test accuracy {:.2}%", p.1, 100.0 * p.3),
                    (false, None) => "no evaluation".to_string(),
                }
            );
        }
        optimizers::figures::curves(&result, title, &out.file(file))?;
    }
    println!(
        "ch5: the optimizer plates took {:.1} s",
        t.elapsed().as_secs_f64()
    );
    Ok(())
}
