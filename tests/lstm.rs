//! The LSTM, proven as every layer is: for random lengths (1..=12), batches, input and hidden sizes, depths
//! (1..=3), one or two directions and both merges, the hand-derived BPTT = the composed tape version
//! (autograd through the unrolled cell) = the fused tape op = finite differences; and one layer from given
//! initial states `h0`, `c0` in both directions.

mod common;

use common::*;
use nalgebra::DMatrix;
use proptest::prelude::*;
use zerodl::autograd::gradcheck::{
    grad_error, numeric_grads, projection, DEFAULT_EPS, DEFAULT_TOL,
};
use zerodl::by_hand::lstm::LstmCell;
use zerodl::by_hand::recurrent::{self as hand, Merge, StackSpec};
use zerodl::nn::lstm::{Lstm, LstmInit, LstmVars};
use zerodl::nn::recurrent::{layer, RecImpl};
use zerodl::nn::Module;
use zerodl::rng::seeded;
use zerodl::Tape;

const INIT: LstmInit = LstmInit::Uniform {
    a: 0.7,
    forget_bias: 0.5,
};

fn flatten(cells: &[Vec<LstmCell<f64>>]) -> Vec<DMatrix<f64>> {
    let per_cell = |c: &LstmCell<f64>| [c.wx.clone(), c.wh.clone(), c.b.clone()];
    cells.iter().flatten().flat_map(per_cell).collect()
}

