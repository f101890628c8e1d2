//! The GRU, proven as every layer is, in both forms (the book's reset before the recurrent product, and
//! PyTorch's after it): for random lengths (1..=12), batches, input and hidden sizes, depths (1..=3), one or two
//! directions and both merges, the hand-derived BPTT = the composed tape version (autograd through the unrolled
//! cell) = the fused tape op = finite differences; and one layer from a given initial state in both directions.

mod common;

use common::*;
use nalgebra::DMatrix;
use proptest::prelude::*;
use zerodl::autograd::gradcheck::{
    grad_error, numeric_grads, projection, DEFAULT_EPS, DEFAULT_TOL,
};
use zerodl::by_hand::gru::{GruCell, Reset};
use zerodl::by_hand::recurrent::{self as hand, Merge, StackSpec};
use zerodl::nn::gru::{Gru, GruInit, GruVars};
use zerodl::nn::recurrent::{layer, RecImpl};
use zerodl::nn::Module;
use zerodl::rng::seeded;
use zerodl::Tape;

const INIT: GruInit = GruInit::Uniform { a: 0.7 };

fn per_cell(reset: Reset) -> usize {
    if reset == Reset::After {
        7
    } else {
        6
    }
}

fn flatten(cells: &[Vec<GruCell<f64>>]) -> Vec<DMatrix<f64>> {
    let each = |c: &GruCell<f64>| -> Vec<DMatrix<f64>> {
        use zerodl::by_hand::recurrent::Cell;
        c.matrices()
    };
    cells.iter().flatten().flat_map(each).collect()
}

fn cell_from(m: &[DMatrix<f64>], reset: Reset) -> GruCell<f64> {
    let h = m[4].nrows();
    let bah = if reset == Reset::After {
        m[6].clone()
    } else {
        DMatrix::zeros(1, h)
    };
    GruCell::new(
        &m[0],
        m[1].clone(),
        m[2].clone(),
        &m[3],
        m[4].clone(),
        m[5].clone(),
        bah,
        reset,
    )
}

fn unflatten(spec: &StackSpec, m: &[DMatrix<f64>], reset: Reset) -> Vec<Vec<GruCell<f64>>> {
    let (dirs, k) = (spec.directions(), per_cell(reset));
    (0..spec.layers)
        .map(|l| {
            (0..dirs)
                .map(|d| cell_from(&m[k * (l * dirs + d)..], reset))
                .collect()
        })
        .collect()
}

