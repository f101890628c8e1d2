//! Chapter 9's figures: the training curves (ours and the book's setup), the accuracy by review length, and
//! which words drove a few decisions.

use super::data::Prepared;
use super::{Report, SentimentNet};
use crate::autograd::Tape;
use crate::error::Result;
use crate::nn::Module;
use crate::plot::style::GREY;
use crate::plot::words::{word_heat, WordRow};
use crate::plot::{line_panels, Panel, Series, YRange, PALETTE};
use nalgebra::DMatrix;
use std::path::Path;

/// Training and validation accuracy against the epoch, for our setup and the book's.
pub fn curves(ours: &Report, book: &Report, path: &Path) -> Result<()> {
    let pts = |r: &Report, k: usize| -> Vec<(f64, f64)> {
        let per_epoch = r.steps as f64 / r.settings.epochs as f64;
        r.curve
            .iter()
            .map(|c| (c.0 as f64 / per_epoch, [c.2, c.4][k]))
            .collect()
    };
    line_panels(
        path,
        &[Panel {
            title: "Accuracy while training (validation: 2,500 / 1,000 held-out training reviews)",
            x_desc: "epoch",
            y_desc: "accuracy",
            series: vec![
                Series::new("ours, training batches", PALETTE[0], true, pts(ours, 0)),
                Series::new("ours, validation", PALETTE[0], false, pts(ours, 1)),
                Series::new(
                    "book's setup, training batches",
                    PALETTE[1],
                    true,
                    pts(book, 0),
                ),
                Series::new("book's setup, validation", PALETTE[1], false, pts(book, 1)),
            ],
            y_range: YRange::Fraction,
        }],
    )
}

/// Test accuracy by the review's length in tokens (bins of equal count).
pub fn by_length(r: &Report, lengths: &[usize], path: &Path) -> Result<()> {
    let mut pairs: Vec<(usize, bool)> = lengths
        .iter()
        .zip(&r.by_length)
        .map(|(&l, &(_, ok))| (l, ok))
        .collect();
    pairs.sort_by_key(|p| p.0);
    let bins = 10;
    let size = pairs.len().div_ceil(bins).max(1);
    let points = pairs
        .chunks(size)
        .map(|c| {
            let mid = c[c.len() / 2].0 as f64;
            let acc = c.iter().filter(|p| p.1).count() as f64 / c.len() as f64;
            (mid, acc)
        })
        .collect();
    let cut = r.settings.steps as f64;
    line_panels(
        path,
        &[Panel {
            title: "Test accuracy by review length (ten bins of 2,500 reviews; the model reads the first tokens)",
            x_desc: "review length in tokens (bin median)",
            y_desc: "accuracy",
            series: vec![
                Series::new("test accuracy", PALETTE[0], false, points),
                Series {
                    name: "tokens the model reads".into(),
                    color: GREY,
                    dashed: true,
                    points: vec![(cut, 0.8), (cut, 1.0)],
                },
            ],
            y_range: YRange::Fraction,
        }],
    )
}

// ANCHOR: saliency
/// For `count` test reviews, alternately the first negative and the first positive ones: each word's `∂z_c/∂e · e`, the gradient of the predicted class's logit
/// with respect to the word's embedding, dotted with the embedding (blue: pushes towards the prediction,
/// red: against). One backward pass per review gives every word's gradient.
pub fn saliency(
    model: &SentimentNet,
    tape: &mut Tape<f32>,
    p: &Prepared,
    count: usize,
    path: &Path,
) -> Result<()> {
    model.dropout.set_training(false);
    let d = p.corpus.vectors.ncols();
    let mut rows = Vec::new();
    let n = p.corpus.test.len();
    // The test set lists the negative reviews, then the positive ones.
    let picks = (0..count.min(n)).map(|k| k / 2 + (k % 2) * (n / 2));
    for i in picks {
        let one = p.corpus.test.select(&[i]);
        tape.reset();
        let (f, x) = model.features(tape, &one)?;
        let z = model.head.forward(tape, f)?;
        let zv = tape.value(z)?;
        let c = usize::from(zv[(0, 1)] > zv[(0, 0)]);
        let pick = DMatrix::from_row_slice(1, 2, &[(c == 0) as u8 as f32, (c == 1) as u8 as f32]);
        let g = tape.backward_with(z, pick)?;
        let (gx, xv) = (g.get_or_zeros(tape, x)?, tape.value(x)?);
        let words = (0..one.lengths[0])
            .map(|t| {
                let s: f64 = (0..d)
                    .map(|j| (gx[(0, t * d + j)] * xv[(0, t * d + j)]) as f64)
                    .sum();
                let w = p.vocab.word(one.ids[0][t]).unwrap_or("?").to_string();
                (w, s)
            })
            .collect();
        let label = if one.labels[0] == 1 {
            "positive"
        } else {
            "negative"
        };
        let said = if c == 1 { "positive" } else { "negative" };
        rows.push(WordRow {
            title: format!("Test review {} ({label}; predicted {said})", i + 1),
            words,
        });
    }
    tape.reset();
    word_heat(path, &rows)
}
// ANCHOR_END: saliency
