//! Library misuse is a typed error, never a silent wrong value or a panic (issue 16): handles from another tape,
//! stale handles given to `record`, custom ops that break their contract, optimizer state, clipping, geometry.

use nalgebra::DMatrix;
use zerodl::autograd::Op;
use zerodl::{Error, Tape};

fn m(r: usize, c: usize, v: &[f64]) -> DMatrix<f64> {
    DMatrix::from_row_slice(r, c, v)
}

fn is_foreign<T>(r: zerodl::Result<T>) -> bool {
    matches!(r, Err(Error::ForeignVar { .. }))
}

/// Two fresh tapes put their first value in the same slot at the same generation: a handle from one must not
/// read the other's value, for transient values and parameters alike, and the error says why.
#[test]
fn a_handle_from_another_tape_is_an_error_not_a_read_of_this_tape() {
    let mut a = Tape::<f64>::new();
    let mut b = Tape::<f64>::new();
    let xa = a.leaf(m(1, 1, &[1.0]));
    let xb = b.leaf(m(1, 1, &[2.0]));
    let wa = a.param(m(1, 1, &[3.0]));
    let _wb = b.param(m(1, 1, &[4.0]));
    assert_ne!(a.id(), b.id());
    assert_eq!(xa.tape_id(), a.id());
    assert_eq!(wa.param_index(), Some(0));

    assert!(is_foreign(b.value(xa)));
    assert!(is_foreign(b.value(wa)));
    assert!(is_foreign(b.shape(wa)));
    assert!(is_foreign(b.scalar(xa)));
    assert!(is_foreign(b.param_mut(wa)));
    assert!(is_foreign(b.exp(xa)));
    assert!(is_foreign(b.add(xb, xa)));
    assert!(is_foreign(b.matmul(xb, wa)));
    assert!(is_foreign(b.backward(xa)));
    let e = b.mul(xb, wa).unwrap_err();
    assert!(e.to_string().contains("from another tape"), "{e}");
    assert!(!e.to_string().contains("stale"), "{e}");

    // The gradients of one tape's sweep know nothing of the other's handles.
    let y = b.mul(xb, xb).unwrap();
    let g = b.backward(y).unwrap();
    assert!(g.get(xb).is_some());
    assert!(g.get(xa).is_none());
    assert!(g.get(wa).is_none());

    // Both tapes still work with their own handles.
    assert_eq!(a.scalar(xa).unwrap(), 1.0);
    assert_eq!(b.scalar(xb).unwrap(), 2.0);
    assert_eq!(b.params().next().unwrap().tape_id(), b.id());
}

/// The two errors stay distinct: a stale handle is stale, a foreign one is foreign.
#[test]
fn stale_and_foreign_are_different_errors() {
    let mut a = Tape::<f64>::new();
    let b = Tape::<f64>::new();
    let x = a.leaf(m(1, 1, &[1.0]));
    a.reset();
    let stale = a.value(x).unwrap_err();
    assert!(matches!(stale, Error::StaleVar { op: "value", .. }));
    assert!(stale.to_string().contains("stale"), "{stale}");
    let foreign = b.value(x).unwrap_err();
    assert!(matches!(foreign, Error::ForeignVar { op: "value", .. }));
}

/// The handle stays small: an index, a generation and a tape identity.
#[test]
fn var_is_small() {
    assert!(std::mem::size_of::<zerodl::Var>() <= 12);
}

struct Square;
impl Op<f64> for Square {
    fn name(&self) -> &'static str {
        "square"
    }
    fn backward(
        &self,
        x: &[&DMatrix<f64>],
        _y: &DMatrix<f64>,
        g: &DMatrix<f64>,
        _n: &[bool],
    ) -> Vec<Option<DMatrix<f64>>> {
        vec![Some(g.component_mul(x[0]) * 2.0)]
    }
}

/// `record` is public (for fused layers): a stale input must be an error, not an index out of bounds (the
/// stale index can be past the end of the node list after a reset).
#[test]
fn recording_with_a_stale_or_foreign_input_is_an_error_not_a_panic() {
    let mut t = Tape::<f64>::new();
    let mut x = t.leaf(m(1, 1, &[1.0]));
    for _ in 0..5 {
        x = t.exp(x).unwrap();
    }
    t.reset();
    let r = t.record(m(1, 1, &[1.0]), &[x], Square);
    assert!(
        matches!(r, Err(Error::StaleVar { op: "square", .. })),
        "{r:?}"
    );
    let other = Tape::<f64>::new().param(m(1, 1, &[1.0]));
    let r = t.record(m(1, 1, &[1.0]), &[other], Square);
    assert!(
        matches!(r, Err(Error::ForeignVar { op: "square", .. })),
        "{r:?}"
    );
    assert!(t.is_empty(), "nothing is recorded by a failed record");
}

/// A custom op whose backward returns too few gradients, or one of the wrong shape, is an error from
/// `backward`, not a gradient silently dropped or a panic.
#[test]
fn a_custom_op_that_breaks_its_contract_is_an_error() {
    struct Short;
    impl Op<f64> for Short {
        fn name(&self) -> &'static str {
            "short"
        }
        fn backward(
            &self,
            _x: &[&DMatrix<f64>],
            _y: &DMatrix<f64>,
            _g: &DMatrix<f64>,
            _n: &[bool],
        ) -> Vec<Option<DMatrix<f64>>> {
            vec![]
        }
    }
    struct WrongShape;
    impl Op<f64> for WrongShape {
        fn name(&self) -> &'static str {
            "wrong_shape"
        }
        fn backward(
            &self,
            _x: &[&DMatrix<f64>],
            _y: &DMatrix<f64>,
            _g: &DMatrix<f64>,
            _n: &[bool],
        ) -> Vec<Option<DMatrix<f64>>> {
            vec![Some(DMatrix::zeros(3, 3))]
        }
    }
    let mut t = Tape::<f64>::new();
    let x = t.leaf(m(1, 2, &[1.0, 2.0]));
    let y = t.record(m(1, 1, &[5.0]), &[x], Short).unwrap();
    let e = t.backward(y).unwrap_err();
    assert!(matches!(e, Error::Invalid { op: "short", .. }), "{e:?}");
    let y = t.record(m(1, 1, &[5.0]), &[x], WrongShape).unwrap();
    let e = t.backward(y).unwrap_err();
    assert!(
        matches!(
            e,
            Error::Shape {
                op: "wrong_shape",
                ..
            }
        ),
        "{e:?}"
    );
}
