//! Dropout, proven as every layer is: with a fixed mask, by-hand = composed = fused = finite differences, alone
//! and on top of an LSTM stack; the book's backward (without `1/keep`) fails the same check; masks keep the
//! expected share, per sample or shared by the batch; inference is the identity.

mod common;

use common::*;
use nalgebra::DMatrix;
use proptest::prelude::*;
use zerodl::autograd::gradcheck::{
    grad_error, numeric_grads, projection, DEFAULT_EPS, DEFAULT_TOL,
};
use zerodl::by_hand::dropout as hand;
use zerodl::by_hand::recurrent::{self as rec, Merge, StackSpec};
use zerodl::nn::dropout::{Dropout, DropoutImpl};
use zerodl::nn::lstm::{Lstm, LstmInit};
use zerodl::nn::recurrent::RecImpl;
use zerodl::nn::Module;
use zerodl::rng::seeded;
use zerodl::Tape;

fn case() -> impl Strategy<Value = (DMatrix<f64>, DMatrix<f64>, f64, u64)> {
    (1..=6usize, 1..=8usize, 0.1..1.0f64, any::<u64>()).prop_flat_map(|(n, f, keep, seed)| {
        let mask = hand::mask::<f64>(n, f, keep, false, &mut seeded(seed));
        (matrix(n, f, -2.0..2.0), Just(mask), Just(keep), Just(seed))
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    // ANCHOR: dropout_proof
    #[test]
    fn by_hand_equals_composed_equals_fused_equals_finite_differences((x, mask, keep, seed) in case()) {
        let y = hand::forward(&x, &mask, keep).unwrap();
        let r = projection(x.nrows(), x.ncols(), seed);
        let dx = hand::backward(&r, &mask, keep).unwrap();
        for imp in [DropoutImpl::Composed, DropoutImpl::Fused] {
            let mut t = Tape::<f64>::new();
            let mut layer = Dropout::new(keep, false, 1).unwrap();
            layer.imp = imp;
            let xv = t.leaf(x.clone());
            let yv = layer.forward_with_mask(&mut t, xv, mask.clone()).unwrap();
            prop_assert!(grad_error(t.value(yv).unwrap(), &y) < 1e-15);
            let g = t.backward_with(yv, r.clone()).unwrap();
            prop_assert!(grad_error(g.get(xv).unwrap(), &dx) < 1e-15, "{:?}", imp);
        }
        let mut f = |v: &[DMatrix<f64>]| hand::forward(&v[0], &mask, keep).map(|y| y.component_mul(&r).sum());
        let num = numeric_grads(&mut f, std::slice::from_ref(&x), DEFAULT_EPS).unwrap();
        prop_assert!(grad_error(&dx, &num[0]) < DEFAULT_TOL);
    }

    #[test]
    fn the_books_backward_without_one_over_keep_fails_the_same_check((x, mask, keep, seed) in case()) {
        // Only masks that keep something and keeps below 1 can show the missing factor.
        prop_assume!(mask.iter().any(|&m| m == 1.0) && keep < 0.95);
        let r = projection(x.nrows(), x.ncols(), seed);
        let book = hand::backward_book(&r, &mask).unwrap();
        let mut f = |v: &[DMatrix<f64>]| hand::forward(&v[0], &mask, keep).map(|y| y.component_mul(&r).sum());
        let num = numeric_grads(&mut f, std::slice::from_ref(&x), DEFAULT_EPS).unwrap();
        prop_assert!(grad_error(&book, &num[0]) > 100.0 * DEFAULT_TOL, "the book's backward passed");
    }
    // ANCHOR_END: dropout_proof

    #[test]
    fn on_top_of_an_lstm_stack_by_hand_equals_the_tape_and_finite_differences(
        (steps, n, d, h, layers, bidirectional, seed) in (1..=6usize, 1..=3usize, 1..=3usize, 1..=3usize, 1..=2usize, any::<bool>(), any::<u64>())
    ) {
        let spec = StackSpec { input: d, hidden: h, layers, bidirectional, merge: Merge::PerLayer };
        let init = LstmInit::Uniform { a: 0.7, forget_bias: 0.0 };
        let x = projection(n, steps * d, seed ^ 7);
        let mask = hand::mask::<f64>(n, steps * spec.output(), 0.6, false, &mut seeded(seed));
        let mut t = Tape::<f64>::new();
        let lstm = Lstm::lstm(&mut t, spec, init, RecImpl::Fused, &mut seeded(seed)).unwrap();
        let cells = lstm.values(&t).unwrap();
        let (out, cache) = rec::stack_forward(&spec, &cells, &x, None).unwrap();
        let y = hand::forward(&out, &mask, 0.6).unwrap();
        let r = projection(y.nrows(), y.ncols(), seed ^ 1);
        let dout = hand::backward(&r, &mask, 0.6).unwrap();
        let g = rec::stack_backward(&spec, &cells, &cache, &dout).unwrap();

        let drop = Dropout::new(0.6, false, 1).unwrap();
        let xv = t.leaf(x.clone());
        let o = lstm.forward(&mut t, xv).unwrap();
        let yv = drop.forward_with_mask(&mut t, o, mask.clone()).unwrap();
        prop_assert!(grad_error(t.value(yv).unwrap(), &y) < 1e-12);
        let gr = t.backward_with(yv, r.clone()).unwrap();
        prop_assert!(grad_error(gr.get(xv).unwrap(), &g.dx) < DEFAULT_TOL);
        let wx = lstm.params()[0];
        prop_assert!(grad_error(gr.get(wx).unwrap(), &g.cells[0][0].wx) < DEFAULT_TOL);

        let mut f = |v: &[DMatrix<f64>]| {
            let (o, _) = rec::stack_forward(&spec, &cells, &v[0], None)?;
            hand::forward(&o, &mask, 0.6).map(|y| y.component_mul(&r).sum())
        };
        let num = numeric_grads(&mut f, std::slice::from_ref(&x), DEFAULT_EPS).unwrap();
        prop_assert!(grad_error(&g.dx, &num[0]) < DEFAULT_TOL);
    }
}

#[test]
fn masks_keep_the_expected_share_per_sample_or_shared() {
    let m = hand::mask::<f64>(200, 500, 0.8, false, &mut seeded(3));
    let share = m.sum() / m.len() as f64;
    // 100,000 Bernoulli(0.8) draws: the standard deviation of the share is about 0.0013.
    assert!((share - 0.8).abs() < 0.01, "{share}");
    assert_ne!(m.row(0), m.row(1), "each sample gets its own mask");
    let s = hand::mask::<f64>(50, 400, 0.5, true, &mut seeded(3));
    assert!(
        (0..50).all(|i| s.row(i) == s.row(0)),
        "the book's variant shares one mask"
    );
    assert!((s.row(0).sum() / 400.0 - 0.5).abs() < 0.1);
}

#[test]
fn training_scales_to_keep_the_mean_and_inference_is_the_identity() {
    let mut t = Tape::<f64>::new();
    let layer = Dropout::new(0.5, false, 9).unwrap();
    let x = t.constant(DMatrix::from_element(100, 100, 1.0));
    let y = layer.forward(&mut t, x).unwrap();
    let mean = t.value(y).unwrap().mean();
    assert!((mean - 1.0).abs() < 0.05, "{mean}");
    assert!(t.value(y).unwrap().iter().all(|&v| v == 0.0 || v == 2.0));
    layer.set_training(false);
    let z = layer.forward(&mut t, x).unwrap();
    assert_eq!(z, x);
    // A fresh mask each step, from the layer's own seeded generator.
    layer.set_training(true);
    let (a, b) = (
        layer.forward(&mut t, x).unwrap(),
        layer.forward(&mut t, x).unwrap(),
    );
    let (a, b) = (t.value(a).unwrap(), t.value(b).unwrap());
    assert_ne!(a, b);
}

#[test]
fn a_keep_outside_zero_to_one_is_refused() {
    for keep in [0.0, -0.5, 1.5, f64::NAN] {
        let e = Dropout::new(keep, false, 1).unwrap_err();
        assert!(e.to_string().contains("dropout"), "{e}");
    }
}
