//! One module per chapter experiment: settings → run → report. The CLI, the figures and the book's numbers
//! all come from here.
//!
//! Every experiment is also a [`Chapter`]: its name, its flags, its run as one JSON object, and its figures,
//! in its own `chapter.rs` (and its report-to-series adapters in `figures.rs`). [`REGISTRY`] lists them; the
//! `zerodl` CLI and the figures binary know nothing else about them.

pub mod ch1;
pub mod ch2;
pub mod ch3;
pub mod ch5;
pub mod ch6;
pub mod ch7;
pub mod ch8;
pub mod ch9;
pub mod diagrams;
pub mod figures;
pub mod flags;
pub mod long_lag;
pub mod optimizers;
pub mod performance;

pub use figures::Figures;

pub mod predict;

use crate::error::{Error, Result};
use crate::train::{Checkpoint, Control, Progress};
use std::path::Path;

pub trait Chapter: Sync {
    /// What `zerodl run` calls it: `ch1` to `ch7`.
    fn name(&self) -> &'static str;
    /// One line for `--help`.
    fn about(&self) -> &'static str;
    /// Its command with the flags it accepts added (`--quiet` is the CLI's own).
    fn flags(&self, cmd: clap::Command) -> clap::Command;
    /// The book's settings changed by the flags, run; the final metrics as one JSON object.
    /// `control` saves, resumes or only evaluates (for chapters whose [`Chapter::checkpoints`] is true;
    /// the CLI refuses `--save` and `--resume` for the others before anything runs).
    fn run(
        &self,
        flags: &clap::ArgMatches,
        progress: &mut dyn FnMut(&Progress),
        control: &Control,
    ) -> Result<serde_json::Value>;
    /// Whether a run saves and resumes checkpoints (`--save`, `--resume`, `zerodl eval`).
    fn checkpoints(&self) -> bool {
        false
    }
    /// `zerodl predict`: the saved model's answer for `input`, as one JSON object.
    fn predict(
        &self,
        _flags: &clap::ArgMatches,
        _checkpoint: &Checkpoint,
        input: &Path,
    ) -> Result<serde_json::Value> {
        Err(Error::Config(format!(
            "{} has no predict (given {}); predict works for the MNIST chapters ch2 to ch6",
            self.name(),
            input.display()
        )))
    }
    /// Run what the chapter's figures need, draw them, and print a summary line per run.
    fn figures(&self, out: &mut Figures) -> Result<()>;
}

/// Every chapter, in the book's order (the order of `--help` and of the figures).
pub static REGISTRY: &[&dyn Chapter] = &[
    &ch1::chapter::Ch1,
    &ch2::chapter::Ch2,
    &ch3::chapter::Ch3,
    &ch5::chapter::Ch4,
    &ch5::chapter::Ch5,
    &ch6::chapter::Ch6,
    &ch7::chapter::Ch7,
    &ch8::chapter::Ch8,
    &ch9::chapter::Ch9,
];

pub fn find(name: &str) -> Option<&'static dyn Chapter> {
    REGISTRY.iter().copied().find(|c| c.name() == name)
}
