//! Batch normalization, proven: for both forms, the hand-derived backward = the composed tape version = the
//! fused tape op = finite differences; the book's published backward is rejected by the same check; and
//! inference is deterministic and independent of what else is in the batch.

mod common;

use common::*;
use nalgebra::DMatrix;
use proptest::prelude::*;
use zerodl::autograd::gradcheck::{
    grad_error, numeric_grads, projection, DEFAULT_EPS, DEFAULT_TOL,
};
use zerodl::by_hand::batch_norm as bn;
use zerodl::nn::batch_norm::{BatchNorm, BnImpl, Form};
use zerodl::Tape;

const EPS: f64 = 1e-5;

/// `(y, dx, dgamma, dbeta)` of the tape's layer for `L = Σ R ⊙ y`.
fn on_tape(
    imp: BnImpl,
    form: Form,
    x: &DMatrix<f64>,
    g: &DMatrix<f64>,
    b: &DMatrix<f64>,
    r: &DMatrix<f64>,
) -> [DMatrix<f64>; 4] {
    let mut t = Tape::<f64>::new();
    let mut layer = BatchNorm::new(&mut t, form, imp);
    layer.eps = EPS;
    *t.param_mut(layer.gamma).unwrap() = g.clone();
    *t.param_mut(layer.beta).unwrap() = b.clone();
    let xv = t.leaf(x.clone());
    let y = layer.forward(&mut t, xv).unwrap();
    let grads = t.backward_with(y, r.clone()).unwrap();
    [
        t.value(y).unwrap().clone(),
        grads.get(xv).unwrap().clone(),
        grads.get(layer.gamma).unwrap().clone(),
        grads.get(layer.beta).unwrap().clone(),
    ]
}

/// Every column's (biased) variance at least `v`. Near zero variance the normalisation's curvature grows like
/// `1/σ³` and a central difference of step 1e-5 stops being accurate (the gradient itself is fine).
fn spread(x: &DMatrix<f64>, v: f64) -> bool {
    x.column_iter().all(|c| {
        let mu = c.mean();
        c.iter().map(|a| (a - mu) * (a - mu)).sum::<f64>() / c.len() as f64 >= v
    })
}

fn fc_case() -> impl Strategy<Value = (DMatrix<f64>, DMatrix<f64>, DMatrix<f64>)> {
    (2..9usize, dim())
        .prop_flat_map(|(m, d)| {
            (
                matrix(m, d, -2.0..2.0),
                matrix(1, d, 0.5..2.0),
                matrix(1, d, -1.0..1.0),
            )
        })
        .prop_filter("spread", |(x, _, _)| spread(x, 0.05))
}

