//! `zerodl run ch1` and chapter 1's figures.

use super::{figures, run, Settings};
use crate::chapters::flags::{self, set};
use crate::chapters::{Chapter, Figures};
use crate::error::Result;
use crate::train::{Control, Progress};
use clap::{ArgMatches, Args, Command};
use serde_json::{json, Value};

#[derive(Args)]
struct Flags {
    /// Learning rate (default 0.1, the book's).
    #[arg(long, value_parser = flags::positive)]
    lr: Option<f64>,
    /// Seed of every random draw.
    #[arg(long)]
    seed: Option<u64>,
}

pub struct Ch1;

impl Chapter for Ch1 {
    fn name(&self) -> &'static str {
        "ch1"
    }

    fn about(&self) -> &'static str {
        "Chapter 1: the perceptron on generated 3-D points."
    }

    fn flags(&self, cmd: Command) -> Command {
        Flags::augment_args(cmd)
    }

    fn run(&self, m: &ArgMatches, _: &mut dyn FnMut(&Progress), _: &Control) -> Result<Value> {
        let f: Flags = flags::parse(m)?;
        let mut s = Settings::default();
        set(&mut s.lr, f.lr);
        set(&mut s.seed, f.seed);
        let t = std::time::Instant::now();
        let r = run(&s)?;
        Ok(
            json!({"experiment": "ch1", "updates": r.trained.updates, "scans": r.trained.scans,
                   "accuracy": r.accuracy, "novikoff_bound": r.bound,
                   "w": r.trained.model.w.as_slice(), "b": r.trained.model.b,
                   "seconds": t.elapsed().as_secs_f64()}),
        )
    }

    fn figures(&self, out: &mut Figures) -> Result<()> {
        let r = run(&Settings::default())?;
        figures::scatter_3d_plane(&r, false, &out.file("ch1_true_plane.svg"))?;
        figures::scatter_3d_plane(&r, true, &out.file("ch1_learned_plane.svg"))?;
        figures::edge_on(&r, &out.file("ch1_edge_on.svg"))?;
        println!(
            "ch1: perceptron, {} updates in {} scans, accuracy {:.1}%, Novikoff bound {:.3e}",
            r.trained.updates,
            r.trained.scans,
            100.0 * r.accuracy,
            r.bound
        );
        Ok(())
    }
}
