//! Strategies shared by the property tests: random shapes (1..=8 per dimension) and values.
#![allow(dead_code)]

use nalgebra::DMatrix;
use proptest::prelude::*;
use std::ops::Range;
use zerodl::autograd::gradcheck::{check, DEFAULT_TOL};
use zerodl::{Result, Tape, Var};

pub fn dim() -> Range<usize> {
    1..9
}

pub fn matrix(r: usize, c: usize, values: Range<f64>) -> impl Strategy<Value = DMatrix<f64>> {
    proptest::collection::vec(values, r * c).prop_map(move |v| DMatrix::from_vec(r, c, v))
}

/// A matrix of random shape with entries in `values`.
pub fn any_matrix(values: Range<f64>) -> impl Strategy<Value = DMatrix<f64>> {
    (dim(), dim()).prop_flat_map(move |(r, c)| matrix(r, c, values.clone()))
}

/// Entries in `±[0.1, 2)`: away from the kink of relu-like functions, so that a central difference of step
/// 1e-5 never straddles it.
pub fn away_from_zero(r: usize, c: usize) -> impl Strategy<Value = DMatrix<f64>> {
    matrix(r, c, 0.1..2.0).prop_flat_map(move |m| {
        proptest::collection::vec(any::<bool>(), r * c).prop_map(move |signs| {
            let mut m = m.clone();
            for (x, s) in m.iter_mut().zip(signs) {
                if s {
                    *x = -*x;
                }
            }
            m
        })
    })
}

/// Autograd's gradient of `build` agrees with central differences within the checker's stated tolerance.
pub fn assert_grads(
    build: impl Fn(&mut Tape<f64>, &[Var]) -> Result<Var>,
    inputs: Vec<DMatrix<f64>>,
) -> std::result::Result<(), TestCaseError> {
    let report = check(&build, &inputs).map_err(|e| TestCaseError::fail(e.to_string()))?;
    report.within(DEFAULT_TOL).map_err(TestCaseError::fail)
}