proptest! {
    // ANCHOR: bn_proof
    #[test]
    fn fc_form_by_hand_equals_composed_equals_fused_equals_finite_differences((x, g, b) in fc_case()) {
        let (y, cache, _) = bn::forward(&x, &g, &b, EPS).unwrap();
        let r = projection(y.nrows(), y.ncols(), 9);
        let hand = bn::backward(&r, &cache).unwrap();
        let form = Form::Fc { features: x.ncols() };
        for imp in [BnImpl::Composed, BnImpl::Fused] {
            let [ty, dx, dg, db] = on_tape(imp, form, &x, &g, &b, &r);
            prop_assert!(grad_error(&ty, &y) < 1e-12, "{imp:?} forward");
            prop_assert!(grad_error(&dx, &hand.dx) < DEFAULT_TOL, "{imp:?} dx:\n{dx}\n{}", hand.dx);
            prop_assert!(grad_error(&dg, &hand.dgamma) < DEFAULT_TOL, "{imp:?} dgamma");
            prop_assert!(grad_error(&db, &hand.dbeta) < DEFAULT_TOL, "{imp:?} dbeta");
        }
        let mut f = |v: &[DMatrix<f64>]| bn::forward(&v[0], &v[1], &v[2], EPS).map(|(y, _, _)| y.component_mul(&r).sum());
        let num = numeric_grads(&mut f, &[x, g, b], DEFAULT_EPS).unwrap();
        prop_assert!(grad_error(&hand.dx, &num[0]) < DEFAULT_TOL, "dx vs finite differences");
        prop_assert!(grad_error(&hand.dgamma, &num[1]) < DEFAULT_TOL);
        prop_assert!(grad_error(&hand.dbeta, &num[2]) < DEFAULT_TOL);
    }
    // ANCHOR_END: bn_proof

    #[test]
    fn conv_form_by_hand_equals_composed_equals_fused_equals_finite_differences(
        (c, hw, x, g, b) in (1..4usize, 1..20usize, 1..4usize).prop_flat_map(|(c, hw, n)| {
            (Just(c), Just(hw), matrix(c * hw, n, -2.0..2.0), matrix(1, c, 0.5..2.0), matrix(1, c, -1.0..1.0))
        }).prop_filter("spread within each channel", |(c, _, x, _, _)| spread(&bn::to_rows(x, *c), 0.05))
    ) {
        // By hand: the image layout turned into rows of channels, normalised, and turned back.
        let rows = bn::to_rows(&x, c);
        let (yr, cache, _) = bn::forward(&rows, &g, &b, EPS).unwrap();
        let y = bn::from_rows(&yr, hw);
        let r = projection(y.nrows(), y.ncols(), 4);
        let hand = bn::backward(&bn::to_rows(&r, c), &cache).unwrap();
        let hand_dx = bn::from_rows(&hand.dx, hw);
        // The image-layout pair computes the same sums in another order: equal up to rounding.
        let (yc, cache_c, _) = bn::forward_conv(&x, c, &g, &b, EPS).unwrap();
        prop_assert!(grad_error(&yc, &y) < 1e-12, "forward_conv");
        let conv = bn::backward_conv(&r, &cache_c).unwrap();
        prop_assert!(grad_error(&conv.dx, &hand_dx) < 1e-12, "backward_conv dx");
        prop_assert!(grad_error(&conv.dgamma, &hand.dgamma) < 1e-12, "backward_conv dgamma");
        prop_assert!(grad_error(&conv.dbeta, &hand.dbeta) < 1e-12, "backward_conv dbeta");
        for imp in [BnImpl::Composed, BnImpl::Fused] {
            let [ty, dx, dg, db] = on_tape(imp, Form::Conv { channels: c, hw }, &x, &g, &b, &r);
            prop_assert!(grad_error(&ty, &y) < 1e-12, "{imp:?} forward");
            prop_assert!(grad_error(&dx, &hand_dx) < DEFAULT_TOL, "{imp:?} dx");
            prop_assert!(grad_error(&dg, &hand.dgamma) < DEFAULT_TOL, "{imp:?} dgamma");
            prop_assert!(grad_error(&db, &hand.dbeta) < DEFAULT_TOL, "{imp:?} dbeta");
        }
        let mut f = |v: &[DMatrix<f64>]| {
            bn::forward(&bn::to_rows(&v[0], c), &v[1], &v[2], EPS).map(|(y, _, _)| bn::from_rows(&y, hw).component_mul(&r).sum())
        };
        let num = numeric_grads(&mut f, &[x, g, b], DEFAULT_EPS).unwrap();
        prop_assert!(grad_error(&hand_dx, &num[0]) < DEFAULT_TOL, "dx vs finite differences");
        prop_assert!(grad_error(&hand.dgamma, &num[1]) < DEFAULT_TOL);
    }
}

// ANCHOR: book_variant
/// The backward of the book's published code: its last term carries an extra `1/√(σ² + ε)`.
fn book_variant_dx(
    dy: &DMatrix<f64>,
    x: &DMatrix<f64>,
    gamma: &DMatrix<f64>,
    eps: f64,
) -> DMatrix<f64> {
    let (m, d) = x.shape();
    let mf = m as f64;
    DMatrix::from_fn(m, d, |i, j| {
        let col = x.column(j);
        let mu = col.sum() / mf;
        let var = col.iter().map(|v| (v - mu) * (v - mu)).sum::<f64>() / mf;
        let s = 1.0 / (var + eps).sqrt();
        let xh = |k: usize| (x[(k, j)] - mu) * s;
        let sum_dy: f64 = (0..m).map(|k| dy[(k, j)]).sum();
        let sum_dy_xh: f64 = (0..m).map(|k| dy[(k, j)] * xh(k)).sum();
        gamma[(0, j)] * s / mf * (mf * dy[(i, j)] - sum_dy - xh(i) * sum_dy_xh * s)
    })
}

/// The finite-difference check that accepts our backward rejects the book's, with an error far above the
/// tolerance whenever the variance is not 1.
#[test]
fn the_finite_difference_check_rejects_the_books_backward() {
    let x = DMatrix::from_row_slice(4, 2, &[0.5, 3.0, -1.0, 1.0, 2.0, -2.0, 0.0, 4.0]);
    let gamma = DMatrix::from_row_slice(1, 2, &[1.5, 0.7]);
    let beta = DMatrix::zeros(1, 2);
    let dy = projection(4, 2, 2);
    let mut f = |v: &[DMatrix<f64>]| {
        bn::forward(&v[0], &gamma, &beta, EPS).map(|(y, _, _)| y.component_mul(&dy).sum())
    };
    let num = numeric_grads(&mut f, std::slice::from_ref(&x), DEFAULT_EPS).unwrap();
    let (_, cache, _) = bn::forward(&x, &gamma, &beta, EPS).unwrap();
    let ours = bn::backward(&dy, &cache).unwrap().dx;
    let theirs = book_variant_dx(&dy, &x, &gamma, EPS);
    assert!(grad_error(&ours, &num[0]) < DEFAULT_TOL);
    let e = grad_error(&theirs, &num[0]);
    assert!(e > 1e-2, "the book's variant should be rejected, error {e}");
}
// ANCHOR_END: book_variant

