//! The embedding, proven: its lookup is the table's rows, its gradient adds the rows of repeated tokens (against
//! an independent sum and finite differences), a frozen table gets no gradient, and bad ids are errors.

use nalgebra::DMatrix;
use zerodl::autograd::gradcheck::{
    grad_error, numeric_grads, projection, DEFAULT_EPS, DEFAULT_TOL,
};
use zerodl::nn::embedding::Embedding;
use zerodl::nn::Module;
use zerodl::Tape;

fn table() -> DMatrix<f64> {
    projection(6, 3, 11)
}

#[test]
fn the_lookup_is_the_tables_rows_step_by_step() {
    let mut t = Tape::<f64>::new();
    let e = Embedding::new(&mut t, table(), true);
    let ids = vec![vec![1, 5, 1], vec![0, 2, 4]];
    let y = e.forward(&mut t, &ids).unwrap();
    let y = t.value(y).unwrap();
    assert_eq!(y.shape(), (2, 9));
    for (i, s) in ids.iter().enumerate() {
        for (step, &k) in s.iter().enumerate() {
            for j in 0..3 {
                assert_eq!(y[(i, step * 3 + j)], table()[(k as usize, j)]);
            }
        }
    }
}

#[test]
fn repeated_tokens_add_their_gradients_and_match_finite_differences() {
    let ids = vec![vec![1, 5, 1, 1], vec![5, 2, 0, 1]];
    let r = projection(2, 12, 3);
    let mut t = Tape::<f64>::new();
    let e = Embedding::new(&mut t, table(), true);
    let y = e.forward(&mut t, &ids).unwrap();
    let g = t.backward_with(y, r.clone()).unwrap();
    let got = g.get(e.table).unwrap().clone();
    // Independent: row k of the gradient is the sum of the upstream blocks wherever token k appears.
    let mut want = DMatrix::zeros(6, 3);
    for (i, s) in ids.iter().enumerate() {
        for (step, &k) in s.iter().enumerate() {
            for j in 0..3 {
                want[(k as usize, j)] += r[(i, step * 3 + j)];
            }
        }
    }
    assert!(grad_error(&got, &want) < 1e-15);
    assert_eq!(
        got.row(3).iter().copied().fold(0.0, f64::max),
        0.0,
        "an unused token gets nothing"
    );
    let mut f = |v: &[DMatrix<f64>]| {
        let mut t = Tape::<f64>::new();
        let e = Embedding::new(&mut t, v[0].clone(), true);
        let y = e.forward(&mut t, &ids)?;
        Ok(t.value(y)?.component_mul(&r).sum())
    };
    let num = numeric_grads(&mut f, &[table()], DEFAULT_EPS).unwrap();
    assert!(grad_error(&got, &num[0]) < DEFAULT_TOL);
}

#[test]
fn a_frozen_table_gives_the_same_values_and_no_gradient() {
    let ids = vec![vec![3, 4]];
    let mut t = Tape::<f64>::new();
    let frozen = Embedding::new(&mut t, table(), false);
    let live = Embedding::new(&mut t, table(), true);
    let (a, b) = (
        frozen.forward(&mut t, &ids).unwrap(),
        live.forward(&mut t, &ids).unwrap(),
    );
    assert_eq!(t.value(a).unwrap(), t.value(b).unwrap());
    assert!(frozen.named_params().is_empty());
    assert_eq!(live.named_params()[0].0, "table");
    let s = t.sum(a).unwrap();
    let g = t.backward(s).unwrap();
    assert!(g.get(frozen.table).is_none());
}

#[test]
fn ids_outside_the_vocabulary_and_ragged_batches_are_errors() {
    let mut t = Tape::<f64>::new();
    let e = Embedding::new(&mut t, table(), true);
    let err = e.forward(&mut t, &[vec![1, 6]]).unwrap_err();
    assert!(
        err.to_string().contains("token id 6") && err.to_string().contains("6"),
        "{err}"
    );
    assert!(e.forward(&mut t, &[vec![1, 2], vec![1]]).is_err());
    assert!(e.forward(&mut t, &[]).is_err());
}
