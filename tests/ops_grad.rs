//! Every op's gradient, proven: on random shapes (1..=8 per dimension) and values, the tape's backward
//! equals central finite differences in f64 (tolerance and error measure: `autograd::gradcheck`).

mod common;

use common::*;
use nalgebra::DMatrix;
use proptest::prelude::*;

proptest! {
    // ANCHOR: matmul_property
    #[test]
    fn matmul((a, b) in (dim(), dim(), dim()).prop_flat_map(|(n, k, m)| (matrix(n, k, -2.0..2.0), matrix(k, m, -2.0..2.0)))) {
        assert_grads(|t, x| t.matmul(x[0], x[1]), vec![a, b])?;
    }
    // ANCHOR_END: matmul_property

    #[test]
    fn add_sub_mul_same_shape((a, b) in (dim(), dim()).prop_flat_map(|(r, c)| (matrix(r, c, -2.0..2.0), matrix(r, c, -2.0..2.0)))) {
        assert_grads(|t, x| t.add(x[0], x[1]), vec![a.clone(), b.clone()])?;
        assert_grads(|t, x| t.sub(x[0], x[1]), vec![a.clone(), b.clone()])?;
        assert_grads(|t, x| t.mul(x[0], x[1]), vec![a, b])?;
    }

    #[test]
    fn div_same_shape((a, b) in (dim(), dim()).prop_flat_map(|(r, c)| (matrix(r, c, -2.0..2.0), matrix(r, c, 0.5..3.0)))) {
        assert_grads(|t, x| t.div(x[0], x[1]), vec![a, b])?;
    }

    #[test]
    fn binary_ops_broadcast_a_row((a, b) in (dim(), dim()).prop_flat_map(|(r, c)| (matrix(r, c, -2.0..2.0), matrix(1, c, 0.5..3.0)))) {
        assert_grads(|t, x| t.add(x[0], x[1]), vec![a.clone(), b.clone()])?;
        assert_grads(|t, x| t.sub(x[0], x[1]), vec![a.clone(), b.clone()])?;
        assert_grads(|t, x| t.mul(x[0], x[1]), vec![a.clone(), b.clone()])?;
        assert_grads(|t, x| t.div(x[0], x[1]), vec![a, b])?;
    }

    #[test]
    fn scale_add_scalar_neg(a in any_matrix(-2.0..2.0), s in -3.0..3.0f64) {
        assert_grads(|t, x| t.scale(x[0], s), vec![a.clone()])?;
        assert_grads(|t, x| t.add_scalar(x[0], s), vec![a.clone()])?;
        assert_grads(|t, x| t.neg(x[0]), vec![a])?;
    }

    #[test]
    fn exp_tanh_sigmoid(a in any_matrix(-3.0..3.0)) {
        assert_grads(|t, x| t.exp(x[0]), vec![a.clone()])?;
        assert_grads(|t, x| t.tanh(x[0]), vec![a.clone()])?;
        assert_grads(|t, x| t.sigmoid(x[0]), vec![a])?;
    }

    #[test]
    fn log_sqrt_pow_on_positives(a in any_matrix(0.2..4.0), p in -2.5..3.5f64) {
        assert_grads(|t, x| t.log(x[0]), vec![a.clone()])?;
        assert_grads(|t, x| t.sqrt(x[0]), vec![a.clone()])?;
        assert_grads(|t, x| t.pow(x[0], p), vec![a])?;
    }

    #[test]
    fn integer_pow_of_any_sign(a in any_matrix(-2.0..2.0), p in 0..4i32) {
        assert_grads(|t, x| t.pow(x[0], p as f64), vec![a])?;
    }

    #[test]
    fn relu_and_leaky_relu(a in (dim(), dim()).prop_flat_map(|(r, c)| away_from_zero(r, c)), alpha in 0.01..0.3f64) {
        assert_grads(|t, x| t.relu(x[0]), vec![a.clone()])?;
        assert_grads(|t, x| t.leaky_relu(x[0], alpha), vec![a])?;
    }

    #[test]
    fn sums_and_means(a in any_matrix(-2.0..2.0)) {
        assert_grads(|t, x| t.sum(x[0]), vec![a.clone()])?;
        assert_grads(|t, x| t.mean(x[0]), vec![a.clone()])?;
        assert_grads(|t, x| t.sum_rows(x[0]), vec![a.clone()])?;
        assert_grads(|t, x| t.mean_rows(x[0]), vec![a.clone()])?;
        assert_grads(|t, x| t.sum_cols(x[0]), vec![a.clone()])?;
        assert_grads(|t, x| t.mean_cols(x[0]), vec![a])?;
    }

    #[test]
    fn transpose_and_reshape((a, split) in any_matrix(-2.0..2.0).prop_flat_map(|a| {
        let n = a.len();
        let divisors: Vec<usize> = (1..=n).filter(|d| n % d == 0).collect();
        (Just(a), proptest::sample::select(divisors))
    })) {
        assert_grads(|t, x| t.transpose(x[0]), vec![a.clone()])?;
        let (r, c) = (split, a.len() / split);
        assert_grads(move |t, x| t.reshape(x[0], r, c), vec![a])?;
    }

    #[test]
    fn slices((a, r0, rl, c0, cl) in any_matrix(-2.0..2.0).prop_flat_map(|a| {
        let (r, c) = a.shape();
        (Just(a), 0..r, 0..c).prop_flat_map(move |(a, r0, c0)| (Just(a), Just(r0), 1..=r - r0, Just(c0), 1..=c - c0))
    })) {
        assert_grads(|t, x| t.slice_rows(x[0], r0, rl), vec![a.clone()])?;
        assert_grads(|t, x| t.slice_cols(x[0], c0, cl), vec![a])?;
    }

    #[test]
    fn concatenations((a, b, c) in (dim(), dim(), dim(), dim()).prop_flat_map(|(r, c1, c2, c3)| (matrix(r, c1, -2.0..2.0), matrix(r, c2, -2.0..2.0), matrix(r, c3, -2.0..2.0)))) {
        assert_grads(|t, x| t.concat_cols(&[x[0], x[1], x[2]]), vec![a.clone(), b.clone(), c.clone()])?;
        let (at, bt, ct) = (a.transpose(), b.transpose(), c.transpose());
        assert_grads(|t, x| t.concat_rows(&[x[0], x[1], x[2]]), vec![at, bt, ct])?;
    }

    #[test]
    fn softmax(a in any_matrix(-4.0..4.0)) {
        assert_grads(|t, x| t.softmax(x[0]), vec![a])?;
    }

    #[test]
    fn softmax_cross_entropy((z, labels) in (dim(), 2..9usize).prop_flat_map(|(n, k)| (matrix(n, k, -5.0..5.0), proptest::collection::vec(0..k, n)))) {
        assert_grads(|t, x| t.softmax_cross_entropy(x[0], &labels), vec![z])?;
    }

    #[test]
    fn mse((p, y) in (dim(), dim()).prop_flat_map(|(r, c)| (matrix(r, c, -2.0..2.0), matrix(r, c, -2.0..2.0)))) {
        assert_grads(|t, x| t.mse(x[0], x[1]), vec![p, y])?;
    }
}

