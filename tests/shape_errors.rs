//! Mismatched shapes give a typed error that names the op and both shapes, never an nalgebra panic.

mod common;

use common::*;
use proptest::prelude::*;
use zerodl::{Error, Shape, Tape};

fn expect_shape_error(
    r: zerodl::Result<zerodl::Var>,
    op: &str,
    shapes: &[Shape],
) -> Result<(), TestCaseError> {
    match r {
        Err(Error::Shape {
            op: o, shapes: s, ..
        }) => {
            prop_assert_eq!(o, op);
            prop_assert_eq!(s, shapes.to_vec());
            Ok(())
        }
        other => Err(TestCaseError::fail(format!(
            "{op}: expected a shape error, got {other:?}"
        ))),
    }
}

proptest! {
    #[test]
    fn elementwise_ops_reject_shapes_that_neither_match_nor_broadcast(
        (a, b) in (any_matrix(-1.0..1.0), any_matrix(-1.0..1.0))
            .prop_filter("incompatible", |(a, b)| a.shape() != b.shape() && !(b.nrows() == 1 && b.ncols() == a.ncols()))
    ) {
        let mut t = Tape::<f64>::new();
        let (sa, sb) = (Shape(a.nrows(), a.ncols()), Shape(b.nrows(), b.ncols()));
        let (x, y) = (t.leaf(a), t.leaf(b));
        expect_shape_error(t.add(x, y), "add", &[sa, sb])?;
        expect_shape_error(t.sub(x, y), "sub", &[sa, sb])?;
        expect_shape_error(t.mul(x, y), "mul", &[sa, sb])?;
        expect_shape_error(t.div(x, y), "div", &[sa, sb])?;
        expect_shape_error(t.mse(x, y), "mse", &[sa, sb])?;
    }

    #[test]
    fn matmul_rejects_inner_dimensions_that_differ(
        (a, b) in (any_matrix(-1.0..1.0), any_matrix(-1.0..1.0)).prop_filter("incompatible", |(a, b)| a.ncols() != b.nrows())
    ) {
        let mut t = Tape::<f64>::new();
        let (sa, sb) = (Shape(a.nrows(), a.ncols()), Shape(b.nrows(), b.ncols()));
        let (x, y) = (t.leaf(a), t.leaf(b));
        expect_shape_error(t.matmul(x, y), "matmul", &[sa, sb])?;
    }

    #[test]
    fn concatenation_rejects_parts_that_do_not_line_up(
        (a, b) in (any_matrix(-1.0..1.0), any_matrix(-1.0..1.0)).prop_filter("different", |(a, b)| a.nrows() != b.nrows() && a.ncols() != b.ncols())
    ) {
        let mut t = Tape::<f64>::new();
        let (sa, sb) = (Shape(a.nrows(), a.ncols()), Shape(b.nrows(), b.ncols()));
        let (x, y) = (t.leaf(a), t.leaf(b));
        expect_shape_error(t.concat_rows(&[x, y]), "concat_rows", &[sa, sb])?;
        expect_shape_error(t.concat_cols(&[x, y]), "concat_cols", &[sa, sb])?;
    }

    #[test]
    fn reshape_and_slice_reject_what_does_not_fit(a in any_matrix(-1.0..1.0), extra in 1..5usize) {
        let mut t = Tape::<f64>::new();
        let s = Shape(a.nrows(), a.ncols());
        let (r, c) = a.shape();
        let x = t.leaf(a);
        expect_shape_error(t.reshape(x, r * c + extra, 1), "reshape", &[s])?;
        expect_shape_error(t.slice_rows(x, r, extra), "slice", &[s])?;
        expect_shape_error(t.slice_cols(x, c - 1, 1 + extra), "slice", &[s])?;
        expect_shape_error(t.slice_cols(x, 0, 0), "slice", &[s])?;
    }

    #[test]
    fn cross_entropy_rejects_wrong_label_counts_and_labels_out_of_range(z in any_matrix(-1.0..1.0), extra in 1..4usize) {
        let mut t = Tape::<f64>::new();
        let (n, k) = z.shape();
        let x = t.leaf(z);
        expect_shape_error(t.softmax_cross_entropy(x, &vec![0; n + extra]), "softmax_cross_entropy", &[Shape(n, k), Shape(n + extra, 1)])?;
        let mut labels = vec![0; n];
        labels[n - 1] = k + extra - 1;
        let e = t.softmax_cross_entropy(x, &labels).unwrap_err();
        let ok = matches!(e, Error::Label { row, label, classes, .. } if row == n - 1 && label == k + extra - 1 && classes == k);
        prop_assert!(ok, "{}", e);
    }
}

#[test]
fn the_message_names_the_op_the_shapes_and_what_was_expected() {
    let mut t = Tape::<f32>::new();
    let x = t.leaf(nalgebra::DMatrix::zeros(32, 784));
    let w = t.leaf(nalgebra::DMatrix::zeros(748, 10));
    let e = t.matmul(x, w).unwrap_err();
    assert_eq!(
        e.to_string(),
        "matmul: operand shapes [32x784, 748x10] do not fit: expected the left operand's columns (784) to equal the right operand's rows (748)"
    );
}
