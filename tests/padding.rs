//! Padding does not leak: a padded batch run with its lengths gives each row exactly what the row alone gives
//! (the states a head reads: the forward direction's last step and the reverse direction's first), and the
//! parameter gradients are the sum of the rows' own, while the padded inputs, filled with noise, get no
//! gradient at all. For the GRU (both forms) and the LSTM, composed and fused, one or two layers.

mod common;

use common::*;
use nalgebra::DMatrix;
use proptest::prelude::*;
use zerodl::autograd::gradcheck::{grad_error, projection, DEFAULT_TOL};
use zerodl::by_hand::gru::Reset;
use zerodl::by_hand::recurrent::{Merge, StackSpec};
use zerodl::nn::gru::{Gru, GruInit};
use zerodl::nn::lstm::{Lstm, LstmInit};
use zerodl::nn::recurrent::{RecImpl, Stack, TapeCell};
use zerodl::nn::Module;
use zerodl::rng::seeded;
use zerodl::{Tape, Var};

/// `[h_forward at the last step | h_reverse at the first]`, `N x 2H`, from a bidirectional stack's output.
fn heads(tape: &mut Tape<f64>, out: Var, steps: usize, h: usize) -> Var {
    let fwd = tape.slice_cols(out, (steps - 1) * 2 * h, h).unwrap();
    let rev = tape.slice_cols(out, h, h).unwrap();
    tape.concat_cols(&[fwd, rev]).unwrap()
}

/// The heads and the gradients (inputs, then every parameter) for `L = Σ R ⊙ heads`.
fn run<C: TapeCell>(
    make: &dyn Fn(&mut Tape<f64>) -> Stack<C>,
    x: &DMatrix<f64>,
    lengths: Option<&[usize]>,
    r: &DMatrix<f64>,
    h: usize,
) -> (DMatrix<f64>, DMatrix<f64>, Vec<DMatrix<f64>>) {
    let mut t = Tape::<f64>::new();
    let stack = make(&mut t);
    let xv = t.leaf(x.clone());
    let out = stack.forward_masked(&mut t, xv, None, lengths).unwrap();
    let steps = x.ncols() / stack.spec.input;
    let y = heads(&mut t, out, steps, h);
    let g = t.backward_with(y, r.clone()).unwrap();
    let params = stack
        .params()
        .iter()
        .map(|&p| g.get_or_zeros(&t, p).unwrap())
        .collect();
    (
        t.value(y).unwrap().clone(),
        g.get(xv).unwrap().clone(),
        params,
    )
}

fn check<C: TapeCell>(
    make: &dyn Fn(&mut Tape<f64>) -> Stack<C>,
    x: &DMatrix<f64>,
    lengths: &[usize],
    d: usize,
    h: usize,
    seed: u64,
) -> Result<(), TestCaseError> {
    let n = x.nrows();
    let r = projection(n, 2 * h, seed);
    let (y, dx, dp) = run(make, x, Some(lengths), &r, h);
    let mut sum: Option<Vec<DMatrix<f64>>> = None;
    for (i, &len) in lengths.iter().enumerate() {
        let xi = x.view((i, 0), (1, len * d)).into_owned();
        let ri = r.rows(i, 1).into_owned();
        let (yi, dxi, dpi) = run(make, &xi, None, &ri, h);
        prop_assert!(
            grad_error(&y.rows(i, 1).into_owned(), &yi) < 1e-12,
            "row {} heads",
            i
        );
        prop_assert!(grad_error(&dx.view((i, 0), (1, len * d)).into_owned(), &dxi) < DEFAULT_TOL);
        // Nothing reaches the padding.
        prop_assert!(dx
            .view((i, len * d), (1, x.ncols() - len * d))
            .iter()
            .all(|&v| v == 0.0));
        sum = Some(match sum {
            None => dpi,
            Some(s) => s.into_iter().zip(dpi).map(|(a, b)| a + b).collect(),
        });
    }
    for (k, (a, b)) in dp.iter().zip(&sum.unwrap()).enumerate() {
        prop_assert!(grad_error(a, b) < DEFAULT_TOL, "parameter {} gradient", k);
    }
    Ok(())
}

fn case() -> impl Strategy<Value = (DMatrix<f64>, Vec<usize>, usize, usize, usize, u64, bool)> {
    (
        1..=4usize,
        1..=8usize,
        1..=3usize,
        1..=3usize,
        1..=2usize,
        any::<u64>(),
        any::<bool>(),
    )
        .prop_flat_map(|(n, steps, d, h, layers, seed, composed)| {
            (
                // The padding is noise: if any of it leaked, the rows would differ from their own runs.
                matrix(n, steps * d, -1.5..1.5),
                proptest::collection::vec(1..=steps, n),
                Just(d),
                Just(h),
                Just(layers),
                Just(seed),
                Just(composed),
            )
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn a_padded_batch_equals_its_rows_one_by_one((x, lengths, d, h, layers, seed, composed) in case()) {
        let spec = StackSpec { input: d, hidden: h, layers, bidirectional: true, merge: Merge::PerLayer };
        let imp = if composed { RecImpl::Composed } else { RecImpl::Fused };
        for reset in [Reset::Before, Reset::After] {
            let make = |t: &mut Tape<f64>| {
                Gru::gru(t, spec, reset, GruInit::Uniform { a: 0.7 }, imp, &mut seeded(seed)).unwrap()
            };
            check(&make, &x, &lengths, d, h, seed)?;
        }
        let make = |t: &mut Tape<f64>| {
            let init = LstmInit::Uniform { a: 0.7, forget_bias: 1.0 };
            Lstm::lstm(t, spec, init, imp, &mut seeded(seed)).unwrap()
        };
        check(&make, &x, &lengths, d, h, seed)?;
    }
}

#[test]
fn lengths_that_do_not_fit_are_errors() {
    let spec = StackSpec {
        input: 1,
        hidden: 2,
        layers: 1,
        bidirectional: false,
        merge: Merge::PerLayer,
    };
    let mut t = Tape::<f64>::new();
    let gru = Gru::gru(
        &mut t,
        spec,
        Reset::Before,
        GruInit::Orthogonal,
        RecImpl::Fused,
        &mut seeded(1),
    )
    .unwrap();
    let x = t.constant(DMatrix::zeros(2, 3));
    for bad in [vec![1], vec![0, 2], vec![2, 4]] {
        let e = gru.forward_masked(&mut t, x, None, Some(&bad)).unwrap_err();
        assert!(e.to_string().contains("lengths"), "{e}");
    }
}
