//! The finite-difference gradient checker: the independent computation every gradient in zerodl is proven
//! against.
//!
//! For a function `f` of matrices, the numeric partial derivative is the central difference
//! `(f(x + ε e_k) - f(x - ε e_k)) / 2ε`, whose error is `O(ε²)` from truncation plus `O(u/ε)` from rounding
//! (`u` the unit roundoff). In f64 with `ε = 1e-5` both are below 1e-9 for the functions we check, so the
//! default tolerance of 1e-6 on the error measure below leaves three orders of magnitude of room and still
//! rejects any wrong derivative (a dropped factor or term is an error of order 1e-2 or more).
//!
//! The error between an analytic gradient `a` and a numeric one `n` is the largest, over entries, of
//! `|a - n| / max(1, |a|, |n|)`: relative for large entries, absolute for small ones, so entries near zero do
//! not turn rounding noise into a huge ratio.

use crate::autograd::tape::{Tape, Var};
use crate::error::{Error, Result};
use nalgebra::DMatrix;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

pub const DEFAULT_EPS: f64 = 1e-5;
pub const DEFAULT_TOL: f64 = 1e-6;

// ANCHOR: grad_error
/// `max |a - b| / max(1, |a|, |b|)` over entries; infinite when the shapes differ or any entry is NaN.
pub fn grad_error(a: &DMatrix<f64>, b: &DMatrix<f64>) -> f64 {
    if a.shape() != b.shape() {
        return f64::INFINITY;
    }
    a.iter()
        .zip(b.iter())
        .map(|(&x, &y)| {
            let e = (x - y).abs() / 1f64.max(x.abs()).max(y.abs());
            if e.is_nan() {
                f64::INFINITY
            } else {
                e
            }
        })
        .fold(0.0, f64::max)
}
// ANCHOR_END: grad_error

// ANCHOR: numeric_grads
/// Central-difference gradient of a scalar function of several matrices, one matrix per input.
pub fn numeric_grads(
    f: &mut dyn FnMut(&[DMatrix<f64>]) -> Result<f64>,
    inputs: &[DMatrix<f64>],
    eps: f64,
) -> Result<Vec<DMatrix<f64>>> {
    let mut x: Vec<DMatrix<f64>> = inputs.to_vec();
    let mut grads = Vec::with_capacity(inputs.len());
    for i in 0..x.len() {
        let mut g = DMatrix::zeros(x[i].nrows(), x[i].ncols());
        for k in 0..x[i].len() {
            let orig = x[i][k];
            x[i][k] = orig + eps;
            let up = f(&x)?;
            x[i][k] = orig - eps;
            let down = f(&x)?;
            x[i][k] = orig;
            g[k] = (up - down) / (2.0 * eps);
        }
        grads.push(g);
    }
    Ok(grads)
}
// ANCHOR_END: numeric_grads

/// A fixed pseudo-random matrix that turns a matrix output into the scalar `Σ R ⊙ out`, so that every
/// output entry, with its own weight, takes part in the check.
pub fn projection(rows: usize, cols: usize, seed: u64) -> DMatrix<f64> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    DMatrix::from_fn(rows, cols, |_, _| rng.random_range(-1.0..1.0))
}

/// What a gradient check found: the error of each input's gradient.
#[derive(Clone, Debug)]
pub struct GradReport {
    pub errors: Vec<f64>,
    pub analytic: Vec<DMatrix<f64>>,
    pub numeric: Vec<DMatrix<f64>>,
}

impl GradReport {
    pub fn max_error(&self) -> f64 {
        self.errors.iter().copied().fold(0.0, f64::max)
    }

    /// `Ok` when every input's error is within `tol`, else a message with the worst input and both
    /// gradients, for a test to print.
    pub fn within(&self, tol: f64) -> std::result::Result<(), String> {
        match self
            .errors
            .iter()
            .enumerate()
            .find(|(_, &e)| e.is_nan() || e > tol)
        {
            None => Ok(()),
            Some((i, e)) => Err(format!(
                "gradient of input {i}: error {e:.3e} > tolerance {tol:.0e}\nanalytic: {}\nnumeric: {}",
                self.analytic[i], self.numeric[i]
            )),
        }
    }
}

/// A computation recorded on a tape from some input leaves.
pub type Build<'a> = dyn Fn(&mut Tape<f64>, &[Var]) -> Result<Var> + 'a;

/// Check the tape's gradient of `build` against central differences. `build` records any computation on
/// the given leaves; a non-scalar result is projected to a scalar with [`projection`].
pub fn check(build: &Build, inputs: &[DMatrix<f64>]) -> Result<GradReport> {
    let run = |x: &[DMatrix<f64>]| -> Result<(Tape<f64>, Vec<Var>, Var)> {
        let mut tape = Tape::new();
        let vars: Vec<Var> = x.iter().map(|m| tape.leaf(m.clone())).collect();
        let out = build(&mut tape, &vars)?;
        Ok((tape, vars, out))
    };
    let (tape, vars, out) = run(inputs)?;
    let shape = tape.value(out)?.shape();
    let r = projection(shape.0, shape.1, 0x5eed);
    let grads = tape.backward_with(out, r.clone())?;
    let analytic = vars
        .iter()
        .map(|&v| grads.get_or_zeros(&tape, v))
        .collect::<Result<Vec<_>>>()?;
    let mut f = |x: &[DMatrix<f64>]| -> Result<f64> {
        let (tape, _, out) = run(x)?;
        let y = tape.value(out)?;
        if y.shape() != r.shape() {
            return Err(Error::invalid(
                "gradcheck",
                "the output shape changed under a small perturbation",
            ));
        }
        Ok(y.component_mul(&r).sum())
    };
    let numeric = numeric_grads(&mut f, inputs, DEFAULT_EPS)?;
    let errors = analytic
        .iter()
        .zip(&numeric)
        .map(|(a, n)| grad_error(a, n))
        .collect();
    Ok(GradReport {
        errors,
        analytic,
        numeric,
    })
}
