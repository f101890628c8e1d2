//! `zerodl run ch6` (the chapter 5 CNN with batch normalization) and chapter 6's figures: the sigmoid network
//! with and without batch normalization, and the CNN against chapter 5's.

use super::{figures, sigmoid_net};
use crate::chapters::ch2::figures::curves;
use crate::chapters::ch5::chapter::{predict_cnn, run_cnn, CnnFlags, CNN_CURVE};
use crate::chapters::ch5::{self, Settings};
use crate::chapters::{Chapter, Figures};
use crate::error::Result;
use crate::train::{Checkpoint, Control, CurvePoint, Progress};
use clap::{ArgMatches, Args, Command};
use serde_json::Value;
use std::path::Path;
use std::time::Instant;

pub struct Ch6;

impl Chapter for Ch6 {
    fn name(&self) -> &'static str {
        "ch6"
    }

    fn about(&self) -> &'static str {
        "Chapter 6: the chapter 5 CNN with batch normalization after each convolution."
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
        run_cnn("ch6", Settings::ch6(), m, progress, control)
    }

    fn checkpoints(&self) -> bool {
        true
    }

    fn predict(&self, m: &ArgMatches, c: &Checkpoint, input: &Path) -> Result<Value> {
        predict_cnn(Settings::ch6(), m, c, input)
    }

    fn figures(&self, out: &mut Figures) -> Result<()> {
        let Some(data) = out.mnist("the chapter 6 figures") else {
            return Ok(());
        };
        let t = Instant::now();
        let mut runs = Vec::new();
        for (lr, bn) in [(0.5, false), (0.5, true), (5.0, false), (5.0, true)] {
            let r = sigmoid_net(data, bn, lr, 3000, 100)?;
            let last = r.curve.last().copied().unwrap_or((0, f64::NAN, f64::NAN));
            let q = r.percentiles.last().map(|p| p.1).unwrap_or([f64::NAN; 3]);
            println!(
                "ch6: sigmoid net, batch norm {bn}, SGD lr {lr}: train loss {:.3}, test accuracy {:.2}%{}, \
                 last-layer unit input percentiles 15/50/85: {:.2} / {:.2} / {:.2}",
                last.1,
                100.0 * last.2,
                if r.diverged { " (diverged)" } else { "" },
                q[0],
                q[1],
                q[2]
            );
            runs.push(r);
        }
        figures::percentiles(&runs[0], &runs[1], &out.file("ch6_percentiles.svg"))?;
        figures::sigmoid_curves(
            &[&runs[0], &runs[1]],
            "Sigmoid net, lr 0.5",
            &out.file("ch6_sigmoid_lr0.5.svg"),
        )?;
        figures::sigmoid_curves(
            &[&runs[2], &runs[3]],
            "Sigmoid net, lr 5",
            &out.file("ch6_sigmoid_lr5.svg"),
        )?;
        println!(
            "ch6: the sigmoid-network runs took {:.1} s",
            t.elapsed().as_secs_f64()
        );

        if !out.full("the chapter 6 CNN") {
            return Ok(());
        }
        // Chapter 5's figures ran its CNN just before; alone, chapter 6 runs it again.
        let without_bn: Vec<CurvePoint> = match out.kept::<Vec<CurvePoint>>(CNN_CURVE) {
            Some(c) => c.clone(),
            None => ch5::run(data, &Settings::ch5(), &mut |_| {})?.fit.curve,
        };
        let s = Settings::ch6();
        let r = ch5::run(data, &s, &mut |_| {})?;
        println!(
            "ch6: CNN with batch norm, {} epochs, test accuracy {:.2}%, test loss {:.4}, {:.1} s per epoch",
            s.epochs,
            100.0 * r.fit.test_acc,
            r.fit.test_loss,
            r.epoch_seconds
        );
        let title = "Chapter 6, the CNN with batch norm";
        curves(&r.fit.curve, title, &out.file("ch6_curves.svg"))?;
        figures::cnn_compare(&without_bn, &r.fit.curve, &out.file("ch6_vs_ch5.svg"))
    }
}
