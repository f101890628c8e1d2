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
        let hand = fc::backward(&r, &cache);

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
