//! Convolution and pooling, proven: on random geometries (channels, sizes, kernel, stride, padding, window),
//! naive = fast = composed from tape ops (forward and every gradient), and all equal finite differences.

mod common;

use common::*;
use nalgebra::DMatrix;
use proptest::prelude::*;
use zerodl::autograd::gradcheck::{
    grad_error, numeric_grads, projection, DEFAULT_EPS, DEFAULT_TOL,
};
use zerodl::by_hand::pool::Kind;
use zerodl::by_hand::{conv, conv_block, conv_fast, pool, pool_fast};
use zerodl::layout::{ConvGeom, PoolGeom};
use zerodl::nn::conv2d::{Conv2d, Impl};
use zerodl::nn::conv_block::{bn_relu_pool, conv_relu_pool, relu_pool};
use zerodl::nn::pool::Pool2d;
use zerodl::Tape;

/// Forward values agree up to the order of floating-point additions.
const FORWARD_TOL: f64 = 1e-12;

fn conv_geom() -> impl Strategy<Value = ConvGeom> {
    (
        1..4usize,
        1..8usize,
        1..8usize,
        1..4usize,
        1..4usize,
        1..4usize,
        1..3usize,
        0..3usize,
    )
        .prop_filter_map("kernel fits", |(ci, h, w, co, kh, kw, s, pad)| {
            ConvGeom::new(ci, h, w, co, kh, kw, s, pad).ok()
        })
}

fn conv_case() -> impl Strategy<Value = (ConvGeom, DMatrix<f64>, DMatrix<f64>, DMatrix<f64>)> {
    (conv_geom(), 1..10usize).prop_flat_map(|(g, n)| {
        (
            Just(g),
            matrix(g.in_len(), n, -2.0..2.0),
            matrix(g.patch(), g.c_out, -1.0..1.0),
            matrix(1, g.c_out, -1.0..1.0),
        )
    })
}

/// Forward value and (dx, dw, db) of the tape's layer with implementation `imp`, for `L = Σ R ⊙ Y`.
fn on_tape(
    imp: Impl,
    g: ConvGeom,
    x: &DMatrix<f64>,
    w: &DMatrix<f64>,
    b: &DMatrix<f64>,
    r: &DMatrix<f64>,
) -> (DMatrix<f64>, [DMatrix<f64>; 3]) {
    let mut t = Tape::<f64>::new();
    let layer = Conv2d {
        w: t.param(w.clone()),
        b: t.param(b.clone()),
        geom: g,
        imp,
    };
    let xv = t.leaf(x.clone());
    let y = layer.forward(&mut t, xv).unwrap();
    let grads = t.backward_with(y, r.clone()).unwrap();
    let get = |v| grads.get(v).unwrap().clone();
    (
        t.value(y).unwrap().clone(),
        [get(xv), get(layer.w), get(layer.b)],
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]

    // ANCHOR: conv_proof
    #[test]
    fn conv_naive_equals_fast_equals_composed_equals_finite_differences((g, x, w, b) in conv_case()) {
        let y = conv::forward(&x, &w, &b, &g).unwrap();
        let r = projection(y.nrows(), y.ncols(), 21);
        let hand = conv::backward(&r, &x, &w, &g).unwrap();
        let hand = [hand.dx, hand.dw, hand.db];
        for imp in [Impl::Naive, Impl::Fast, Impl::Composed] {
            let (ty, tg) = on_tape(imp, g, &x, &w, &b, &r);
            prop_assert!(grad_error(&ty, &y) < FORWARD_TOL, "{imp:?} forward, {g}");
            for (name, (h, a)) in ["dx", "dw", "db"].iter().zip(hand.iter().zip(&tg)) {
                prop_assert!(grad_error(h, a) < DEFAULT_TOL, "{imp:?} {name}, {g}:\nnaive {h}\ntape {a}");
            }
        }
        let mut f = |v: &[DMatrix<f64>]| Ok(conv::forward(&v[0], &v[1], &v[2], &g).unwrap().component_mul(&r).sum());
        let num = numeric_grads(&mut f, &[x, w, b], DEFAULT_EPS).unwrap();
        for (name, (h, n)) in ["dx", "dw", "db"].iter().zip(hand.iter().zip(&num)) {
            prop_assert!(grad_error(h, n) < DEFAULT_TOL, "{name} vs finite differences, {g}:\nnaive {h}\nnumeric {n}");
        }
    }
    // ANCHOR_END: conv_proof

    #[test]
    fn fast_conv_skips_the_input_gradient_it_is_not_asked_for((g, x, w, b) in conv_case()) {
        let y = conv_fast::forward(&x, &w, &b, &g).unwrap();
        let full = conv_fast::backward(&y, &x, &w, &g, true).unwrap();
        let lean = conv_fast::backward(&y, &x, &w, &g, false).unwrap();
        prop_assert_eq!(full.dw, lean.dw);
        prop_assert_eq!(lean.dx.len(), 0);
    }
}

