//! Chapter 7's generated sequence: a sum of three periodic waves with uniform noise, cut into windows of
//! inputs and the values that follow them.

use crate::error::{Error, Result};
use crate::rng::Rng;
use nalgebra::DMatrix;
use rand::Rng as _;

// ANCHOR: signal
/// The book's signal without noise: `f(x) = sin(πx/3) + cos(πx/3) + sin(πx/1.5)` (period 6).
pub fn signal(x: f64) -> f64 {
    use std::f64::consts::PI;
    (PI * x / 3.0).sin() + (PI * x / 3.0).cos() + (PI * x / 1.5).sin()
}
// ANCHOR_END: signal

/// `n` evenly spaced points from `start` to `end`, both included (NumPy's `linspace`).
pub fn linspace(start: f64, end: f64, n: usize) -> Vec<f64> {
    match n {
        0 => Vec::new(),
        1 => vec![start],
        _ => (0..n)
            .map(|i| start + (end - start) * i as f64 / (n - 1) as f64)
            .collect(),
    }
}

/// A sampled curve: the grid, the clean signal, and the signal plus `U(-noise, noise)`.
#[derive(Clone, Debug)]
pub struct Curve {
    pub x: Vec<f64>,
    pub clean: Vec<f64>,
    pub noisy: Vec<f64>,
}

pub fn sample(grid: Vec<f64>, noise: f64, rng: &mut Rng) -> Curve {
    let clean: Vec<f64> = grid.iter().map(|&x| signal(x)).collect();
    let noisy = clean
        .iter()
        .map(|&y| {
            if noise > 0.0 {
                y + rng.random_range(-noise..noise)
            } else {
                y
            }
        })
        .collect();
    Curve {
        x: grid,
        clean,
        noisy,
    }
}

/// Sliding windows (stride 1): row `i` of `inputs` is `series[i .. i + input]`, row `i` of `targets` is the
/// `output` values after it.
#[derive(Clone, Debug)]
pub struct Windows {
    pub inputs: DMatrix<f32>,
    pub targets: DMatrix<f32>,
}

impl Windows {
    pub fn len(&self) -> usize {
        self.inputs.nrows()
    }

    pub fn is_empty(&self) -> bool {
        self.inputs.nrows() == 0
    }

    /// The windows at `rows`, as `(inputs, targets)`.
    pub fn rows(&self, rows: &[usize]) -> (DMatrix<f32>, DMatrix<f32>) {
        (
            self.inputs.select_rows(rows),
            self.targets.select_rows(rows),
        )
    }
}

pub fn windows(series: &[f64], input: usize, output: usize) -> Result<Windows> {
    if input == 0 || output == 0 || series.len() < input + output {
        return Err(Error::Config(format!(
            "windows: a series of {} values cannot give windows of {input} inputs and {output} targets \
             (both at least 1)",
            series.len()
        )));
    }
    let m = series.len() - input - output + 1;
    let inputs = DMatrix::from_fn(m, input, |i, j| series[i + j] as f32);
    let targets = DMatrix::from_fn(m, output, |i, j| series[i + input + j] as f32);
    Ok(Windows { inputs, targets })
}
