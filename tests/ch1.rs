//! Chapter 1: the perceptron learning algorithm, proven on random separable sets and pinned on the book's.

mod common;

use nalgebra::{DMatrix, DVector};
use proptest::prelude::*;
use zerodl::autograd::gradcheck::{grad_error, numeric_grads, DEFAULT_EPS, DEFAULT_TOL};
use zerodl::by_hand;
use zerodl::chapters::ch1;
use zerodl::nn::perceptron::{novikoff_bound, tape_loss_grad, train, Gradient, Perceptron};

/// A random plane in 2..=4 dimensions and points on both sides at distance at least `gap` from it.
fn separable() -> impl Strategy<Value = (DMatrix<f64>, Vec<f64>, DVector<f64>, f64)> {
    (2..5usize, 2..40usize).prop_flat_map(|(d, n)| {
        (
            proptest::collection::vec(-1.0..1.0f64, d).prop_filter("non-zero normal", |w| {
                w.iter().map(|v| v * v).sum::<f64>() > 0.01
            }),
            -2.0..2.0f64,
            proptest::collection::vec(proptest::collection::vec(-5.0..5.0f64, d), n),
            proptest::collection::vec((0.2..3.0f64, any::<bool>()), n),
        )
            .prop_map(move |(w, b, pts, sides)| {
                let w = DVector::from_vec(w);
                let norm = w.norm();
                let mut x = DMatrix::zeros(n, d);
                let mut y = Vec::with_capacity(n);
                for (i, (p, (gap, positive))) in pts.into_iter().zip(sides).enumerate() {
                    // Move the point along the normal so that its signed distance is ±gap.
                    let p = DVector::from_vec(p);
                    let dist = (w.dot(&p) + b) / norm;
                    let target = if positive { gap } else { -gap };
                    let q = &p + &w * ((target - dist) / norm);
                    x.row_mut(i).copy_from(&q.transpose());
                    y.push(if positive { 1.0 } else { -1.0 });
                }
                (x, y, w, b)
            })
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    // ANCHOR: novikoff_property
    /// Training stops with every point correct, within Novikoff's bound computed from the generating plane.
    #[test]
    fn converges_within_novikoffs_bound((x, y, w, b) in separable(), lr in 0.01..2.0f64) {
        let bound = novikoff_bound(&x, &y, &w, b).expect("the generating plane separates");
        let trained = train(&x, &y, lr, 1_000_000, Gradient::ByHand).unwrap();
        for (i, (row, &yi)) in x.row_iter().zip(&y).enumerate() {
            let xi: Vec<f64> = row.iter().copied().collect();
            prop_assert!(trained.model.margin(&xi, yi) > 0.0, "point {i} still misclassified");
        }
        prop_assert!(trained.updates as f64 <= bound, "{} updates > bound {bound}", trained.updates);
    }
    // ANCHOR_END: novikoff_property

    /// The update is the gradient step of the perceptron loss: the tape's gradient of `-y (w·x + b)` is
    /// `(-y x, -y)`, the hand-derived one, and both match finite differences of the loss.
    #[test]
    fn the_update_is_the_gradient_of_the_perceptron_loss(
        (x, w, b) in (2..6usize).prop_flat_map(|d| (proptest::collection::vec(-5.0..5.0f64, d), proptest::collection::vec(-1.0..1.0f64, d), -1.0..1.0f64)),
        positive in any::<bool>(),
    ) {
        let y = if positive { 1.0 } else { -1.0 };
        let model = Perceptron { w: DVector::from_vec(w.clone()), b };
        let (tw, tb) = tape_loss_grad(&model, &x, y).unwrap();
        let (hw, hb) = by_hand::perceptron::loss_grad(&x, y);
        let expected_w = DVector::from_iterator(x.len(), x.iter().map(|v| -y * v));
        prop_assert_eq!(&hw, &expected_w);
        prop_assert_eq!(hb, -y);
        prop_assert!(grad_error(&DMatrix::from_column_slice(x.len(), 1, tw.as_slice()), &DMatrix::from_column_slice(x.len(), 1, hw.as_slice())) < DEFAULT_TOL);
        prop_assert!((tb - hb).abs() < DEFAULT_TOL);
        // Finite differences of L(w, b) = -y (w·x + b), an independent computation.
        let mut f = |v: &[DMatrix<f64>]| -> zerodl::Result<f64> {
            Ok(-y * (v[0].iter().zip(&x).map(|(a, b)| a * b).sum::<f64>() + v[1][(0, 0)]))
        };
        let num = numeric_grads(&mut f, &[DMatrix::from_column_slice(x.len(), 1, &w), DMatrix::from_element(1, 1, b)], DEFAULT_EPS).unwrap();
        prop_assert!(grad_error(&num[0], &DMatrix::from_column_slice(x.len(), 1, hw.as_slice())) < DEFAULT_TOL);
    }
}

#[test]
fn tape_and_by_hand_gradients_train_the_same_perceptron() {
    let report = ch1::run(&ch1::Settings::default()).unwrap();
    let by_tape = train(
        &report.data.x,
        &report.data.y,
        0.1,
        1_000_000,
        Gradient::Tape,
    )
    .unwrap();
    assert_eq!(by_tape.updates, report.trained.updates);
    assert_eq!(by_tape.model, report.trained.model);
}

#[test]
fn the_book_run_separates_all_points_within_the_bound() {
    let r = ch1::run(&ch1::Settings::default()).unwrap();
    assert_eq!(r.accuracy, 1.0);
    assert!(r.trained.updates as f64 <= r.bound);
    // The book's data really is what the chapter says: positives above the plane, negatives below.
    for i in 0..r.data.x.nrows() {
        let x: Vec<f64> = r.data.x.row(i).iter().copied().collect();
        assert!(r.plane.eval(&x) * r.data.y[i] >= 0.0);
    }
}

#[test]
fn non_separable_data_is_an_error_not_an_endless_loop() {
    // XOR in the plane: no line separates it.
    let x = DMatrix::from_row_slice(4, 2, &[0.0, 0.0, 1.0, 1.0, 0.0, 1.0, 1.0, 0.0]);
    let y = [1.0, 1.0, -1.0, -1.0];
    let e = train(&x, &y, 0.1, 1000, Gradient::ByHand).unwrap_err();
    assert!(
        e.to_string()
            .contains("no separating plane after 1000 updates"),
        "{e}"
    );
    let e = train(&x, &[1.0, 0.5, -1.0, -1.0], 0.1, 1000, Gradient::ByHand).unwrap_err();
    assert_eq!(
        e.to_string(),
        "perceptron: label 0.5 of point 1 is not +1 or -1"
    );
}

/// The update count and final plane for the default seed. Rounded to 6 significant digits so the snapshot
/// survives CPUs that round differently in the last place.
#[test]
fn snapshot_of_the_default_run() {
    let r = ch1::run(&ch1::Settings::default()).unwrap();
    let m = &r.trained.model;
    let text = format!(
        "updates: {}\nscans: {}\nw: [{:.6e}, {:.6e}, {:.6e}]\nb: {:.6e}\nnovikoff_bound: {:.4e}\n",
        r.trained.updates, r.trained.scans, m.w[0], m.w[1], m.w[2], m.b, r.bound
    );
    insta::with_settings!({ snapshot_path => "../snapshots", prepend_module_to_snapshot => false }, {
        insta::assert_snapshot!("ch1_default_run", text);
    });
}