/// Inference uses the running statistics: an example's output is the same alone or in any batch, the same
/// on every call, and a single row (2-D input of one example) works.
#[test]
fn inference_is_deterministic_and_independent_of_the_batch() {
    let mut t = Tape::<f64>::new();
    let layer = BatchNorm::new(&mut t, Form::Fc { features: 3 }, BnImpl::Fused);
    let mut rng = zerodl::rng::seeded(3);
    use rand::Rng;
    for _ in 0..20 {
        t.reset();
        let x = t.constant(DMatrix::from_fn(8, 3, |_, j| {
            rng.random_range(-1.0..1.0) * (j + 1) as f64 + j as f64
        }));
        layer.forward(&mut t, x).unwrap();
    }
    layer.set_training(false);
    let batch = DMatrix::from_fn(5, 3, |i, j| (i * 3 + j) as f64 * 0.3 - 2.0);
    t.reset();
    let xb = t.constant(batch.clone());
    let yv = layer.forward(&mut t, xb).unwrap();
    let yb = t.value(yv).unwrap().clone();
    for i in 0..5 {
        t.reset();
        let xi = t.constant(batch.rows(i, 1).into_owned());
        let yv = layer.forward(&mut t, xi).unwrap();
        let yi = t.value(yv).unwrap().clone();
        assert_eq!(yi, yb.rows(i, 1).into_owned(), "row {i}");
    }
}

/// The running variance is the unbiased estimate over the N·H·W values of each channel (not over N).
#[test]
fn the_running_variance_is_unbiased_over_all_values_of_a_channel() {
    for imp in [BnImpl::Composed, BnImpl::Fused] {
        let mut t = Tape::<f64>::new();
        let layer = BatchNorm::new(&mut t, Form::Conv { channels: 2, hw: 4 }, imp);
        let x = DMatrix::from_fn(8, 3, |r, n| (r * 3 + n * 7 % 5) as f64 * 0.25);
        let xv = t.constant(x.clone());
        layer.forward(&mut t, xv).unwrap();
        let rows = bn::to_rows(&x, 2); // 12 x 2: m = N·H·W = 12 values per channel
        for c in 0..2 {
            let col = rows.column(c);
            let mu = col.mean();
            let var = col.iter().map(|v| (v - mu) * (v - mu)).sum::<f64>() / 12.0;
            let (rm, rv) = layer.running();
            assert!((rm[c] - 0.05 * mu).abs() < 1e-12, "{imp:?}");
            assert!(
                (rv[c] - (0.95 + 0.05 * var * 12.0 / 11.0)).abs() < 1e-12,
                "{imp:?}"
            );
        }
    }
}

/// The chapter 6 network end to end: in training mode a few Adam steps on one batch lower its loss, and in
/// inference mode a single image gets the same logits alone as inside a batch.
#[test]
fn the_cnn_with_batch_norm_trains_and_infers_per_example() {
    use zerodl::nn::cnn::Cnn;
    use zerodl::nn::conv2d::Impl;
    use zerodl::nn::{Classifier, Module};
    use zerodl::optim::{Adam, Optimizer};
    let mut rng = zerodl::rng::seeded(2);
    let mut t = Tape::<f32>::new();
    let net = Cnn::book_bn(&mut t, Impl::Fast, BnImpl::Fused, &mut rng).unwrap();
    let x = DMatrix::from_fn(4, 784, |i, p| ((i * 31 + p * 7) % 17) as f32 / 17.0);
    let labels = [3, 1, 4, 1];
    let mut opt = Adam::new(1e-3);
    let mut losses = Vec::new();
    for _ in 0..5 {
        t.reset();
        net.set_training(true);
        let xv = t.constant(x.clone());
        let z = net.logits(&mut t, xv).unwrap();
        let l = t.softmax_cross_entropy(z, &labels).unwrap();
        losses.push(t.scalar(l).unwrap());
        let mut g = t.backward(l).unwrap();
        opt.step(&mut t, &mut g, &net.params()).unwrap();
    }
    assert!(losses[4] < losses[0], "{losses:?}");
    net.set_training(false);
    t.reset();
    let xv = t.constant(x.clone());
    let z = net.logits(&mut t, xv).unwrap();
    let batch = t.value(z).unwrap().clone();
    t.reset();
    let one = t.constant(x.rows(2, 1).into_owned());
    let z1 = net.logits(&mut t, one).unwrap();
    let alone = t.value(z1).unwrap().clone();
    for j in 0..10 {
        assert!(
            (alone[(0, j)] - batch[(2, j)]).abs() < 1e-4,
            "{alone} vs {}",
            batch.row(2)
        );
    }
}
