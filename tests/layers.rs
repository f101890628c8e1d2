//! Every layer exists twice, composed from tape ops and derived by hand; on random shapes and values the two
//! agree with each other and with finite differences.

mod common;

use common::*;
use nalgebra::DMatrix;
use proptest::prelude::*;
use zerodl::autograd::gradcheck::{
    grad_error, numeric_grads, projection, DEFAULT_EPS, DEFAULT_TOL,
};
use zerodl::by_hand::fc;
use zerodl::nn::Linear;
use zerodl::Tape;

/// Agreement of forward values, which should be equal up to the order of floating-point additions.
const FORWARD_TOL: f64 = 1e-12;

proptest! {
    // ANCHOR: fc_proof
    #[test]
    fn fc_by_hand_equals_autograd_equals_finite_differences(
        (x, w, b) in (dim(), dim(), dim()).prop_flat_map(|(n, d, m)| (matrix(n, d, -2.0..2.0), matrix(d, m, -2.0..2.0), matrix(1, m, -2.0..2.0)))
    ) {
        // By hand.
        let (y, cache) = fc::forward(&x, &w, &b).unwrap();
        let r = projection(y.nrows(), y.ncols(), 11); // L = Σ R ⊙ Y, so dL/dY = R
        let hand = fc::backward(&r, &cache).unwrap();

        // Autograd, through the layer users build models from.
        let mut t = Tape::<f64>::new();
        let layer = Linear { w: t.param(w.clone()), b: t.param(b.clone()) };
        let xv = t.leaf(x.clone());
        let yv = layer.forward(&mut t, xv).unwrap();
        prop_assert!(grad_error(t.value(yv).unwrap(), &y) < FORWARD_TOL);
        let g = t.backward_with(yv, r.clone()).unwrap();

        // Finite differences of the hand-derived forward.
        let mut f = |v: &[DMatrix<f64>]| fc::forward(&v[0], &v[1], &v[2]).map(|(y, _)| y.component_mul(&r).sum());
        let num = numeric_grads(&mut f, &[x, w.clone(), b.clone()], DEFAULT_EPS).unwrap();

        for (name, h, a, n) in [
            ("dx", &hand.dx, g.get(xv).unwrap(), &num[0]),
            ("dw", &hand.dw, g.get(layer.w).unwrap(), &num[1]),
            ("db", &hand.db, g.get(layer.b).unwrap(), &num[2]),
        ] {
            prop_assert!(grad_error(h, a) < DEFAULT_TOL, "{name}: by hand {h} vs autograd {a}");
            prop_assert!(grad_error(h, n) < DEFAULT_TOL, "{name}: by hand {h} vs numeric {n}");
        }
    }
    // ANCHOR_END: fc_proof
}

#[test]
fn fc_rejects_mismatched_shapes_with_all_three_named() {
    let e = fc::forward(
        &DMatrix::<f64>::zeros(4, 3),
        &DMatrix::zeros(2, 5),
        &DMatrix::zeros(1, 5),
    )
    .err()
    .unwrap();
    assert_eq!(
        e.to_string(),
        "fc: operand shapes [4x3, 2x5, 1x5] do not fit: expected X: N x D, W: D x M, b: 1 x M"
    );
}

proptest! {
    // ANCHOR: softmax_ce_proof
    #[test]
    fn softmax_ce_by_hand_equals_autograd_equals_finite_differences(
        (z, labels) in (dim(), 2..11usize).prop_flat_map(|(n, k)| (matrix(n, k, -6.0..6.0), proptest::collection::vec(0..k, n)))
    ) {
        use zerodl::by_hand::softmax_ce;
        let (loss, cache) = softmax_ce::forward(&z, &labels).unwrap();
        let hand = softmax_ce::backward(&cache);
        let mut t = Tape::<f64>::new();
        let zv = t.leaf(z.clone());
        let l = t.softmax_cross_entropy(zv, &labels).unwrap();
        prop_assert!((t.scalar(l).unwrap() - loss).abs() < FORWARD_TOL);
        let g = t.backward(l).unwrap();
        let mut f = |v: &[DMatrix<f64>]| softmax_ce::forward(&v[0], &labels).map(|(l, _)| l);
        let num = numeric_grads(&mut f, &[z], DEFAULT_EPS).unwrap();
        prop_assert!(grad_error(&hand, g.get(zv).unwrap()) < DEFAULT_TOL, "by hand {hand} vs autograd {}", g.get(zv).unwrap());
        prop_assert!(grad_error(&hand, &num[0]) < DEFAULT_TOL, "by hand {hand} vs numeric {}", num[0]);
    }
    // ANCHOR_END: softmax_ce_proof

    // ANCHOR: activations_proof
    #[test]
    fn activations_by_hand_equal_autograd_equal_finite_differences(
        z in (dim(), dim()).prop_flat_map(|(r, c)| away_from_zero(r, c)),
        alpha in 0.01..0.5f64,
    ) {
        use zerodl::by_hand::activation::{backward, forward, Kind};
        let r = projection(z.nrows(), z.ncols(), 3);
        for kind in [Kind::Sigmoid, Kind::Tanh, Kind::Relu, Kind::LeakyRelu(alpha)] {
            let (a, cache) = forward(kind, &z);
            let hand = backward(kind, &r, &cache).unwrap();
            let mut t = Tape::<f64>::new();
            let zv = t.leaf(z.clone());
            let av = match kind {
                Kind::Sigmoid => t.sigmoid(zv),
                Kind::Tanh => t.tanh(zv),
                Kind::Relu => t.relu(zv),
                Kind::LeakyRelu(a) => t.leaky_relu(zv, a),
            }
            .unwrap();
            prop_assert!(grad_error(t.value(av).unwrap(), &a) < FORWARD_TOL);
            let g = t.backward_with(av, r.clone()).unwrap();
            let mut f = |v: &[DMatrix<f64>]| Ok(forward(kind, &v[0]).0.component_mul(&r).sum());
            let num = numeric_grads(&mut f, std::slice::from_ref(&z), DEFAULT_EPS).unwrap();
            prop_assert!(grad_error(&hand, g.get(zv).unwrap()) < DEFAULT_TOL, "{kind:?}: by hand vs autograd");
            prop_assert!(grad_error(&hand, &num[0]) < DEFAULT_TOL, "{kind:?}: by hand vs numeric");
        }
    }
    // ANCHOR_END: activations_proof
}
