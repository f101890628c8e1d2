//! The semantics users trip over in small autograd engines, each pinned down by a test.

use nalgebra::DMatrix;
use zerodl::{Error, Tape};

fn m(r: usize, c: usize, v: &[f64]) -> DMatrix<f64> {
    DMatrix::from_row_slice(r, c, v)
}

#[test]
fn a_value_used_twice_gets_the_sum_of_both_gradients() {
    let mut t = Tape::<f64>::new();
    let x = t.leaf(m(1, 3, &[1.0, -2.0, 3.0]));
    let y = t.mul(x, x).unwrap(); // d(x²)/dx = 2x: one x from each operand
    let z = t.add(y, x).unwrap(); // + 1 from the second use
    let l = t.sum(z).unwrap();
    let g = t.backward(l).unwrap();
    assert_eq!(g.get(x).unwrap(), &m(1, 3, &[3.0, -3.0, 7.0]));
}

#[test]
fn a_second_backward_gives_the_same_gradients_not_double() {
    let mut t = Tape::<f64>::new();
    let w = t.param(m(2, 2, &[1.0, 2.0, 3.0, 4.0]));
    let x = t.constant(m(1, 2, &[0.5, -1.0]));
    let y = t.matmul(x, w).unwrap();
    let l = t.sum(y).unwrap();
    let g1 = t.backward(l).unwrap();
    let g2 = t.backward(l).unwrap();
    assert_eq!(g1.get(w), g2.get(w));
    assert_eq!(g1.get(w).unwrap(), &m(2, 2, &[0.5, 0.5, -1.0, -1.0]));
}

#[test]
fn constants_get_no_gradient_and_unrelated_values_get_none() {
    let mut t = Tape::<f64>::new();
    let w = t.param(m(1, 1, &[2.0]));
    let unused = t.param(m(1, 1, &[5.0]));
    let x = t.constant(m(1, 1, &[3.0]));
    let y = t.mul(x, w).unwrap();
    let g = t.backward(y).unwrap();
    assert_eq!(g.get(w).unwrap()[(0, 0)], 3.0);
    assert!(g.get(x).is_none());
    assert!(g.get(unused).is_none());
}

/// A training step starts clean: `reset` drops the step's values, parameters stay, the node list's
/// capacity is reused, and memory does not grow from step to step.
#[test]
fn reset_starts_each_step_clean_and_memory_does_not_grow() {
    let mut t = Tape::<f64>::new();
    let w = t.param(DMatrix::from_element(4, 3, 0.1));
    let b = t.param(DMatrix::zeros(1, 3));
    let mut sizes = Vec::new();
    for step in 0..50 {
        t.reset();
        let x = t.constant(DMatrix::from_fn(8, 4, |i, j| ((i + j + step) % 5) as f64));
        let h = t.matmul(x, w).unwrap();
        let h = t.add(h, b).unwrap();
        let h = t.tanh(h).unwrap();
        let l = t
            .softmax_cross_entropy(h, &[0, 1, 2, 0, 1, 2, 0, 1])
            .unwrap();
        let g = t.backward(l).unwrap();
        let dw = g.get(w).unwrap().clone();
        *t.param_mut(w).unwrap() -= dw * 0.1;
        sizes.push((t.len(), t.capacity()));
    }
    assert!(sizes.windows(2).all(|p| p[0] == p[1]), "{sizes:?}");
    assert_eq!(t.num_params(), 2);
}

#[test]
fn a_handle_kept_across_reset_is_stale_not_a_silent_read() {
    let mut t = Tape::<f64>::new();
    let x = t.leaf(m(1, 1, &[1.0]));
    t.reset();
    let y = t.leaf(m(1, 1, &[2.0])); // same slot as x
    assert_eq!(t.value(y).unwrap()[(0, 0)], 2.0);
    assert!(matches!(t.value(x), Err(Error::StaleVar { .. })));
    assert!(matches!(t.exp(x), Err(Error::StaleVar { op: "exp", .. })));
}