fn pool_case() -> impl Strategy<Value = (PoolGeom, DMatrix<f64>)> {
    (
        1..4usize,
        1..8usize,
        1..8usize,
        1..4usize,
        1..4usize,
        1..4usize,
        1..4usize,
    )
        .prop_filter_map("window fits", |(c, h, w, ph, pw, s, n)| {
            PoolGeom::new(c, h, w, ph, pw, s).ok().map(|g| (g, n))
        })
        .prop_flat_map(|(g, n)| {
            // Distinct values (a shuffled grid) so that the maximum of a window is unique and finite
            // differences of step 1e-5 cannot change which entry wins.
            let len = g.in_len() * n;
            (
                Just(g),
                Just(Vec::from_iter(0..len))
                    .prop_shuffle()
                    .prop_map(move |perm| {
                        DMatrix::from_iterator(
                            g.in_len(),
                            n,
                            perm.into_iter().map(|v| v as f64 * 0.1 - 1.0),
                        )
                    }),
            )
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn pooling_naive_equals_fast_equals_composed_equals_finite_differences((g, x) in pool_case()) {
        for kind in [Kind::Max, Kind::Avg] {
            let y = pool::forward(kind, &x, &g).unwrap();
            let r = projection(y.nrows(), y.ncols(), 5);
            let hand = pool::backward(kind, &r, &x, &g).unwrap();
            let (fy, argmax) = pool_fast::forward(kind, &x, &g).unwrap();
            prop_assert!(grad_error(&fy, &y) < FORWARD_TOL);
            prop_assert!(grad_error(&pool_fast::backward(kind, &r, &argmax, &g).unwrap(), &hand) < DEFAULT_TOL);
            for imp in [Impl::Naive, Impl::Fast, Impl::Composed] {
                let mut t = Tape::<f64>::new();
                let xv = t.leaf(x.clone());
                let layer = Pool2d { kind, geom: g, imp };
                let yv = layer.forward(&mut t, xv).unwrap();
                prop_assert!(grad_error(t.value(yv).unwrap(), &y) < FORWARD_TOL, "{kind:?} {imp:?} forward");
                let grads = t.backward_with(yv, r.clone()).unwrap();
                prop_assert!(grad_error(grads.get(xv).unwrap(), &hand) < DEFAULT_TOL, "{kind:?} {imp:?} dx");
            }
            let mut f = |v: &[DMatrix<f64>]| Ok(pool::forward(kind, &v[0], &g).unwrap().component_mul(&r).sum());
            let num = numeric_grads(&mut f, std::slice::from_ref(&x), DEFAULT_EPS).unwrap();
            prop_assert!(grad_error(&hand, &num[0]) < DEFAULT_TOL, "{kind:?} vs finite differences");
        }
    }
}

// ANCHOR: pool_ties
/// Ties in max pooling: the first maximum in row-major window order takes the whole gradient, in all three
/// implementations.
#[test]
fn max_pool_ties_go_to_the_first_maximum() {
    let g = PoolGeom::new(1, 2, 2, 2, 2, 1).unwrap();
    let x = DMatrix::from_column_slice(4, 1, &[1.0, 3.0, 3.0, 0.0]);
    let expected = DMatrix::from_column_slice(4, 1, &[0.0, 1.0, 0.0, 0.0]);
    let one = DMatrix::from_element(1, 1, 1.0);
    assert_eq!(pool::backward(Kind::Max, &one, &x, &g).unwrap(), expected);
    let (_, argmax) = pool_fast::forward(Kind::Max, &x, &g).unwrap();
    assert_eq!(
        pool_fast::backward(Kind::Max, &one, &argmax, &g).unwrap(),
        expected
    );
    // The 2x2, stride 2 fast path: a 2x4 plane with a tie in each window, placed differently.
    let g2 = PoolGeom::new(1, 2, 4, 2, 2, 2).unwrap();
    let x2 = DMatrix::from_column_slice(8, 1, &[0.0, 5.0, 2.0, 2.0, 1.0, 5.0, 7.0, 2.0]);
    let ones = DMatrix::from_element(2, 1, 1.0);
    let (y2, argmax) = pool_fast::forward(Kind::Max, &x2, &g2).unwrap();
    assert_eq!(y2.as_slice(), &[5.0, 7.0]);
    assert_eq!(argmax, vec![1, 6]);
    assert_eq!(
        pool_fast::backward(Kind::Max, &ones, &argmax, &g2).unwrap(),
        pool::backward(Kind::Max, &ones, &x2, &g2).unwrap()
    );
    let x3 = DMatrix::from_column_slice(8, 1, &[0.0, 5.0, 2.0, 2.0, 1.0, 5.0, 1.0, 2.0]);
    let (_, argmax) = pool_fast::forward(Kind::Max, &x3, &g2).unwrap();
    assert_eq!(
        argmax,
        vec![1, 2],
        "ties go to the first maximum in row-major order"
    );
    let mut t = Tape::<f64>::new();
    let xv = t.leaf(x);
    let y = Pool2d {
        kind: Kind::Max,
        geom: g,
        imp: Impl::Composed,
    }
    .forward(&mut t, xv)
    .unwrap();
    assert_eq!(t.backward(y).unwrap().get(xv).unwrap(), &expected);
}
// ANCHOR_END: pool_ties

/// Deep learning's "convolution" is cross-correlation: true convolution with the kernel rotated by 180°.
#[test]
fn cross_correlation_is_convolution_with_a_flipped_kernel() {
    let x = DMatrix::from_fn(5, 6, |i, j| ((i * 7 + j * 3) % 5) as f64 - 2.0);
    let k = DMatrix::from_row_slice(3, 3, &[1.0, 2.0, 0.0, -1.0, 0.5, 3.0, 0.0, 1.0, -2.0]);
    // Our layer, one channel, no bias, padding 2: the "full" cross-correlation.
    let g = ConvGeom::new(1, 5, 6, 1, 3, 3, 1, 2).unwrap();
    // Image layout is row-major within the image; the kernel's weight row is (dy, dx).
    let xi = DMatrix::from_iterator(
        30,
        1,
        (0..5)
            .flat_map(|i| (0..6).map(move |j| (i, j)))
            .map(|(i, j)| x[(i, j)]),
    );
    let wi = DMatrix::from_iterator(
        9,
        1,
        (0..3)
            .flat_map(|a| (0..3).map(move |c| (a, c)))
            .map(|(a, c)| k[(a, c)]),
    );
    let y = conv::forward(&xi, &wi, &DMatrix::zeros(1, 1), &g).unwrap();
    let flipped = DMatrix::from_fn(3, 3, |a, c| k[(2 - a, 2 - c)]);
    let full = conv::convolve_full(&x, &flipped);
    assert_eq!((g.out_h(), g.out_w()), full.shape());
    for i in 0..g.out_h() {
        for j in 0..g.out_w() {
            assert!((y[(i * g.out_w() + j, 0)] - full[(i, j)]).abs() < 1e-12);
        }
    }
}

#[test]
fn geometries_that_do_not_fit_are_errors_naming_them() {
    let e = ConvGeom::new(1, 4, 4, 8, 7, 7, 1, 1)
        .unwrap_err()
        .to_string();
    assert_eq!(
        e,
        "conv2d: kernel 7x7 does not fit the input 4x4 padded by 1 (6x6): input 1x4x4, 8 kernels of 7x7, stride 1, padding 1"
    );
    assert!(ConvGeom::same(1, 28, 28, 32, 4)
        .unwrap_err()
        .to_string()
        .contains("odd kernel size"));
    assert!(ConvGeom::new(1, 4, 4, 8, 3, 3, 0, 1)
        .unwrap_err()
        .to_string()
        .contains("every size must be positive"));
    assert!(PoolGeom::new(3, 4, 4, 5, 2, 2)
        .unwrap_err()
        .to_string()
        .contains("window 5x2"));
    let mut t = Tape::<f64>::new();
    let mut rng = zerodl::rng::seeded(1);
    let layer = Conv2d::new(
        &mut t,
        ConvGeom::same(1, 28, 28, 32, 5).unwrap(),
        Impl::Fast,
        &mut rng,
    );
    let x = t.leaf(DMatrix::zeros(780, 2));
    let e = layer.forward(&mut t, x).unwrap_err().to_string();
    assert!(
        e.starts_with("conv2d: operand shapes [780x2, 25x32, 1x32]"),
        "{e}"
    );
}

/// A convolution and a pooling that fits its output (any window and stride that fit), with `n` images.
fn block_case(
) -> impl Strategy<Value = (ConvGeom, PoolGeom, DMatrix<f64>, DMatrix<f64>, DMatrix<f64>)> {
    (conv_geom(), 1..4usize, 1..4usize, 1..4usize, 1..6usize)
        .prop_filter_map("window fits", |(cg, ph, pw, s, n)| {
            PoolGeom::new(cg.c_out, cg.out_h(), cg.out_w(), ph, pw, s)
                .ok()
                .map(|pg| (cg, pg, n))
        })
        .prop_flat_map(|(cg, pg, n)| {
            (
                Just(cg),
                Just(pg),
                matrix(cg.in_len(), n, -2.0..2.0),
                matrix(cg.patch(), cg.c_out, -1.0..1.0),
                matrix(1, cg.c_out, -1.0..1.0),
            )
        })
}

/// Value and (dx, dw, db) of `pool(relu(conv(x)))` on the tape, for `L = Σ R ⊙ Y`: through the block op
/// (`fused`) or as three layers of implementation `imp`.
fn block_on_tape(
    fused: bool,
    imp: Impl,
    (cg, pg): (ConvGeom, PoolGeom),
    x: &DMatrix<f64>,
    w: &DMatrix<f64>,
    b: &DMatrix<f64>,
    r: Option<&DMatrix<f64>>,
) -> (DMatrix<f64>, [DMatrix<f64>; 3]) {
    let mut t = Tape::<f64>::new();
    let conv = Conv2d {
        w: t.param(w.clone()),
        b: t.param(b.clone()),
        geom: cg,
        imp,
    };
    let pool = Pool2d {
        kind: Kind::Max,
        geom: pg,
        imp,
    };
    let xv = t.leaf(x.clone());
    let y = if fused {
        conv_relu_pool(&mut t, &conv, &pool, xv).unwrap()
    } else {
        let h = conv.forward(&mut t, xv).unwrap();
        let h = t.relu(h).unwrap();
        pool.forward(&mut t, h).unwrap()
    };
    let value = t.value(y).unwrap().clone();
    let r = r
        .cloned()
        .unwrap_or_else(|| projection(value.nrows(), value.ncols(), 8));
    let grads = t.backward_with(y, r).unwrap();
    let get = |v| grads.get(v).unwrap().clone();
    (value, [get(xv), get(conv.w), get(conv.b)])
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]

    // ANCHOR: conv_block_proof
    /// The fused block gives exactly the numbers of the fast convolution, the ReLU and the fast pooling one after
    /// the other (forward and every gradient, `==` entry by entry), and within tolerance those of the naive layers
    /// and of finite differences wherever the loss is differentiable.
    #[test]
    fn conv_relu_pool_fused_equals_the_three_layers_bit_for_bit((cg, pg, x, w, b) in block_case()) {
        let fused = block_on_tape(true, Impl::Fast, (cg, pg), &x, &w, &b, None);
        let apart = block_on_tape(false, Impl::Fast, (cg, pg), &x, &w, &b, None);
        prop_assert_eq!(&fused.0, &apart.0, "forward, {} then {:?}", cg, pg);
        for (name, (f, a)) in ["dx", "dw", "db"].iter().zip(fused.1.iter().zip(&apart.1)) {
            prop_assert_eq!(f, a, "{}, {} then {:?}", name, cg, pg);
        }
        let naive = block_on_tape(false, Impl::Naive, (cg, pg), &x, &w, &b, None);
        prop_assert!(grad_error(&naive.0, &fused.0) < FORWARD_TOL);
        for (f, n) in fused.1.iter().zip(&naive.1) {
            prop_assert!(grad_error(f, n) < DEFAULT_TOL);
        }
        // Finite differences only away from the kinks: no convolution output within 1e-3 of zero, no window
        // whose two largest entries are within 1e-3 of each other.
        let conv_out = conv::forward(&x, &w, &b, &cg).unwrap();
        let near_kink = conv_out.iter().any(|v| v.abs() < 1e-3) || (0..x.ncols()).any(|img| {
            let plane = conv_out.column(img);
            (0..pg.c).any(|ch| (0..pg.out_h()).any(|oy| (0..pg.out_w()).any(|ox| {
                let mut vals: Vec<f64> = (0..pg.ph).flat_map(|dy| (0..pg.pw).map(move |dx| (dy, dx)))
                    .map(|(dy, dx)| plane[ch * pg.h * pg.w + (oy * pg.stride + dy) * pg.w + ox * pg.stride + dx].max(0.0))
                    .collect();
                vals.sort_by(|a, b| b.total_cmp(a));
                vals.len() > 1 && vals[0] > 0.0 && vals[0] - vals[1] < 1e-3
            })))
        });
        if !near_kink {
            let r = projection(fused.0.nrows(), fused.0.ncols(), 8);
            let mut f = |v: &[DMatrix<f64>]| {
                let y = conv::forward(&v[0], &v[1], &v[2], &cg).unwrap().map(|z| z.max(0.0));
                Ok(pool::forward(Kind::Max, &y, &pg).unwrap().component_mul(&r).sum())
            };
            let num = numeric_grads(&mut f, &[x, w, b], DEFAULT_EPS).unwrap();
            for (name, (h, n)) in ["dx", "dw", "db"].iter().zip(fused.1.iter().zip(&num)) {
                prop_assert!(grad_error(h, n) < DEFAULT_TOL, "{name} vs finite differences, {cg} then {pg:?}");
            }
        }
    }
    // ANCHOR_END: conv_block_proof
}

/// The fused block's checks: a pooling that does not fit the convolution's output, and a winner index that
/// is not this forward pass's, are errors naming the op.
#[test]
fn conv_relu_pool_refuses_a_pooling_that_does_not_fit_and_foreign_winners() {
    let cg = ConvGeom::same(2, 6, 6, 3, 3).unwrap();
    let x = DMatrix::from_fn(cg.in_len(), 2, |i, j| ((i * 7 + j * 3) % 11) as f64 - 5.0);
    let w = DMatrix::from_fn(cg.patch(), 3, |i, j| ((i + 2 * j) % 5) as f64 * 0.1 - 0.2);
    let b = DMatrix::zeros(1, 3);
    let wrong = PoolGeom::new(3, 5, 6, 2, 2, 2).unwrap();
    let e = conv_block::forward(&x, &w, &b, &cg, &wrong)
        .unwrap_err()
        .to_string();
    assert!(
        e.starts_with("conv_relu_pool") && e.contains("3 of 6x6"),
        "{e}"
    );
    let pg = PoolGeom::new(3, 6, 6, 2, 2, 2).unwrap();
    let (y, mut argmax) = conv_block::forward(&x, &w, &b, &cg, &pg).unwrap();
    let dp = DMatrix::from_element(y.nrows(), y.ncols(), 1.0);
    assert!(conv_block::backward(&dp, &x, &w, &y, &argmax, &cg, &pg, true).is_ok());
    argmax[0] = pg.in_len() as u32; // the second image's first entry, named by the first image's output
    let e = conv_block::backward(&dp, &x, &w, &y, &argmax, &cg, &pg, true)
        .unwrap_err()
        .to_string();
    assert!(
        e.starts_with("conv_relu_pool backward") && e.contains("outside its own image"),
        "{e}"
    );
    let e = conv_block::backward(&dp, &x, &w, &y, &argmax[1..], &cg, &pg, true)
        .unwrap_err()
        .to_string();
    assert!(e.contains("argmax entries"), "{e}");
}

/// The bits of the loss and of every parameter's gradient of one step of `net` on `x`, through its own
/// `logits` (its blocks fused on the fast path), then through `features`, the pooling and the head, layer by layer.
fn cnn_bits_both_ways(
    t: &mut Tape<f32>,
    net: &zerodl::nn::cnn::Cnn,
    x: &DMatrix<f32>,
    labels: &[usize],
) -> (Vec<u32>, Vec<u32>) {
    use zerodl::nn::{Classifier, Module};
    let mut run = |fused: bool| {
        t.reset();
        let xv = t.constant(x.clone());
        let logits = if fused {
            net.logits(t, xv).unwrap()
        } else {
            let images = t.transpose(xv).unwrap();
            let [_, f2] = net.features(t, images).unwrap();
            let h = net.pool2.forward(t, f2).unwrap();
            let flat = t.transpose(h).unwrap();
            let h = net.fc1.forward(t, flat).unwrap();
            let h = t.relu(h).unwrap();
            net.fc2.forward(t, h).unwrap()
        };
        let loss = t.softmax_cross_entropy(logits, labels).unwrap();
        let grads = t.backward(loss).unwrap();
        let mut bits = vec![t.value(loss).unwrap()[0].to_bits()];
        for (_, p) in net.named_params() {
            bits.extend(grads.get(p).unwrap().iter().map(|v| v.to_bits()));
        }
        bits
    };
    (run(true), run(false))
}

/// The book's CNN records each conv → ReLU → pool block as one op on the fast path: its loss and every
/// parameter's gradient are the bits of the same network run as separate layers (`f32`, the training type).
#[test]
fn the_books_cnn_gives_the_same_bits_with_its_blocks_fused() {
    use zerodl::nn::cnn::Cnn;
    let mut t = Tape::<f32>::new();
    let net = Cnn::book(&mut t, Impl::Fast, &mut zerodl::rng::seeded(3)).unwrap();
    let x = DMatrix::from_fn(5, 784, |i, j| {
        (((i * 131 + j * 71) % 97) as f32 / 97.0) - 0.3
    });
    let labels = [3, 1, 4, 1, 5];
    let (fused, apart) = cnn_bits_both_ways(&mut t, &net, &x, &labels);
    assert_eq!(fused.len(), apart.len());
    let differ = fused.iter().zip(&apart).filter(|(a, b)| a != b).count();
    assert_eq!(differ, 0, "{differ} of {} numbers differ", fused.len());
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]

    /// After batch norm only the ReLU and the pooling join: the same numbers as the two layers (`==`), and
    /// finite differences on inputs away from the kinks (a shuffled grid centred off zero, as for pooling).
    #[test]
    fn relu_pool_fused_equals_relu_then_pooling_bit_for_bit((g, x) in pool_case()) {
        let x = x.map(|v| v + 0.05);
        let r = {
            let (y, _) = conv_block::relu_pool_forward(&x, &g).unwrap();
            projection(y.nrows(), y.ncols(), 4)
        };
        let mut results = Vec::new();
        for fused in [true, false] {
            let mut t = Tape::<f64>::new();
            let xv = t.leaf(x.clone());
            let pool = Pool2d { kind: Kind::Max, geom: g, imp: Impl::Fast };
            let y = if fused {
                relu_pool(&mut t, &pool, xv).unwrap()
            } else {
                let h = t.relu(xv).unwrap();
                pool.forward(&mut t, h).unwrap()
            };
            let grads = t.backward_with(y, r.clone()).unwrap();
            results.push((t.value(y).unwrap().clone(), grads.get(xv).unwrap().clone()));
        }
        prop_assert_eq!(&results[0], &results[1]);
        let mut f = |v: &[DMatrix<f64>]| Ok(pool::forward(Kind::Max, &v[0].map(|z| z.max(0.0)), &g).unwrap().component_mul(&r).sum());
        let num = numeric_grads(&mut f, std::slice::from_ref(&x), DEFAULT_EPS).unwrap();
        prop_assert!(grad_error(&results[0].1, &num[0]) < DEFAULT_TOL);
    }
}