fn unflatten(spec: &StackSpec, m: &[DMatrix<f64>]) -> Vec<Vec<LstmCell<f64>>> {
    let dirs = spec.directions();
    (0..spec.layers)
        .map(|l| {
            (0..dirs)
                .map(|d| {
                    let k = 3 * (l * dirs + d);
                    LstmCell {
                        wx: m[k].clone(),
                        wh: m[k + 1].clone(),
                        b: m[k + 2].clone(),
                    }
                })
                .collect()
        })
        .collect()
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
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn stack_by_hand_equals_composed_equals_fused_equals_finite_differences(
        (spec, steps, x, seed) in stack_case()
    ) {
        let mut t = Tape::<f64>::new();
        let lstm = Lstm::lstm(&mut t, spec, INIT, RecImpl::Fused, &mut seeded(seed)).unwrap();
        let cells = lstm.values(&t).unwrap();
        let (out, cache) = hand::stack_forward(&spec, &cells, &x, None).unwrap();
        prop_assert_eq!(out.shape(), (x.nrows(), steps * spec.output()));
        let r = projection(out.nrows(), out.ncols(), seed ^ 1);
        let g = hand::stack_backward(&spec, &cells, &cache, &r).unwrap();
        let mut hand_grads = vec![g.dx];
        hand_grads.extend(flatten(&g.cells));

        for imp in [RecImpl::Composed, RecImpl::Fused] {
            let mut t = Tape::<f64>::new();
            let lstm = Lstm::lstm(&mut t, spec, INIT, imp, &mut seeded(seed)).unwrap();
            let xv = t.leaf(x.clone());
            let y = lstm.forward(&mut t, xv).unwrap();
            prop_assert!(grad_error(t.value(y).unwrap(), &out) < 1e-12, "{:?} forward", imp);
            let gr = t.backward_with(y, r.clone()).unwrap();
            let mut tape_grads = vec![gr.get(xv).unwrap().clone()];
            tape_grads.extend(lstm.params().iter().map(|&p| gr.get_or_zeros(&t, p).unwrap()));
            for (i, (a, b)) in tape_grads.iter().zip(&hand_grads).enumerate() {
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

    #[test]
    fn one_layer_from_initial_states_in_both_directions(
        (steps, x, h0, c0, seed, reverse) in (1..=12usize, 1..=3usize, 1..=4usize, 1..=4usize)
            .prop_flat_map(|(steps, n, d, h)| (
                Just(steps),
                matrix(n, steps * d, -1.5..1.5),
                matrix(n, h, -0.9..0.9),
                matrix(n, h, -0.9..0.9),
                any::<u64>(),
                any::<bool>(),
            ))
    ) {
        let (d, h) = (x.ncols() / steps, h0.ncols());
        let mut t = Tape::<f64>::new();
        let cell = LstmVars::new(&mut t, d, h, INIT, &mut seeded(seed));
        let hand_cell = LstmCell {
            wx: t.value(cell.wx).unwrap().clone(),
            wh: t.value(cell.wh).unwrap().clone(),
            b: t.value(cell.b).unwrap().clone(),
        };
        let init = [h0.clone(), c0.clone()];
        let (hs, cache) = hand::layer_forward(&hand_cell, &x, Some(&init), reverse).unwrap();
        let r = projection(hs.nrows(), hs.ncols(), seed);
        let g = hand::layer_backward(&hand_cell, &x, &cache, &r, reverse).unwrap();
        let mut hand_grads = vec![g.dx, g.cell.wx, g.cell.wh, g.cell.b];
        hand_grads.extend(g.d_init);
        for imp in [RecImpl::Composed, RecImpl::Fused] {
            t.reset();
            let (xv, h0v, c0v) = (t.leaf(x.clone()), t.leaf(h0.clone()), t.leaf(c0.clone()));
            let y = layer(&mut t, imp, &cell, xv, Some(&[h0v, c0v]), reverse).unwrap();
            prop_assert!(grad_error(t.value(y).unwrap(), &hs) < 1e-12);
            let gr = t.backward_with(y, r.clone()).unwrap();
            for (i, v) in [xv, cell.wx, cell.wh, cell.b, h0v, c0v].into_iter().enumerate() {
                prop_assert!(grad_error(gr.get(v).unwrap(), &hand_grads[i]) < DEFAULT_TOL, "{:?} gradient {}", imp, i);
            }
        }
        let mut f = |v: &[DMatrix<f64>]| {
            let c = LstmCell { wx: v[1].clone(), wh: v[2].clone(), b: v[3].clone() };
            hand::layer_forward(&c, &v[0], Some(&[v[4].clone(), v[5].clone()]), reverse)
                .map(|(y, _)| y.component_mul(&r).sum())
        };
        let inputs = [x, hand_cell.wx.clone(), hand_cell.wh.clone(), hand_cell.b.clone(), h0, c0];
        let num = numeric_grads(&mut f, &inputs, DEFAULT_EPS).unwrap();
        for (i, (a, n)) in hand_grads.iter().zip(&num).enumerate() {
            prop_assert!(grad_error(a, n) < DEFAULT_TOL, "gradient {} vs finite differences", i);
        }
    }
}

#[test]
fn parameters_are_named_by_layer_direction_and_gate_matrix() {
    let mut t = Tape::<f64>::new();
    let spec = StackSpec {
        input: 3,
        hidden: 2,
        layers: 2,
        bidirectional: true,
        merge: Merge::PerLayer,
    };
    let lstm = Lstm::lstm(&mut t, spec, INIT, RecImpl::Fused, &mut seeded(1)).unwrap();
    let names: Vec<String> = lstm.named_params().into_iter().map(|(n, _)| n).collect();
    assert_eq!(names[0], "layer0.forward.w_x");
    assert_eq!(names[4], "layer0.reverse.w_h");
    assert_eq!(names[11], "layer1.reverse.b");
    // Layer 1 reads both directions of layer 0: W_x is 2H x 4H.
    let wx1 = lstm.cells[1][0].wx;
    assert_eq!(t.value(wx1).unwrap().shape(), (4, 8));
    // The forget gate's block of the bias starts at the forget bias; the others at the uniform draw.
    let b = t.value(lstm.cells[0][0].b).unwrap();
    assert!(b.columns(2, 2).iter().all(|&v| (v - 0.5).abs() <= 0.7));
}
