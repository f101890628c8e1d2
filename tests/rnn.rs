//! The vanilla RNN, proven: for random lengths (1..=12), batches, input and hidden sizes, depths (1..=3), one
//! or two directions and both ways of merging them, the hand-derived BPTT = the composed tape version (autograd
//! through the unrolled cell) = the fused tape op = finite differences. Plus the reverse direction's meaning,
//! shape errors, orthogonal initialisation, and a 200-step, 3-layer bidirectional training step on a small
//! stack with node count linear in T.

mod common;

use common::*;
use nalgebra::DMatrix;
use proptest::prelude::*;
use zerodl::autograd::gradcheck::{
    grad_error, numeric_grads, projection, DEFAULT_EPS, DEFAULT_TOL,
};
use zerodl::by_hand::rnn::{self as hand, Merge, RnnCell as Cell, StackSpec};
use zerodl::nn::rnn::{cell_values, layer, CellVars, Rnn, RnnImpl, RnnInit};
use zerodl::nn::Init;
use zerodl::nn::Module;
use zerodl::optim::{Adam, Optimizer};
use zerodl::rng::seeded;
use zerodl::{Error, Tape};

/// The cells' matrices in a flat list `[W_x, W_h, b]` per cell, layer by layer, direction by direction.
fn flatten(cells: &[Vec<Cell<f64>>]) -> Vec<DMatrix<f64>> {
    cells
        .iter()
        .flatten()
        .flat_map(|c| [c.wx.clone(), c.wh.clone(), c.b.clone()])
        .collect()
}

fn unflatten(spec: &StackSpec, m: &[DMatrix<f64>]) -> Vec<Vec<Cell<f64>>> {
    let dirs = spec.directions();
    (0..spec.layers)
        .map(|l| {
            (0..dirs)
                .map(|d| {
                    let k = 3 * (l * dirs + d);
                    Cell {
                        wx: m[k].clone(),
                        wh: m[k + 1].clone(),
                        b: m[k + 2].clone(),
                    }
                })
                .collect()
        })
        .collect()
}

/// `(output, [dx, then dW_x, dW_h, db per cell])` of the tape's stack for `L = Σ R ⊙ out`.
fn on_tape(
    imp: RnnImpl,
    spec: StackSpec,
    seed: u64,
    x: &DMatrix<f64>,
    r: &DMatrix<f64>,
) -> (DMatrix<f64>, Vec<DMatrix<f64>>) {
    let mut t = Tape::<f64>::new();
    let rnn = Rnn::new(
        &mut t,
        spec,
        RnnInit::Uniform { a: 0.7 },
        imp,
        &mut seeded(seed),
    )
    .unwrap();
    let xv = t.leaf(x.clone());
    let y = rnn.forward(&mut t, xv).unwrap();
    let g = t.backward_with(y, r.clone()).unwrap();
    let mut grads = vec![g.get(xv).unwrap().clone()];
    grads.extend(rnn.params().iter().map(|&p| g.get_or_zeros(&t, p).unwrap()));
    (t.value(y).unwrap().clone(), grads)
}