#[test]
fn relu_pool_refuses_foreign_winners_and_wrong_shapes() {
    let g = PoolGeom::new(2, 4, 4, 2, 2, 2).unwrap();
    let x = DMatrix::from_fn(g.in_len(), 2, |i, j| ((i * 5 + j) % 7) as f64 - 3.0);
    let e = conv_block::relu_pool_forward(&x.rows(0, 31).into_owned(), &g)
        .unwrap_err()
        .to_string();
    assert!(e.starts_with("relu_pool") && e.contains("31x2"), "{e}");
    let (y, mut argmax) = conv_block::relu_pool_forward(&x, &g).unwrap();
    let dp = DMatrix::from_element(y.nrows(), 2, 1.0);
    argmax[y.nrows()] = 0; // the second image's first output, won by the first image's input
    let e = conv_block::relu_pool_backward(&dp, &y, &argmax, &g)
        .unwrap_err()
        .to_string();
    assert!(
        e.starts_with("relu_pool backward") && e.contains("outside its own image"),
        "{e}"
    );
}

/// With batch norm, the book's CNN joins each ReLU and pooling: still the bits of the layers apart.
#[test]
fn the_books_cnn_with_batch_norm_gives_the_same_bits_with_relu_and_pooling_fused() {
    use zerodl::nn::batch_norm::BnImpl;
    use zerodl::nn::cnn::Cnn;
    let mut t = Tape::<f32>::new();
    let bn = BnImpl::Fused;
    let net = Cnn::book_bn(&mut t, Impl::Fast, bn, &mut zerodl::rng::seeded(4)).unwrap();
    let x = DMatrix::from_fn(4, 784, |i, j| {
        (((i * 37 + j * 59) % 101) as f32 / 101.0) - 0.4
    });
    let labels = [7, 2, 0, 9];
    let (fused, apart) = cnn_bits_both_ways(&mut t, &net, &x, &labels);
    let differ = fused.iter().zip(&apart).filter(|(a, b)| a != b).count();
    assert_eq!(differ, 0, "{differ} of {} numbers differ", fused.len());
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Batch norm (training, image layout), ReLU and pooling as one op: the numbers of the three layers, the
    /// running statistics included (`==`), and finite differences away from the kinks.
    #[test]
    fn bn_relu_pool_fused_equals_the_three_layers_bit_for_bit((g, x) in pool_case(), shift in -0.5..0.5f64) {
        use zerodl::nn::batch_norm::{BatchNorm, BnImpl, Form};
        let x = x.map(|v| v * 0.7 + shift);
        let gamma = DMatrix::from_fn(1, g.c, |_, c| 0.5 + 0.3 * c as f64);
        let beta = DMatrix::from_fn(1, g.c, |_, c| 0.1 - 0.2 * c as f64);
        let (y0, _, _) = conv_block::bn_relu_pool_forward(&x, &gamma, &beta, 1e-8, &g).unwrap();
        let r = projection(y0.nrows(), y0.ncols(), 6);
        let mut results = Vec::new();
        for fused in [true, false] {
            let mut t = Tape::<f64>::new();
            let mut bn = BatchNorm::new(&mut t, Form::Conv { channels: g.c, hw: g.h * g.w }, BnImpl::Fused);
            bn.gamma = t.param(gamma.clone());
            bn.beta = t.param(beta.clone());
            let xv = t.leaf(x.clone());
            let pool = Pool2d { kind: Kind::Max, geom: g, imp: Impl::Fast };
            let y = if fused {
                bn_relu_pool(&mut t, &bn, &pool, xv).unwrap()
            } else {
                let h = bn.forward(&mut t, xv).unwrap();
                let h = t.relu(h).unwrap();
                pool.forward(&mut t, h).unwrap()
            };
            let grads = t.backward_with(y, r.clone()).unwrap();
            let get = |v| grads.get(v).unwrap().clone();
            results.push((t.value(y).unwrap().clone(), [get(xv), get(bn.gamma), get(bn.beta)], bn.running()));
        }
        prop_assert_eq!(&results[0], &results[1], "{:?}", g);
        // Finite differences where the loss is smooth: every normalized value away from zero, every window's
        // winner clear of the runner-up.
        let bn_out = |x: &DMatrix<f64>, gm: &DMatrix<f64>, bt: &DMatrix<f64>| {
            zerodl::by_hand::batch_norm::forward_conv(x, g.c, gm, bt, 1e-8).unwrap().0
        };
        let y = bn_out(&x, &gamma, &beta);
        let smooth = y.iter().all(|v| v.abs() > 1e-3) && (0..x.ncols()).all(|img| {
            (0..g.c).all(|ch| (0..g.out_h()).all(|oy| (0..g.out_w()).all(|ox| {
                let mut vals: Vec<f64> = (0..g.ph).flat_map(|dy| (0..g.pw).map(move |dx| (dy, dx)))
                    .map(|(dy, dx)| y[(ch * g.h * g.w + (oy * g.stride + dy) * g.w + ox * g.stride + dx, img)].max(0.0))
                    .collect();
                vals.sort_by(|a, b| b.total_cmp(a));
                vals.len() < 2 || vals[0] == 0.0 || vals[0] - vals[1] > 1e-3
            })))
        });
        if smooth {
            let mut f = |v: &[DMatrix<f64>]| {
                let y = bn_out(&v[0], &v[1], &v[2]).map(|z| z.max(0.0));
                Ok(pool::forward(Kind::Max, &y, &g).unwrap().component_mul(&r).sum())
            };
            let num = numeric_grads(&mut f, &[x, gamma, beta], DEFAULT_EPS).unwrap();
            for (name, (a, n)) in ["dx", "dgamma", "dbeta"].iter().zip(results[0].1.iter().zip(&num)) {
                prop_assert!(grad_error(a, n) < DEFAULT_TOL, "{name} vs finite differences, {g:?}");
            }
        }
    }
}

