//! The work zerodl spreads over threads (large matrix products, the fast convolution's images) gives the same
//! numbers, bit for bit, on any number of threads, and the right numbers.

use nalgebra::DMatrix;
use rand::Rng as _;
use zerodl::by_hand::conv_fast;
use zerodl::kernels::gemm;
use zerodl::layout::ConvGeom;
use zerodl::rng::seeded;

fn random(rows: usize, cols: usize, seed: u64) -> DMatrix<f32> {
    let mut rng = seeded(seed);
    DMatrix::from_fn(rows, cols, |_, _| rng.random_range(-1.0..1.0))
}

fn on_threads<R: Send>(threads: usize, f: impl FnOnce() -> R + Send) -> R {
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .expect("a thread pool")
        .install(f)
}

#[test]
fn large_products_are_split_without_changing_a_bit() {
    // Shapes above the split threshold, in every transpose combination, tall and wide, and sizes that are not
    // multiples of the 16-wide cut.
    for &(m, k, n) in &[
        (300, 200, 70),
        (70, 300, 301),
        (1000, 64, 40),
        (33, 700, 500),
    ] {
        for (ta, tb) in [(false, false), (true, false), (false, true), (true, true)] {
            let a = if ta { random(k, m, 1) } else { random(m, k, 1) };
            let b = if tb { random(n, k, 2) } else { random(k, n, 2) };
            let one = on_threads(1, || gemm(&a, ta, &b, tb));
            for threads in [2, 3] {
                let many = on_threads(threads, || gemm(&a, ta, &b, tb));
                assert_eq!(
                    one, many,
                    "{m}x{k}x{n}, transposes {ta} {tb}, {threads} threads"
                );
            }
            // Against nalgebra's own product, in f64 to keep the reference exact enough.
            let a64 = if ta { a.transpose() } else { a.clone() }.cast::<f64>();
            let b64 = if tb { b.transpose() } else { b.clone() }.cast::<f64>();
            let err = (one.cast::<f64>() - a64 * b64).amax();
            assert!(err < 1e-4 * k as f64, "{m}x{k}x{n}: max error {err}");
        }
    }
}

#[test]
fn the_fast_convolution_gives_the_same_bits_on_any_number_of_threads() {
    // The book's conv2 at a batch that is not a multiple of the backward pass's image groups.
    let g = ConvGeom::same(32, 14, 14, 64, 5).unwrap();
    let n = 11;
    let (x, w, b) = (
        random(g.in_len(), n, 3),
        random(g.patch(), g.c_out, 4),
        random(1, g.c_out, 5),
    );
    let dy = random(g.out_len(), n, 6);
    let run = || {
        let y = conv_fast::forward(&x, &w, &b, &g).unwrap();
        let d = conv_fast::backward(&dy, &x, &w, &g, true).unwrap();
        (y, d.dx, d.dw, d.db)
    };
    let one = on_threads(1, run);
    let two = on_threads(2, run);
    assert_eq!(one, two);
}

#[test]
fn the_lstm_sweeps_its_rows_in_groups_without_changing_a_bit() {
    use zerodl::by_hand::lstm::LstmCell;
    use zerodl::by_hand::recurrent::{stack_backward, stack_forward_masked, Merge, StackSpec};
    let (d, h, steps) = (3, 5, 6);
    // Batches below one group's minimum (7), exactly two groups (16, 32), and ragged cuts (33, 50).
    for (case, &n) in [7usize, 16, 32, 33, 50].iter().enumerate() {
        for bidirectional in [false, true] {
            let spec = StackSpec {
                input: d,
                hidden: h,
                layers: 2,
                bidirectional,
                merge: Merge::PerLayer,
            };
            let seed = 100 * case as u64 + u64::from(bidirectional);
            let cells: Vec<Vec<LstmCell<f32>>> = (0..spec.layers)
                .map(|l| {
                    (0..spec.directions())
                        .map(|dir| {
                            let s = seed + 10 * l as u64 + dir as u64;
                            LstmCell {
                                wx: random(spec.layer_input(l), 4 * h, s),
                                wh: random(h, 4 * h, s + 1000),
                                b: random(1, 4 * h, s + 2000),
                            }
                        })
                        .collect()
                })
                .collect();
            let init: Vec<Vec<Vec<DMatrix<f32>>>> = (0..spec.layers)
                .map(|l| {
                    (0..spec.directions())
                        .map(|dir| {
                            let s = seed + 3000 + 10 * l as u64 + dir as u64;
                            vec![random(n, h, s), random(n, h, s + 1)]
                        })
                        .collect()
                })
                .collect();
            let x = random(n, steps * d, seed + 4000);
            let dout = random(n, steps * spec.output(), seed + 5000);
            // Padded rows too: every third row stops early.
            let lengths: Vec<usize> = (0..n)
                .map(|i| if i % 3 == 0 { 1 + i % steps } else { steps })
                .collect();
            let run = || {
                let (out, cache) =
                    stack_forward_masked(&spec, &cells, &x, Some(&init), Some(&lengths)).unwrap();
                let g = stack_backward(&spec, &cells, &cache, &dout).unwrap();
                let mut all = vec![out, g.dx];
                for (cl, il) in g.cells.iter().zip(&g.init) {
                    for (c, i) in cl.iter().zip(il) {
                        all.extend([c.wx.clone(), c.wh.clone(), c.b.clone()]);
                        all.extend(i.iter().cloned());
                    }
                }
                all
            };
            let one = on_threads(1, run);
            for threads in [2, 3] {
                let many = on_threads(threads, run);
                for (k, (a, b)) in one.iter().zip(&many).enumerate() {
                    let same = a
                        .iter()
                        .zip(b.iter())
                        .all(|(p, q)| p.to_bits() == q.to_bits());
                    assert!(
                        same && a.shape() == b.shape(),
                        "batch {n}, bidirectional {bidirectional}, {threads} threads: result {k} differs"
                    );
                }
            }
        }
    }
}
