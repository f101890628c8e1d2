//! `zerodl run ch2` and chapter 2's figures.

use super::{figures, model, run, run_with, Settings};
use crate::autograd::Tape;
use crate::chapters::flags::{self, set, Optimizer};
use crate::chapters::predict::digit;
use crate::chapters::{Chapter, Figures};
use crate::data::mnist;
use crate::error::Result;
use crate::train::Checkpoint;
use crate::train::{Control, Progress};
use clap::{ArgMatches, Args, Command};
use serde_json::{json, Value};
use std::path::Path;
use std::time::Instant;

#[derive(Args)]
struct Flags {
    /// Learning rate (default 0.1, the book's).
    #[arg(long, value_parser = flags::positive)]
    lr: Option<f64>,
    /// Batch size (default 512).
    #[arg(long, value_parser = flags::count)]
    batch: Option<usize>,
    /// Epochs (default 10).
    #[arg(long, value_parser = flags::count)]
    epochs: Option<usize>,
    /// Gradient steps on each batch (the book's setting is 5).
    #[arg(long, value_parser = flags::count)]
    steps_per_batch: Option<usize>,
    /// Seed of every random draw.
    #[arg(long)]
    seed: Option<u64>,
    /// Optimizer (default SGD, the book's).
    #[arg(long, value_enum)]
    optimizer: Option<Optimizer>,
    /// Train on the first 5,000 training images and test on the first 1,000 (seconds, for exercises).
    #[arg(long)]
    small: bool,
}

fn settings(m: &ArgMatches) -> Result<Settings> {
    let f: Flags = flags::parse(m)?;
    let mut s = Settings::default();
    set(&mut s.lr, f.lr);
    set(&mut s.batch, f.batch);
    set(&mut s.epochs, f.epochs);
    set(&mut s.steps_per_batch, f.steps_per_batch);
    set(&mut s.seed, f.seed);
    flags::check_rate(f.optimizer, f.lr)?;
    set(&mut s.optimizer, f.optimizer.map(Optimizer::kind));
    if f.small {
        s.subset = Some(flags::SMALL);
    }
    Ok(s)
}

pub struct Ch2;

impl Chapter for Ch2 {
    fn name(&self) -> &'static str {
        "ch2"
    }

    fn about(&self) -> &'static str {
        "Chapter 2: softmax regression 784 -> 10 on MNIST."
    }

    fn flags(&self, cmd: Command) -> Command {
        Flags::augment_args(cmd)
    }

    fn run(
        &self,
        m: &ArgMatches,
        progress: &mut dyn FnMut(&Progress),
        control: &Control,
    ) -> Result<Value> {
        let s = settings(m)?;
        let data = mnist::load()?;
        let r = run_with(&data, &s, progress, control)?;
        Ok(
            json!({"experiment": "ch2", "optimizer": s.optimizer.name(), "epochs": s.epochs, "test_accuracy": r.fit.test_acc,
                   "test_loss": r.fit.test_loss, "steps": r.fit.steps, "seconds": r.fit.seconds}),
        )
    }

    fn checkpoints(&self) -> bool {
        true
    }

    fn predict(&self, m: &ArgMatches, c: &Checkpoint, input: &Path) -> Result<Value> {
        let s = settings(m)?;
        let mut tape = Tape::new();
        let net = model(&mut tape, &s);
        c.restore_model(&mut tape, &net)?;
        digit(&mut tape, &net, input)
    }

    fn figures(&self, out: &mut Figures) -> Result<()> {
        let Some(data) = out.mnist("the chapter 2 figures") else {
            return Ok(());
        };
        let t = Instant::now();
        let s = Settings::default();
        let r = run(data, &s, &mut |_| {})?;
        println!(
            "ch2: softmax regression, {} epochs, test accuracy {:.2}%, test loss {:.4} ({:.1} s)",
            s.epochs,
            100.0 * r.fit.test_acc,
            r.fit.test_loss,
            t.elapsed().as_secs_f64()
        );
        figures::curves(
            &r.fit.curve,
            "Chapter 2, 784 → 10",
            &out.file("ch2_curves.svg"),
        )?;
        figures::weight_templates(&r, &out.file("ch2_weights.svg"))?;
        Ok(())
    }
}