#[test]
fn bn_relu_pool_refuses_wrong_shapes_and_foreign_winners() {
    let g = PoolGeom::new(2, 4, 4, 2, 2, 2).unwrap();
    let x = DMatrix::from_fn(g.in_len(), 2, |i, j| ((i * 5 + j) % 7) as f64 - 3.0);
    let (gamma, beta) = (DMatrix::from_element(1, 2, 1.0), DMatrix::zeros(1, 2));
    let e = conv_block::bn_relu_pool_forward(&x, &DMatrix::zeros(1, 3), &beta, 1e-8, &g)
        .unwrap_err()
        .to_string();
    assert!(e.starts_with("bn_relu_pool") && e.contains("1x3"), "{e}");
    let (y, mut argmax, stats) =
        conv_block::bn_relu_pool_forward(&x, &gamma, &beta, 1e-8, &g).unwrap();
    let dp = DMatrix::from_element(y.nrows(), 2, 1.0);
    assert!(conv_block::bn_relu_pool_backward(&dp, &x, &y, &argmax, &stats, &gamma, &g).is_ok());
    argmax[0] = g.in_len() as u32;
    let e = conv_block::bn_relu_pool_backward(&dp, &x, &y, &argmax, &stats, &gamma, &g)
        .unwrap_err()
        .to_string();
    assert!(
        e.starts_with("bn_relu_pool backward") && e.contains("outside its own image"),
        "{e}"
    );
}