fn stack_case() -> impl Strategy<Value = (StackSpec, usize, DMatrix<f64>, u64)> {
    (
        1..=12usize,
        1..=3usize,
        1..=3usize,
        1..=4usize,
        1..=3usize,
        any::<bool>(),
        any::<bool>(),
        any::<u64>(),
    )
        .prop_flat_map(|(steps, n, d, h, layers, bidirectional, book, seed)| {
            let spec = StackSpec {
                input: d,
                hidden: h,
                layers,
                bidirectional,
                merge: if book { Merge::Book } else { Merge::PerLayer },
            };
            (
                Just(spec),
                Just(steps),
                matrix(n, steps * d, -1.5..1.5),
                Just(seed),
            )
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]

    // ANCHOR: rnn_proof
    #[test]
    fn stack_by_hand_equals_composed_equals_fused_equals_finite_differences(
        (spec, steps, x, seed) in stack_case()
    ) {
        // The tape's stack draws its weights from `seed`; the by-hand twin reads the same values.
        let mut t = Tape::<f64>::new();
        let rnn = Rnn::new(&mut t, spec, RnnInit::Uniform { a: 0.7 }, RnnImpl::Fused, &mut seeded(seed)).unwrap();
        let cells = cell_values(&t, &rnn).unwrap();
        let (out, cache) = hand::stack_forward(&spec, &cells, &x, None).unwrap();
        prop_assert_eq!(out.shape(), (x.nrows(), steps * spec.output()));
        let r = projection(out.nrows(), out.ncols(), seed ^ 1);
        let g = hand::stack_backward(&spec, &cells, &cache, &r).unwrap();
        let mut hand_grads = vec![g.dx];
        hand_grads.extend(g.cells.iter().flatten().flat_map(|c| [c.wx.clone(), c.wh.clone(), c.b.clone()]));

        for imp in [RnnImpl::Composed, RnnImpl::Fused] {
            let (ty, tg) = on_tape(imp, spec, seed, &x, &r);
            prop_assert!(grad_error(&ty, &out) < 1e-12, "{:?} forward", imp);
            for (i, (a, b)) in tg.iter().zip(&hand_grads).enumerate() {
                prop_assert!(grad_error(a, b) < DEFAULT_TOL, "{:?} gradient {}: {} vs {}", imp, i, a, b);
            }
        }

        let mut inputs = vec![x];
        inputs.extend(flatten(&cells));
        let mut f = |v: &[DMatrix<f64>]| {
            let cells = unflatten(&spec, &v[1..]);
            hand::stack_forward(&spec, &cells, &v[0], None).map(|(y, _)| y.component_mul(&r).sum())
        };
        let num = numeric_grads(&mut f, &inputs, DEFAULT_EPS).unwrap();
        for (i, (a, n)) in hand_grads.iter().zip(&num).enumerate() {
            prop_assert!(grad_error(a, n) < DEFAULT_TOL, "gradient {} vs finite differences:\n{}\n{}", i, a, n);
        }
    }
    // ANCHOR_END: rnn_proof

    #[test]
    fn one_layer_with_an_initial_state_in_both_directions(
        (steps, x, h0, seed, reverse) in (1..=12usize, 1..=3usize, 1..=4usize, 1..=4usize).prop_flat_map(|(steps, n, d, h)| {
            (Just(steps), matrix(n, steps * d, -1.5..1.5), matrix(n, h, -0.9..0.9), any::<u64>(), any::<bool>())
        })
    ) {
        let (d, h) = (x.ncols() / steps, h0.ncols());
        let mut rng = seeded(seed);
        let (wx, wh, b): (DMatrix<f64>, DMatrix<f64>, DMatrix<f64>) = (
            Init::Uniform { a: 0.7 }.matrix(d, h, &mut rng),
            Init::Uniform { a: 0.7 }.matrix(h, h, &mut rng),
            Init::Uniform { a: 0.7 }.matrix(1, h, &mut rng),
        );
        let hs = hand::forward(&x, &wx, &wh, &b, Some(&h0), reverse).unwrap();
        let r = projection(hs.nrows(), hs.ncols(), seed);
        let g = hand::backward(&x, &wx, &wh, Some(&h0), &hs, &r, reverse).unwrap();
        let hand_grads = [g.dx, g.dwx, g.dwh, g.db, g.dh0];
        for imp in [RnnImpl::Composed, RnnImpl::Fused] {
            let mut t = Tape::<f64>::new();
            let c = CellVars { wx: t.param(wx.clone()), wh: t.param(wh.clone()), b: t.param(b.clone()) };
            let (xv, h0v) = (t.leaf(x.clone()), t.leaf(h0.clone()));
            let y = layer(&mut t, imp, &c, xv, Some(h0v), reverse).unwrap();
            prop_assert!(grad_error(t.value(y).unwrap(), &hs) < 1e-12);
            let gr = t.backward_with(y, r.clone()).unwrap();
            for (i, v) in [xv, c.wx, c.wh, c.b, h0v].into_iter().enumerate() {
                prop_assert!(grad_error(gr.get(v).unwrap(), &hand_grads[i]) < DEFAULT_TOL, "{:?} gradient {}", imp, i);
            }
        }
        let mut f = |v: &[DMatrix<f64>]| {
            hand::forward(&v[0], &v[1], &v[2], &v[3], Some(&v[4]), reverse).map(|y| y.component_mul(&r).sum())
        };
        let num = numeric_grads(&mut f, &[x, wx, wh, b, h0], DEFAULT_EPS).unwrap();
        for (i, (a, n)) in hand_grads.iter().zip(&num).enumerate() {
            prop_assert!(grad_error(a, n) < DEFAULT_TOL, "gradient {} vs finite differences", i);
        }
    }

    /// What "reverse" means, checked from outside: the reverse layer on a sequence is the forward layer on the
    /// time-reversed sequence, with its states reversed back.
    #[test]
    fn reverse_direction_is_forward_on_the_reversed_sequence(
        (steps, x, seed) in (1..=8usize, 1..=3usize, 1..=3usize).prop_flat_map(|(steps, n, d)| {
            (Just(steps), matrix(n, steps * d, -1.5..1.5), any::<u64>())
        })
    ) {
        let d = x.ncols() / steps;
        let h = 3;
        let mut rng = seeded(seed);
        let wx: DMatrix<f64> = Init::Uniform { a: 0.7 }.matrix(d, h, &mut rng);
        let wh: DMatrix<f64> = Init::Uniform { a: 0.7 }.matrix(h, h, &mut rng);
        let b: DMatrix<f64> = Init::Uniform { a: 0.7 }.matrix(1, h, &mut rng);
        let flip = |m: &DMatrix<f64>, w: usize| {
            let t = m.ncols() / w;
            DMatrix::from_fn(m.nrows(), m.ncols(), |i, j| m[(i, (t - 1 - j / w) * w + j % w)])
        };
        let rev = hand::forward(&x, &wx, &wh, &b, None, true).unwrap();
        let fwd = hand::forward(&flip(&x, d), &wx, &wh, &b, None, false).unwrap();
        prop_assert!(grad_error(&rev, &flip(&fwd, h)) < 1e-14);
    }
}

#[test]
fn a_single_step_is_one_tanh_layer() {
    // With T = 1 and h0 = 0 the RNN is tanh(x W_x + b): an independent value to compare against.
    let x = DMatrix::from_row_slice(2, 2, &[1.0, -2.0, 0.5, 0.25]);
    let wx = DMatrix::from_row_slice(2, 3, &[0.1, 0.2, 0.3, -0.4, 0.5, -0.6]);
    let wh = DMatrix::from_element(3, 3, 9.0);
    let b = DMatrix::from_row_slice(1, 3, &[0.0, 0.1, -0.1]);
    let h = hand::forward(&x, &wx, &wh, &b, None, false).unwrap();
    let expect = (&x * &wx).map_with_location(|_, j, v: f64| (v + b[j]).tanh());
    assert!(grad_error(&h, &expect) < 1e-15);
}

#[test]
fn shapes_that_do_not_fit_are_errors_naming_the_op() {
    let mut t = Tape::<f64>::new();
    let spec = StackSpec {
        input: 3,
        hidden: 4,
        layers: 2,
        bidirectional: true,
        merge: Merge::PerLayer,
    };
    let rnn = Rnn::new(
        &mut t,
        spec,
        RnnInit::Orthogonal,
        RnnImpl::Fused,
        &mut seeded(1),
    )
    .unwrap();
    let x = t.constant(DMatrix::zeros(2, 7)); // 7 columns is not T·3
    let e = rnn.forward(&mut t, x).unwrap_err();
    assert!(matches!(e, Error::Shape { op: "rnn", .. }), "{e}");
    assert!(e.to_string().contains("2x7"), "{e}");

    let x = DMatrix::<f64>::zeros(2, 6);
    let wx = DMatrix::zeros(3, 4);
    let bad_wh = DMatrix::zeros(4, 3);
    let b = DMatrix::zeros(1, 4);
    let e = hand::forward(&x, &wx, &bad_wh, &b, None, false).unwrap_err();
    assert!(e.to_string().contains("4x3"), "{e}");
    let bad_h0 = DMatrix::zeros(5, 4);
    let e = hand::forward(&x, &wx, &DMatrix::zeros(4, 4), &b, Some(&bad_h0), false).unwrap_err();
    assert!(e.to_string().contains("5x4"), "{e}");

    let zero = StackSpec { layers: 0, ..spec };
    assert!(matches!(
        Rnn::new(
            &mut t,
            zero,
            RnnInit::Orthogonal,
            RnnImpl::Fused,
            &mut seeded(1)
        ),
        Err(Error::Config(_))
    ));
}

#[test]
fn orthogonal_init_has_orthonormal_columns_or_rows_and_follows_the_seed() {
    for (r, c) in [(30, 30), (10, 4), (4, 10), (1, 30)] {
        let q: DMatrix<f64> = Init::Orthogonal { gain: 1.0 }.matrix(r, c, &mut seeded(3));
        let gram = if r >= c {
            q.transpose() * &q
        } else {
            &q * q.transpose()
        };
        let k = r.min(c);
        assert!(
            (gram - DMatrix::<f64>::identity(k, k)).amax() < 1e-12,
            "{r}x{c}"
        );
        let again: DMatrix<f64> = Init::Orthogonal { gain: 1.0 }.matrix(r, c, &mut seeded(3));
        assert_eq!(q, again);
    }
    let q: DMatrix<f64> = Init::Orthogonal { gain: 2.0 }.matrix(5, 5, &mut seeded(4));
    let s = q.singular_values();
    assert!(s.iter().all(|&v| (v - 2.0).abs() < 1e-12), "{s}");
}

// ANCHOR: long_sequence
/// A 200-step, 3-layer bidirectional stack, composed from tape ops (about 7,000 nodes): one full training step
/// runs on a thread with a 256 KiB stack, which any recursive backward would overflow; and the tape's node
/// count is linear in T.
#[test]
fn long_sequence_trains_without_recursion_and_memory_linear_in_t() {
    let nodes = |steps: usize| -> usize {
        let spec = StackSpec {
            input: 2,
            hidden: 8,
            layers: 3,
            bidirectional: true,
            merge: Merge::PerLayer,
        };
        let mut t = Tape::<f32>::new();
        let rnn = Rnn::new(
            &mut t,
            spec,
            RnnInit::Orthogonal,
            RnnImpl::Composed,
            &mut seeded(2),
        )
        .unwrap();
        let x = t.constant(DMatrix::from_fn(4, steps * 2, |i, j| {
            ((i + j) as f32 * 0.37).sin()
        }));
        let y = rnn.forward(&mut t, x).unwrap();
        let loss = t.mean(y).unwrap();
        let before: Vec<_> = rnn
            .params()
            .iter()
            .map(|&p| t.value(p).unwrap().clone())
            .collect();
        let mut g = t.backward(loss).unwrap();
        let params = rnn.params();
        for &p in &params {
            let gp = g.get(p).expect("every weight gets a gradient");
            assert!(gp.iter().all(|v| v.is_finite()));
        }
        Adam::new(1e-3).step(&mut t, &mut g, &params).unwrap();
        let moved = params
            .iter()
            .zip(&before)
            .filter(|(&p, b)| t.value(p).unwrap() != *b)
            .count();
        assert_eq!(moved, params.len(), "the step updates every parameter");
        t.len()
    };
    let small_stack = std::thread::Builder::new().stack_size(256 * 1024);
    let counts = small_stack
        .spawn(move || [50, 100, 200].map(nodes))
        .unwrap()
        .join()
        .expect("no stack overflow");
    assert!(counts[2] > 7_000, "{counts:?}");
    assert_eq!(
        counts[2] - counts[1],
        2 * (counts[1] - counts[0]),
        "nodes grow linearly with T: {counts:?}"
    );
}
// ANCHOR_END: long_sequence