// ANCHOR: wrong_gradient
/// The checker itself must reject a wrong derivative: a tape op whose backward is off by a factor is caught.
#[test]
fn the_checker_rejects_a_wrong_gradient() {
    use zerodl::autograd::Op;
    struct WrongSquare;
    impl Op<f64> for WrongSquare {
        fn name(&self) -> &'static str {
            "wrong_square"
        }
        // d(x²)/dx is 2x; this says x.
        fn backward(
            &self,
            x: &[&DMatrix<f64>],
            _y: &DMatrix<f64>,
            g: &DMatrix<f64>,
            _n: &[bool],
        ) -> Vec<Option<DMatrix<f64>>> {
            vec![Some(g.component_mul(x[0]))]
        }
    }
    let x = DMatrix::from_row_slice(2, 2, &[0.5, -1.0, 1.5, 2.0]);
    let report = zerodl::autograd::gradcheck::check(
        &|t, v| {
            let y = t.value(v[0])?.map(|a| a * a);
            t.record(y, &[v[0]], WrongSquare)
        },
        &[x],
    )
    .unwrap();
    assert!(report
        .within(zerodl::autograd::gradcheck::DEFAULT_TOL)
        .is_err());
    assert!(report.max_error() > 0.1, "error {}", report.max_error());
}
// ANCHOR_END: wrong_gradient

/// A derivative only 1% off is caught too: the error measure is then about 1e-2 on entries of size 1, four
/// orders of magnitude above the tolerance.
#[test]
fn a_derivative_one_percent_off_is_caught() {
    use zerodl::autograd::Op;
    struct AlmostSquare;
    impl Op<f64> for AlmostSquare {
        fn name(&self) -> &'static str {
            "almost_square"
        }
        fn backward(
            &self,
            x: &[&DMatrix<f64>],
            _y: &DMatrix<f64>,
            g: &DMatrix<f64>,
            _n: &[bool],
        ) -> Vec<Option<DMatrix<f64>>> {
            vec![Some(g.component_mul(x[0]) * 2.02)]
        }
    }
    let x = DMatrix::from_row_slice(2, 2, &[0.5, -1.0, 1.5, 2.0]);
    let report = zerodl::autograd::gradcheck::check(
        &|t, v| {
            let y = t.value(v[0])?.map(|a| a * a);
            t.record(y, &[v[0]], AlmostSquare)
        },
        &[x],
    )
    .unwrap();
    assert!(report
        .within(zerodl::autograd::gradcheck::DEFAULT_TOL)
        .is_err());
    assert!(report.max_error() > 1e-3, "error {}", report.max_error());
}

proptest! {
    /// Gather with a random index map (repeats and zeros included): autograd's scatter-add backward equals
    /// finite differences.
    #[test]
    fn gather((a, index, rows, cols) in any_matrix(-2.0..2.0).prop_flat_map(|a| {
        let n = a.len() as u32;
        (dim(), dim()).prop_flat_map(move |(r, c)| {
            let pick = prop_oneof![4 => 0..n, 1 => Just(zerodl::autograd::ops::gather::ZERO)];
            (proptest::collection::vec(pick, r * c), Just(r), Just(c))
        }).prop_map(move |(i, r, c)| (i, r, c))
        .prop_flat_map(move |t| (Just(a.clone()), Just(t)))
        .prop_map(|(a, (i, r, c))| (a, i, r, c))
    })) {
        let index = std::sync::Arc::new(index);
        assert_grads(|t, x| t.gather(x[0], index.clone(), rows, cols), vec![a])?;
    }

    /// Column maxima with distinct entries (so a step of 1e-5 cannot change which entry wins).
    #[test]
    fn max_rows((r, c, perm) in (dim(), dim()).prop_flat_map(|(r, c)| (Just(r), Just(c), Just((0..r * c).collect::<Vec<_>>()).prop_shuffle()))) {
        let a = DMatrix::from_iterator(r, c, perm.into_iter().map(|v| v as f64 * 0.1 - 2.0));
        assert_grads(|t, x| t.max_rows(x[0]), vec![a])?;
    }
}
