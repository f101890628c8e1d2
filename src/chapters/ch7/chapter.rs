//! `zerodl run ch7` and chapter 7's figures.

use super::{
    clip_run, figures, gradient_flow, run, run_with, Clip, ClipDemo, Settings, FLOW_SCALES,
};
use crate::by_hand::rnn::Merge;
use crate::chapters::flags::{self, set};
use crate::chapters::{Chapter, Figures};
use crate::error::Result;
use crate::train::{Control, Progress};
use clap::{ArgMatches, Args, Command, ValueEnum};
use serde_json::{json, Value};

#[derive(Clone, Copy, ValueEnum)]
enum MergeArg {
    PerLayer,
    Book,
}

#[derive(Args)]
struct Flags {
    /// Learning rate (default 0.005, the book's).
    #[arg(long, value_parser = flags::positive)]
    lr: Option<f64>,
    /// Batch size (default 32).
    #[arg(long, value_parser = flags::count)]
    batch: Option<usize>,
    /// Epochs (default 5).
    #[arg(long, value_parser = flags::count)]
    epochs: Option<usize>,
    /// Seed of every random draw.
    #[arg(long)]
    seed: Option<u64>,
    /// Hidden units per RNN layer (default 30).
    #[arg(long, value_parser = flags::count)]
    hidden: Option<usize>,
    /// Stacked RNN layers (default 3).
    #[arg(long, value_parser = flags::count)]
    layers: Option<usize>,
    /// Run every layer in both directions.
    #[arg(long)]
    bidirectional: bool,
    /// How a bidirectional stack joins its directions (per-layer is the default; book is the book's).
    #[arg(long, value_enum)]
    merge: Option<MergeArg>,
    /// Multiply the learning rate by this after every epoch (default 0.5; the book's constant rate is 1).
    #[arg(long, value_parser = flags::factor)]
    decay: Option<f64>,
    /// Clip the global gradient norm at this value (default 5).
    #[arg(long, value_parser = flags::positive, conflicts_with_all = ["clip_value", "no_clip"])]
    clip_norm: Option<f64>,
    /// Clip every gradient entry to [-c, c] instead.
    #[arg(long, value_parser = flags::positive, conflicts_with = "no_clip")]
    clip_value: Option<f64>,
    /// No gradient clipping.
    #[arg(long)]
    no_clip: bool,
}

pub struct Ch7;

impl Chapter for Ch7 {
    fn name(&self) -> &'static str {
        "ch7"
    }

    fn about(&self) -> &'static str {
        "Chapter 7: three stacked tanh RNN layers predict the next 10 values of a noisy curve from the 10 before."
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
        let f: Flags = flags::parse(m)?;
        let mut s = Settings::default();
        set(&mut s.lr, f.lr);
        set(&mut s.batch, f.batch);
        set(&mut s.epochs, f.epochs);
        set(&mut s.seed, f.seed);
        set(&mut s.hidden, f.hidden);
        set(&mut s.decay, f.decay);
        set(&mut s.layers, f.layers);
        s.bidirectional |= f.bidirectional;
        if let Some(m) = f.merge {
            s.merge = match m {
                MergeArg::PerLayer => Merge::PerLayer,
                MergeArg::Book => Merge::Book,
            };
        }
        if let Some(c) = f.clip_norm {
            s.clip = Clip::Norm(c);
        }
        if let Some(c) = f.clip_value {
            s.clip = Clip::Value(c);
        }
        if f.no_clip {
            s.clip = Clip::None;
        }
        let r = run_with(&s, progress, control)?;
        Ok(
            json!({"experiment": "ch7", "hidden": s.hidden, "layers": s.layers, "bidirectional": s.bidirectional,
                   "clip": format!("{:?}", s.clip), "epochs": s.epochs, "test_mse": r.test_mse,
                   "test_loss_book_convention": r.test_loss_book(),
                   "test_mse_clean_signal": r.test_mse_clean, "noise_floor": r.noise_floor,
                   "linear_least_squares_mse": r.linear_mse, "decay": s.decay,
                   "max_grad_norm": r.max_grad_norm, "steps": r.steps, "seconds": r.seconds}),
        )
    }

    fn checkpoints(&self) -> bool {
        true
    }

    fn figures(&self, out: &mut Figures) -> Result<()> {
        let r = run(&Settings::default(), &mut |_| {})?;
        println!(
            "ch7: 3-layer RNN, {} steps, test MSE {:.5} (the book's halved convention {:.5}; against the clean \
             signal {:.5}; noise floor {:.5}; best linear predictor {:.5}), largest gradient norm {:.3}, {:.1} s",
            r.steps, r.test_mse, r.test_loss_book(), r.test_mse_clean, r.noise_floor, r.linear_mse, r.max_grad_norm, r.seconds
        );
        figures::prediction(&r, &out.file("ch7_prediction.svg"))?;
        figures::curves(&r, &out.file("ch7_curves.svg"))?;
        let flows = FLOW_SCALES
            .iter()
            .map(|&rho| Ok((rho, gradient_flow(rho, 200, 30, 7)?)))
            .collect::<Result<Vec<_>>>()?;
        for (rho, g) in &flows {
            println!(
                "ch7: W_h = {rho} x orthogonal: gradient at step 200 {:.3e}, at step 1 {:.3e}",
                g[199], g[0]
            );
        }
        figures::gradient_flow(&flows, &out.file("ch7_gradient_flow.svg"))?;
        let c = ClipDemo::default();
        let plain = clip_run(Clip::None, &c)?;
        let clipped = clip_run(Clip::Norm(c.max_norm), &c)?;
        for (name, run) in [("no clipping", &plain), ("clipping", &clipped)] {
            let last = run.last().map_or(f64::NAN, |p| p.0);
            let peak = run.iter().map(|p| p.1).fold(0.0, f64::max);
            println!("ch7: long sequence, {name}: {} steps, final loss {last:.4}, largest gradient norm {peak:.3e}", run.len());
        }
        let n1 = "no clipping".to_string();
        let n2 = format!("clipped at global norm {}", c.max_norm);
        figures::clipping(
            &[(&n1, &plain), (&n2, &clipped)],
            &out.file("ch7_clipping.svg"),
        )
    }
}
