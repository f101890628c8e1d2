//! `zerodl run ch3` and chapter 3's figures.

use super::{fit_xor, fitting, model, run, run_with, xor_data, Settings};
use crate::autograd::Tape;
use crate::chapters::ch2::figures::curves;
use crate::chapters::flags::{self, set, InitArg, Optimizer};
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
    /// Epochs (default 30).
    #[arg(long, value_parser = flags::count)]
    epochs: Option<usize>,
    /// Gradient steps on each batch (default 5).
    #[arg(long, value_parser = flags::count)]
    steps_per_batch: Option<usize>,
    /// Seed of every random draw.
    #[arg(long)]
    seed: Option<u64>,
    /// L2 strength lambda; selects the book's L2 variant (784 -> 500 -> 10, lr 0.1 * 0.99^epoch).
    #[arg(long, value_parser = flags::non_negative)]
    l2: Option<f64>,
    /// Optimizer (default SGD, the book's).
    #[arg(long, value_enum)]
    optimizer: Option<Optimizer>,
    /// Train on the first 5,000 training images and test on the first 1,000 (seconds, for exercises).
    #[arg(long)]
    small: bool,
    /// The original's companion code as it is: 9 epochs of 10 steps per batch from 0.01·N(0, 1) weights
    /// (with --l2: its L2 script, batch 1000, 50 epochs of 15 steps, lr 0.1 * 0.99^epoch).
    #[arg(long)]
    book_setup: bool,
    /// Initial weights (default he: ours; book: the original's 0.01·N(0, 1)).
    #[arg(long, value_enum)]
    init: Option<InitArg>,
}

fn settings(m: &ArgMatches) -> Result<Settings> {
    let f: Flags = flags::parse(m)?;
    let mut s = match (f.l2, f.book_setup) {
        (Some(l2), false) => Settings {
            l2,
            ..Settings::book_l2()
        },
        (Some(l2), true) => Settings {
            l2,
            ..Settings::original_l2()
        },
        (None, false) => Settings::book(),
        (None, true) => Settings::original(),
    };
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
    set(&mut s.init, f.init.map(InitArg::init));
    Ok(s)
}

pub struct Ch3;

impl Chapter for Ch3 {
    fn name(&self) -> &'static str {
        "ch3"
    }

    fn about(&self) -> &'static str {
        "Chapter 3: the deep fully connected network 784 -> 512 ReLU -> 10 on MNIST (--l2 for the L2 variant)."
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
            json!({"experiment": "ch3", "setup": if flags::parse::<Flags>(m)?.book_setup { "book" } else { "ours" },
                   "optimizer": s.optimizer.name(), "init": format!("{:?}", s.init), "hidden": s.hidden, "l2": s.l2,
                   "epochs": s.epochs, "steps_per_batch": s.steps_per_batch, "batch": s.batch,
                   "test_accuracy": r.test_acc, "test_loss": r.test_loss, "steps": r.steps,
                   "seconds": r.seconds}),
        )
    }

    fn checkpoints(&self) -> bool {
        true
    }

    fn predict(&self, m: &ArgMatches, c: &Checkpoint, input: &Path) -> Result<Value> {
        let s = settings(m)?;
        let mut tape = Tape::new();
        let net = model(&mut tape, &s)?;
        c.restore_model(&mut tape, &net)?;
        digit(&mut tape, &net, input)
    }

    fn figures(&self, out: &mut Figures) -> Result<()> {
        let (x, y) = xor_data(50, 0.12, 3);
        let mut linear = fit_xor(&x, &y, &[2, 2], 3000, 0.5, 3)?;
        let mut hidden = fit_xor(&x, &y, &[2, 4, 2], 3000, 0.5, 3)?;
        println!(
            "ch3: XOR, linear model {:.1}% right, one hidden layer of 4 tanh units {:.1}% right",
            100.0 * linear.accuracy,
            100.0 * hidden.accuracy
        );
        super::figures::xor_regions(
            &x,
            &y,
            &mut [
                ("linear (no hidden layer)", &mut linear),
                ("4 hidden tanh units", &mut hidden),
            ],
            &out.file("ch3_xor.svg"),
        )?;
        super::figures::activations(&out.file("ch3_activations.svg"))?;

        let Some(data) = out.mnist("the chapter 3 MNIST figures") else {
            return Ok(());
        };
        let t = Instant::now();
        let runs = fitting(data, 1000, 100, 1e-2, &mut |_| {})?;
        for run in &runs {
            println!(
                "ch3: fitting on 1,000 images, {}: final train loss {:.4}, test accuracy {:.2}%",
                run.name,
                run.report.curve.last().map_or(f64::NAN, |p| p.train_loss),
                100.0 * run.report.test_acc
            );
        }
        println!(
            "ch3: fitting experiment took {:.1} s",
            t.elapsed().as_secs_f64()
        );
        super::figures::fitting(&runs, &out.file("ch3_fitting.svg"))?;

        for (name, s, file) in [
            ("784 → 512 → 10", Settings::book(), "ch3_curves.svg"),
            (
                "784 → 500 → 10 with L2",
                Settings::book_l2(),
                "ch3_l2_curves.svg",
            ),
        ] {
            let t = Instant::now();
            let r = run(data, &s, &mut |_| {})?;
            println!(
                "ch3: {name}, {} epochs x {} steps per batch, test accuracy {:.2}%, test loss {:.4} ({:.1} s)",
                s.epochs,
                s.steps_per_batch,
                100.0 * r.test_acc,
                r.test_loss,
                t.elapsed().as_secs_f64()
            );
            curves(&r.curve, &format!("Chapter 3, {name}"), &out.file(file))?;
        }
        Ok(())
    }
}