/// The fast convolution as it was computed before its patches were read in place: im2col into a patch matrix and
/// matrixmultiply's product per image, the weight gradient summed over groups of four images (the groups added in
/// order), the input gradient by col2im or, where the layer takes it as a convolution of the padded error with
/// the flipped kernels (`conv_fast::input_grad_as_conv`), by that convolution's patch matrix. `f32`, where the
/// gathered kernel runs.
fn conv_by_patch_matrix(
    x: &DMatrix<f32>,
    w: &DMatrix<f32>,
    b: &DMatrix<f32>,
    dy: &DMatrix<f32>,
    g: &ConvGeom,
) -> (DMatrix<f32>, DMatrix<f32>, DMatrix<f32>) {
    use zerodl::kernels::{packed_gemm, Strided};
    let (n, p, k, c) = (x.ncols(), g.positions(), g.patch(), g.c_out);
    let (mut y, mut dx) = (
        DMatrix::zeros(g.out_len(), n),
        DMatrix::zeros(g.in_len(), n),
    );
    let mut dw = vec![0f32; k * c];
    let (mut pad, mut cols, mut dcols) = (Vec::new(), vec![0f32; p * k], vec![0f32; p * k]);
    for group in (0..n).collect::<Vec<_>>().chunks(4) {
        let mut part = vec![0f32; k * c];
        for &img in group {
            let xp = conv_fast::padded(x.column(img).as_slice(), g, &mut pad).to_vec();
            conv_fast::im2col(&xp, g, &mut cols);
            let (ol, il) = (g.out_len(), g.in_len());
            let yn = &mut y.as_mut_slice()[img * ol..(img + 1) * ol];
            packed_gemm(
                p,
                k,
                c,
                Strided::col_major(&cols, p, false),
                Strided::of(w, false),
                0.0,
                yn,
                p,
            );
            for (ch, run) in yn.chunks_exact_mut(p).enumerate() {
                run.iter_mut().for_each(|v| *v += b[(0, ch)]);
            }
            let gn = dy.column(img);
            let gv = Strided::col_major(gn.as_slice(), p, false);
            packed_gemm(
                k,
                p,
                c,
                Strided::col_major(&cols, p, true),
                gv,
                1.0,
                &mut part,
                k,
            );
            let dxn = &mut dx.as_mut_slice()[img * il..(img + 1) * il];
            if let Some(t) = conv_fast::input_grad_as_conv::<f32>(g) {
                // A convolution of the padded error with the kernels flipped, each patch a row of a matrix.
                let flipped = DMatrix::from_fn(t.patch(), t.c_out, |e, ci| {
                    let (co, r) = (e / (g.kh * g.kw), e % (g.kh * g.kw));
                    let (dy, dx) = (g.kh - 1 - r / g.kw, g.kw - 1 - r % g.kw);
                    w[((ci * g.kh + dy) * g.kw + dx, co)]
                });
                let gp = conv_fast::padded(gn.as_slice(), &t, &mut pad).to_vec();
                let mut tcols = vec![0f32; t.positions() * t.patch()];
                conv_fast::im2col(&gp, &t, &mut tcols);
                let tc = Strided::col_major(&tcols, t.positions(), false);
                let (pt, kt) = (t.positions(), t.patch());
                packed_gemm(
                    pt,
                    kt,
                    t.c_out,
                    tc,
                    Strided::of(&flipped, false),
                    0.0,
                    dxn,
                    pt,
                );
            } else {
                packed_gemm(p, c, k, gv, Strided::of(w, true), 0.0, &mut dcols, p);
                conv_fast::col2im(&dcols, g, &mut pad, dxn);
            }
        }
        dw.iter_mut().zip(&part).for_each(|(a, &v)| *a += v);
    }
    (y, DMatrix::from_vec(k, c, dw), dx)
}