#[test]
fn reset_returning_hands_back_the_batch_and_leaves_no_handle_alive() {
    let mut t = Tape::<f64>::new();
    let w = t.param(m(2, 1, &[0.5, -1.0]));
    let batch = m(3, 2, &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
    let x = t.constant(batch.clone());
    let y = t.matmul(x, w).unwrap();
    // A parameter is refused, and the tape is left as it was.
    assert!(matches!(
        t.reset_returning(w),
        Err(Error::Invalid {
            op: "reset_returning",
            ..
        })
    ));
    assert_eq!(t.value(y).unwrap()[(2, 0)], 5.0 * 0.5 - 6.0);
    let back = t.reset_returning(x).unwrap();
    assert_eq!(back, batch);
    assert!(matches!(t.value(y), Err(Error::StaleVar { .. })));
    assert!(matches!(
        t.reset_returning(x),
        Err(Error::StaleVar {
            op: "reset_returning",
            ..
        })
    ));
    assert!(t.is_empty());
    assert_eq!(t.value(w).unwrap()[(1, 0)], -1.0, "the parameters stay");
}

#[test]
fn backward_needs_a_scalar() {
    let mut t = Tape::<f64>::new();
    let x = t.leaf(DMatrix::zeros(2, 3));
    let e = t.backward(x).unwrap_err();
    assert_eq!(
        e.to_string(),
        "backward: operand shapes [2x3] do not fit: expected a 1x1 loss (reduce with sum or mean first, or use backward_with)"
    );
}

/// No recursion in the sweep: a chain of 200,000 ops (far deeper than any call stack) runs, and its
/// gradient is the product of the local derivatives.
#[test]
fn a_very_deep_chain_does_not_overflow_the_stack() {
    let mut t = Tape::<f64>::new();
    let x = t.leaf(m(1, 1, &[1.0]));
    let mut h = x;
    for _ in 0..200_000 {
        h = t.scale(h, 1.000001).unwrap();
    }
    let g = t.backward(h).unwrap();
    let expected = 1.000001f64.powi(200_000);
    assert!((g.get(x).unwrap()[(0, 0)] - expected).abs() < 1e-9);
}

/// The shape the recurrent chapters need: a tanh RNN unrolled over 200 steps, 3 layers, 2 directions, with
/// weights shared across time. One backward runs, and each shared weight's gradient is the sum over steps
/// (checked against the same net with the time loop written out by hand for the last layer's bias).
#[test]
fn an_unrolled_bidirectional_three_layer_rnn_over_200_steps() {
    let (steps, batch, input, hidden, layers) = (200, 2, 3, 4, 3);
    let mut t = Tape::<f64>::new();
    let mut rng = zerodl::rng::seeded(7);
    use rand::Rng;
    let mut init = |r: usize, c: usize| DMatrix::from_fn(r, c, |_, _| rng.random_range(-0.3..0.3));
    let mut weights = Vec::new();
    for l in 0..layers {
        let fan_in = if l == 0 { input } else { 2 * hidden };
        for _dir in 0..2 {
            let wx = t.param(init(fan_in, hidden));
            let wh = t.param(init(hidden, hidden));
            let b = t.param(init(1, hidden));
            weights.push((wx, wh, b));
        }
    }
    let xs: Vec<_> = (0..steps).map(|_| t.constant(init(batch, input))).collect();
    let mut seq = xs;
    for l in 0..layers {
        let mut outs = [Vec::new(), Vec::new()];
        for (dir, out) in outs.iter_mut().enumerate() {
            let (wx, wh, b) = weights[2 * l + dir];
            let mut h = t.constant(DMatrix::zeros(batch, hidden));
            let order: Vec<usize> = if dir == 0 {
                (0..steps).collect()
            } else {
                (0..steps).rev().collect()
            };
            let mut hs = vec![h; steps];
            for s in order {
                let a = t.matmul(seq[s], wx).unwrap();
                let r = t.matmul(h, wh).unwrap();
                let z = t.add(a, r).unwrap();
                let z = t.add(z, b).unwrap();
                h = t.tanh(z).unwrap();
                hs[s] = h;
            }
            *out = hs;
        }
        seq = (0..steps)
            .map(|s| t.concat_cols(&[outs[0][s], outs[1][s]]).unwrap())
            .collect();
    }
    let all = t.concat_rows(&seq).unwrap();
    let l = t.mean(all).unwrap();
    let g = t.backward(l).unwrap();
    assert!(t.len() > 6 * steps * layers);
    for &(wx, wh, b) in &weights {
        for v in [wx, wh, b] {
            let d = g.get(v).expect("every weight gets a gradient");
            assert!(d.iter().all(|x| x.is_finite()));
            assert!(d.iter().any(|&x| x != 0.0));
        }
    }
}