fn stack_case() -> impl Strategy<Value = (StackSpec, usize, DMatrix<f64>, u64, Reset)> {
    (
        1..=12usize,
        1..=3usize,
        1..=3usize,
        1..=4usize,
        1..=3usize,
        any::<bool>(),
        any::<bool>(),
        any::<u64>(),
        any::<bool>(),
    )
        .prop_flat_map(
            |(steps, n, d, h, layers, bidirectional, book, seed, after)| {
                let spec = StackSpec {
                    input: d,
                    hidden: h,
                    layers,
                    bidirectional,
                    merge: if book { Merge::Book } else { Merge::PerLayer },
                };
                let reset = if after { Reset::After } else { Reset::Before };
                (
                    Just(spec),
                    Just(steps),
                    matrix(n, steps * d, -1.5..1.5),
                    Just(seed),
                    Just(reset),
                )
            },
        )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn stack_by_hand_equals_composed_equals_fused_equals_finite_differences(
        (spec, steps, x, seed, reset) in stack_case()
    ) {
        let mut t = Tape::<f64>::new();
        let lstm = Gru::gru(&mut t, spec, reset, INIT, RecImpl::Fused, &mut seeded(seed)).unwrap();
        let cells = lstm.values(&t).unwrap();
        let (out, cache) = hand::stack_forward(&spec, &cells, &x, None).unwrap();
        prop_assert_eq!(out.shape(), (x.nrows(), steps * spec.output()));
        let r = projection(out.nrows(), out.ncols(), seed ^ 1);
        let g = hand::stack_backward(&spec, &cells, &cache, &r).unwrap();
        let mut hand_grads = vec![g.dx];
        hand_grads.extend(flatten(&g.cells));

        for imp in [RecImpl::Composed, RecImpl::Fused] {
            let mut t = Tape::<f64>::new();
            let lstm = Gru::gru(&mut t, spec, reset, INIT, imp, &mut seeded(seed)).unwrap();
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
            let cells = unflatten(&spec, &v[1..], reset);
            hand::stack_forward(&spec, &cells, &v[0], None).map(|(y, _)| y.component_mul(&r).sum())
        };
        let num = numeric_grads(&mut f, &inputs, DEFAULT_EPS).unwrap();
        for (i, (a, n)) in hand_grads.iter().zip(&num).enumerate() {
            prop_assert!(grad_error(a, n) < DEFAULT_TOL, "gradient {} vs finite differences:\n{}\n{}", i, a, n);
        }
    }

    #[test]
    fn one_layer_from_an_initial_state_in_both_directions(
        (steps, x, h0, seed, reverse, after) in (1..=12usize, 1..=3usize, 1..=4usize, 1..=4usize)
            .prop_flat_map(|(steps, n, d, h)| (
                Just(steps),
                matrix(n, steps * d, -1.5..1.5),
                matrix(n, h, -0.9..0.9),
                any::<u64>(),
                any::<bool>(),
                any::<bool>(),
            ))
    ) {
        let reset = if after { Reset::After } else { Reset::Before };
        let (d, h) = (x.ncols() / steps, h0.ncols());
        let mut t = Tape::<f64>::new();
        let cell = GruVars::new(&mut t, d, h, reset, INIT, &mut seeded(seed));
        let hand_cell = {
            use zerodl::nn::recurrent::TapeCell;
            cell.values(&t).unwrap()
        };
        let init = [h0.clone()];
        let (hs, cache) = hand::layer_forward(&hand_cell, &x, Some(&init), reverse).unwrap();
        let r = projection(hs.nrows(), hs.ncols(), seed);
        let g = hand::layer_backward(&hand_cell, &x, &cache, &r, reverse).unwrap();
        let mut hand_grads = vec![g.dx];
        hand_grads.extend(flatten(&[vec![g.cell]]));
        hand_grads.extend(g.d_init);
        let vars: Vec<_> = {
            use zerodl::nn::recurrent::TapeCell;
            cell.named_params().into_iter().map(|(_, v)| v).collect()
        };
        for imp in [RecImpl::Composed, RecImpl::Fused] {
            t.reset();
            let (xv, h0v) = (t.leaf(x.clone()), t.leaf(h0.clone()));
            let y = layer(&mut t, imp, &cell, xv, Some(&[h0v]), reverse).unwrap();
            prop_assert!(grad_error(t.value(y).unwrap(), &hs) < 1e-12);
            let gr = t.backward_with(y, r.clone()).unwrap();
            let mut all = vec![xv];
            all.extend(vars.iter().copied());
            all.push(h0v);
            for (i, v) in all.into_iter().enumerate() {
                let got = gr.get_or_zeros(&t, v).unwrap();
                prop_assert!(grad_error(&got, &hand_grads[i]) < DEFAULT_TOL, "{:?} gradient {}", imp, i);
            }
        }
        let k = per_cell(reset);
        let mut f = |v: &[DMatrix<f64>]| {
            let c = cell_from(&v[1..], reset);
            hand::layer_forward(&c, &v[0], Some(&[v[k + 1].clone()]), reverse)
                .map(|(y, _)| y.component_mul(&r).sum())
        };
        let mut inputs = vec![x];
        inputs.extend(flatten(&[vec![hand_cell.clone()]]));
        inputs.push(h0);
        let num = numeric_grads(&mut f, &inputs, DEFAULT_EPS).unwrap();
        for (i, (a, n)) in hand_grads.iter().zip(&num).enumerate() {
            prop_assert!(grad_error(a, n) < DEFAULT_TOL, "gradient {} vs finite differences", i);
        }
    }
}

#[test]
fn the_two_forms_differ_and_name_their_parameters() {
    let spec = StackSpec {
        input: 3,
        hidden: 2,
        layers: 1,
        bidirectional: true,
        merge: Merge::Book,
    };
    let x = projection(2, 4 * 3, 5);
    let mut outs = Vec::new();
    for reset in [Reset::Before, Reset::After] {
        let mut t = Tape::<f64>::new();
        let gru = Gru::gru(&mut t, spec, reset, INIT, RecImpl::Fused, &mut seeded(1)).unwrap();
        let names: Vec<String> = gru.named_params().into_iter().map(|(n, _)| n).collect();
        let k = per_cell(reset);
        assert_eq!(names.len(), 2 * k);
        assert_eq!(names[0], "layer0.forward.w_zx");
        assert_eq!(names[k + 4], "layer0.reverse.w_ah");
        assert_eq!(
            names.iter().any(|n| n.ends_with("b_ah")),
            reset == Reset::After
        );
        let xv = t.constant(x.clone());
        let y = gru.forward(&mut t, xv).unwrap();
        outs.push(t.value(y).unwrap().clone());
    }
    // Same draws for the shared weights, but the reset acts elsewhere (and b_ah is drawn too): different outputs.
    assert!(grad_error(&outs[0], &outs[1]) > 1e-6);
}
