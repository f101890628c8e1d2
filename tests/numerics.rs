//! The "leaky abstraction" of chapter 2: the textbook formulas for softmax and cross-entropy fail in floating
//! point, and the stable forms the tape uses do not.

use nalgebra::DMatrix;
use zerodl::autograd::ops::softmax_rows;
use zerodl::Tape;

// ANCHOR: naive_forms
/// Softmax straight from its definition, `e^z / Σ e^z`, as a first implementation would write it.
fn naive_softmax(z: &[f32]) -> Vec<f32> {
    let e: Vec<f32> = z.iter().map(|v| v.exp()).collect();
    let s: f32 = e.iter().sum();
    e.iter().map(|v| v / s).collect()
}

#[test]
fn naive_softmax_overflows_where_the_stable_one_does_not() {
    // e^100 overflows f32 (max ≈ 3.4e38 ≈ e^88.7): inf / inf = NaN.
    let z = [100.0f32, 99.0, 98.0];
    assert!(naive_softmax(&z).iter().any(|p| p.is_nan()));
    let p = softmax_rows(&DMatrix::from_row_slice(1, 3, &z));
    let expected = naive_softmax(&[2.0, 1.0, 0.0]); // shifting by the max changes nothing mathematically
    for j in 0..3 {
        assert!((p[(0, j)] - expected[j]).abs() < 1e-6);
    }
}

#[test]
fn log_of_an_underflowed_probability_is_infinite_but_log_sum_exp_is_exact() {
    // The true class has logit -120 against 0: its probability e^-120 ≈ 7.7e-53 underflows f32 to 0.
    let z = [0.0f32, -120.0];
    let p = naive_softmax(&z);
    assert_eq!(p[1], 0.0);
    assert!(
        (-p[1].ln()).is_infinite(),
        "cross-entropy from the probability: -log 0 = inf"
    );

    let mut t = Tape::<f32>::new();
    let zv = t.leaf(DMatrix::from_row_slice(1, 2, &z));
    let l = t.softmax_cross_entropy(zv, &[1]).unwrap();
    let loss = t.scalar(l).unwrap();
    // log Σ e^z - z_1 = log(1 + e^-120) + 120 = 120 to f32 precision.
    assert!((loss - 120.0).abs() < 1e-4, "{loss}");
    let g = t.backward(l).unwrap();
    let dz = g.get(zv).unwrap();
    assert!((dz[(0, 0)] - 1.0).abs() < 1e-6 && (dz[(0, 1)] + 1.0).abs() < 1e-6);
}

#[test]
fn clipping_the_probability_is_the_other_common_fix_and_bounds_the_loss() {
    let p = naive_softmax(&[0.0, -120.0]);
    let eps = 1e-7f32;
    let clipped = -(p[1].max(eps)).ln();
    assert!(
        clipped.is_finite() && (clipped - 16.118).abs() < 1e-3,
        "{clipped}"
    );
}
// ANCHOR_END: naive_forms