fn f32_conv_case() -> impl Strategy<Value = (ConvGeom, usize, u64)> {
    (
        (
            prop_oneof![1..10usize, 16..24usize],
            1..12usize,
            1..12usize,
            1..40usize,
        ),
        (1..6usize, 1..6usize, any::<bool>(), 1..3usize, 0..3usize),
        1..10usize,
        any::<u64>(),
    )
        .prop_filter_map(
            "kernel fits",
            |((ci, h, w, co), (kh, kw, square, s, pad), n, seed)| {
                // Square kernels half the time: the input gradient is a flipped convolution only for those.
                let kw = if square { kh } else { kw };
                Some((ConvGeom::new(ci, h, w, co, kh, kw, s, pad).ok()?, n, seed))
            },
        )
}

/// Geometries where the `f32` input gradient is a convolution of the padded error with the flipped kernels,
/// on a CPU where the gathered kernel runs: stride 1, square kernels, `pad < k`, 16 or more input channels and
/// flipped patches (`C_out·k²`) of 64 entries or more.
fn flipped_conv_case() -> impl Strategy<Value = (ConvGeom, usize, u64)> {
    (
        16..24usize,
        1..9usize,
        1..9usize,
        16..24usize,
        2..6usize,
        0..6usize,
        1..4usize,
        any::<u64>(),
    )
        .prop_filter_map("kernel fits", |(ci, h, w, co, k, pad, n, seed)| {
            Some((
                ConvGeom::new(ci, h, w, co, k, k, 1, pad.min(k - 1)).ok()?,
                n,
                seed,
            ))
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// In `f32` on a CPU with AVX2 and FMA the fast convolution reads each image's patches where they lie
    /// (`kernels::gathered`), with no patch matrix: its output and its weight and input gradients are those of the
    /// patch-matrix computation, bit for bit, on output channels around the kernel's 16-row tiles (the forward
    /// product takes the kernel for patches of 64 entries or more, up to 9 channels of 5 x 5 here).
    #[test]
    fn fast_conv_in_f32_gives_the_patch_matrix_bits((g, n, seed) in f32_conv_case()) {
        use rand::{Rng, SeedableRng};
        let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
        let mut draw = |r: usize, c: usize| DMatrix::<f32>::from_fn(r, c, |_, _| rng.random_range(-1.0..1.0));
        let (x, w, b, dy) = (draw(g.in_len(), n), draw(g.patch(), g.c_out), draw(1, g.c_out), draw(g.out_len(), n));
        let (y0, dw0, dx0) = conv_by_patch_matrix(&x, &w, &b, &dy, &g);
        let y = conv_fast::forward(&x, &w, &b, &g).unwrap();
        let grads = conv_fast::backward(&dy, &x, &w, &g, true).unwrap();
        let bits = |m: &DMatrix<f32>| m.iter().map(|v| v.to_bits()).collect::<Vec<_>>();
        prop_assert_eq!(bits(&y), bits(&y0), "forward, {}", g);
        prop_assert_eq!(bits(&grads.dw), bits(&dw0), "weight gradient, {}", g);
        prop_assert_eq!(bits(&grads.dx), bits(&dx0), "input gradient, {}", g);
    }

    /// The input gradient taken as a convolution of the padded error with the flipped kernels is the input
    /// gradient: the `f32` fast layer's against the naive `f64` layer's (5.2 and 5.3, summed per entry), to a
    /// relative 1e-4 of the largest entry: `f32` rounding over at most 23·5·5 terms of size 1 stays far below it,
    /// and a kernel flipped the wrong way, or an offset off by one, is off by order one.
    #[test]
    fn the_input_gradient_as_a_flipped_convolution_is_the_input_gradient((g, n, seed) in flipped_conv_case()) {
        use rand::{Rng, SeedableRng};
        prop_assert_eq!(
            conv_fast::input_grad_as_conv::<f32>(&g).is_some(),
            zerodl::kernels::gathered::preferred(),
            "the flipped convolution is taken wherever the gathered kernel runs, {}", g
        );
        let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
        let mut draw = |r: usize, c: usize| DMatrix::<f64>::from_fn(r, c, |_, _| rng.random_range(-1.0..1.0));
        let (x, w, dy) = (draw(g.in_len(), n), draw(g.patch(), g.c_out), draw(g.out_len(), n));
        let naive = conv::backward(&dy, &x, &w, &g).unwrap().dx;
        let f = |m: &DMatrix<f64>| m.map(|v| v as f32);
        let fast = conv_fast::backward(&f(&dy), &f(&x), &f(&w), &g, true).unwrap().dx;
        let scale = naive.amax().max(1.0);
        let err = naive.iter().zip(fast.iter()).map(|(a, &b)| (a - b as f64).abs()).fold(0.0, f64::max);
        prop_assert!(err / scale < 1e-4, "{}: largest difference {:e} against entries up to {:e}", g, err, scale);
    }
}
