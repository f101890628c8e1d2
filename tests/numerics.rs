//! The "leaky abstraction" of chapter 2: the textbook formulas for softmax and cross-entropy fail in floating
//! point, and the stable forms the tape uses do not.

use nalgebra::DMatrix;
use zerodl::autograd::ops::softmax_rows;
use zerodl::Tape;

// ANCHOR: naive_forms
/// Softmax straight from its definition, `e^z / Σ e^z`, as a first implementation would write it.
fn naive_softmax(z: &[f32]) -> Vec<f32> {
    let e: Vec<f32> = z.iter().map(|v| v.exp()).collect();
    let s: f32 = e.iter().sum();
    e.iter().map(|v| v / s).collect()
}

#[test]
fn naive_softmax_overflows_where_the_stable_one_does_not() {
    // e^100 overflows f32 (max ≈ 3.4e38 ≈ e^88.7): inf / inf = NaN.
    let z = [100.0f32, 99.0, 98.0];
    assert!(naive_softmax(&z).iter().any(|p| p.is_nan()));
    let p = softmax_rows(&DMatrix::from_row_slice(1, 3, &z));
    let expected = naive_softmax(&[2.0, 1.0, 0.0]); // shifting by the max changes nothing mathematically
    for j in 0..3 {
        assert!((p[(0, j)] - expected[j]).abs() < 1e-6);
    }
}

#[test]
fn log_of_an_underflowed_probability_is_infinite_but_log_sum_exp_is_exact() {
    // The true class has logit -120 against 0: its probability e^-120 ≈ 7.7e-53 underflows f32 to 0.
    let z = [0.0f32, -120.0];
    let p = naive_softmax(&z);
    assert_eq!(p[1], 0.0);
    assert!(
        (-p[1].ln()).is_infinite(),
        "cross-entropy from the probability: -log 0 = inf"
    );

    let mut t = Tape::<f32>::new();
    let zv = t.leaf(DMatrix::from_row_slice(1, 2, &z));
    let l = t.softmax_cross_entropy(zv, &[1]).unwrap();
    let loss = t.scalar(l).unwrap();
    // log Σ e^z - z_1 = log(1 + e^-120) + 120 = 120 to f32 precision.
    assert!((loss - 120.0).abs() < 1e-4, "{loss}");
    let g = t.backward(l).unwrap();
    let dz = g.get(zv).unwrap();
    assert!((dz[(0, 0)] - 1.0).abs() < 1e-6 && (dz[(0, 1)] + 1.0).abs() < 1e-6);
}

#[test]
fn clipping_the_probability_is_the_other_common_fix_and_bounds_the_loss() {
    let p = naive_softmax(&[0.0, -120.0]);
    let eps = 1e-7f32;
    let clipped = -(p[1].max(eps)).ln();
    assert!(
        clipped.is_finite() && (clipped - 16.118).abs() < 1e-3,
        "{clipped}"
    );
}
// ANCHOR_END: naive_forms

/// The vectorizable f32 exponential behind the recurrent gates, against the standard one in f64, over the
/// whole range a gate sees (and past it, where it saturates).
#[test]
fn the_fast_f32_exponential_sigmoid_and_tanh_stay_within_their_stated_error() {
    use zerodl::kernels::act::{exp_f32, sigmoid_in_place, tanh_in_place};
    let xs: Vec<f32> = (-40_000..=40_000).map(|i| i as f32 * 0.0025).collect();
    let mut worst_exp = 0.0f64;
    // Relative error where e^x is a normal f32; beyond, it saturates (checked below).
    for &x in xs.iter().filter(|x| x.abs() <= 85.0) {
        let exact = (x as f64).exp();
        worst_exp = worst_exp.max(((exp_f32(x) as f64) - exact).abs() / exact);
    }
    assert!(worst_exp < 3e-7, "exp: relative error {worst_exp:e}");
    assert!(exp_f32(-100.0) < 1e-37 && exp_f32(100.0) > 1e38 && exp_f32(100.0).is_finite());
    let (mut s, mut t) = (xs.clone(), xs.clone());
    sigmoid_in_place(&mut s);
    tanh_in_place(&mut t);
    let mut worst = (0.0f64, 0.0f64);
    for (k, &x) in xs.iter().enumerate() {
        let x = x as f64;
        worst.0 = worst.0.max((s[k] as f64 - 1.0 / (1.0 + (-x).exp())).abs());
        worst.1 = worst.1.max((t[k] as f64 - x.tanh()).abs());
    }
    assert!(worst.0 < 2e-7 && worst.1 < 2e-7, "sigmoid, tanh: {worst:?}");
    // f64 goes through the standard functions, bit for bit.
    let mut d = vec![0.3f64, -2.0];
    tanh_in_place(&mut d);
    assert_eq!(d, vec![0.3f64.tanh(), (-2.0f64).tanh()]);
}

#[test]
fn sigmoid_and_tanh_over_a_slice_are_the_one_value_formulas_bit_for_bit() {
    // The slice versions run 8 lanes wide where the CPU has AVX2; each lane must still compute exactly the
    // formula written for one value, or the recurrent chapters' numbers would depend on the CPU.
    use zerodl::kernels::act::{exp_f32, sigmoid_in_place, tanh_in_place};
    let mut xs: Vec<f32> = (-20_003..=20_003).map(|i| i as f32 * 0.00731).collect();
    xs.extend([
        0.0,
        -0.0,
        1e-30,
        -1e-30,
        88.5,
        -88.5,
        1e4,
        -1e4,
        f32::MIN_POSITIVE,
    ]);
    let (mut s, mut t) = (xs.clone(), xs.clone());
    sigmoid_in_place(&mut s);
    tanh_in_place(&mut t);
    for (k, &x) in xs.iter().enumerate() {
        let one_s = 1.0 / (1.0 + exp_f32(-x));
        let one_t = 1.0 - 2.0 / (exp_f32(2.0 * x) + 1.0);
        assert_eq!(s[k].to_bits(), one_s.to_bits(), "sigmoid({x})");
        assert_eq!(t[k].to_bits(), one_t.to_bits(), "tanh({x})");
    }
}

#[test]
fn the_small_product_kernel_gives_matrixmultiplys_bits() {
    // Small products skip matrixmultiply's packing (`kernels::small`) but must compute every entry by the same
    // operations, or a model's numbers would change with the batch size its rows are grouped in, and the
    // committed figures with them. Shapes around the kernel's tile edges (16 rows, 6 columns) and around
    // matrixmultiply's blocks of 256 terms, B read both ways, β of 0, 1 and neither.
    use rand::{Rng, SeedableRng};
    use zerodl::kernels::{gemm_strided, packed_gemm, Strided};
    let mut rng = rand::rngs::StdRng::seed_from_u64(18);
    let mut checked = 0;
    for case in 0..620 {
        let m = [1, 7, 8, 15, 16, 17, 31, 32, 33, 48, 64][case % 11];
        let k = [1, 3, 64, 255, 256, 257, 300, 513][rng.random_range(0..8)];
        let mut n = rng.random_range(1..40);
        let mut tb = rng.random_bool(0.5);
        // The last cases are large products with few rows and `B` straight, which take the unpacked kernel
        // whatever their size (a fully connected layer's forward at batch 32).
        if case >= 600 {
            (n, tb) = (rng.random_range(200..700), false);
        }
        let beta = [0.0f32, 1.0, 0.75][rng.random_range(0..3)];
        let lda = m + rng.random_range(0..3);
        let ldc = m + rng.random_range(0..3);
        let mut fill =
            |len: usize| -> Vec<f32> { (0..len).map(|_| rng.random_range(-1.0f32..1.0)).collect() };
        let a = fill(lda * k);
        let b = fill(k * n);
        let c0 = fill(ldc * n);
        let bs = Strided::col_major(&b, if tb { n } else { k }, tb);
        let av = Strided {
            data: &a,
            rs: 1,
            cs: lda,
        };
        let (mut c1, mut c2) = (c0.clone(), c0.clone());
        gemm_strided(m, k, n, av, bs, beta, &mut c1, ldc);
        packed_gemm(m, k, n, av, bs, beta, &mut c2, ldc);
        for (idx, (x, y)) in c1.iter().zip(&c2).enumerate() {
            assert_eq!(
                x.to_bits(),
                y.to_bits(),
                "{m}x{k}x{n}, B transposed: {tb}, beta {beta}: entry {idx}: {x} against {y}"
            );
        }
        checked += m * n;
    }
    assert!(checked > 100_000, "too few entries compared: {checked}");
}

#[test]
fn run_sums_side_by_side_are_each_runs_own_sum_bit_for_bit() {
    // Bias gradients sum eight runs at a time (`kernels::sum`) for speed; each must still be the plain
    // left-to-right sum of its own run, or the figures would change with the layout of the sums.
    use rand::{Rng, SeedableRng};
    use zerodl::kernels::sum::add_run_sums;
    let mut rng = rand::rngs::StdRng::seed_from_u64(7);
    for &(count, len, gap) in &[
        (1, 5, 0),
        (8, 33, 3),
        (13, 784, 0),
        (64, 196, 1),
        (7, 0, 2),
        (300, 32, 928),
    ] {
        let stride = len + gap;
        let data: Vec<f32> = (0..count * stride)
            .map(|_| rng.random_range(-1e3f32..1e3))
            .collect();
        let start: Vec<f32> = (0..count).map(|_| rng.random_range(-1.0f32..1.0)).collect();
        let mut out = start.clone();
        add_run_sums(&data, stride, len, &mut out);
        for j in 0..count {
            let plain = data[j * stride..j * stride + len]
                .iter()
                .fold(0f32, |s, &v| s + v);
            let want = start[j] + plain;
            assert_eq!(
                out[j].to_bits(),
                want.to_bits(),
                "run {j} of {count} (length {len})"
            );
        }
    }
}

#[test]
fn the_tiled_transpose_is_nalgebras_entry_for_entry() {
    let shapes = [
        (1, 1),
        (1, 40),
        (40, 1),
        (31, 33),
        (32, 32),
        (33, 65),
        (100, 7),
        (5, 784),
        (3136, 128),
    ];
    for (rows, cols) in shapes {
        let a = DMatrix::from_fn(rows, cols, |i, j| (i * 1000 + j) as f32);
        let t = zerodl::kernels::transpose(&a);
        assert_eq!(t, a.transpose(), "{rows}x{cols}");
    }
}

#[test]
fn the_gathered_kernel_gives_matrixmultiplys_bits() {
    // The convolution reads its patches where they lie (`kernels::gathered`), with the output channels along the
    // vector lanes: `Cᵀ = Bᵀ Aᵀ` in place of `C = A B`. Every entry must still be matrixmultiply's, or the
    // committed figures would change. `B` is materialised from random offsets and handed to matrixmultiply;
    // shapes around the 16-row tile, the 6-column tile and the blocks of 256 terms, `C` with its rows or its
    // columns contiguous, β of 0, 1 and neither.
    use rand::{Rng, SeedableRng};
    use zerodl::kernels::{gathered, packed_gemm, Strided};
    let mut rng = rand::rngs::StdRng::seed_from_u64(19);
    let mut checked = 0;
    for case in 0..300 {
        let m = [1, 7, 15, 16, 17, 32, 33, 64][case % 8];
        let k = [1, 3, 25, 196, 255, 256, 257, 600][rng.random_range(0..8)];
        let n = rng.random_range(1..30);
        let beta = [0.0f32, 1.0, 0.75][rng.random_range(0..3)];
        let src: Vec<f32> = (0..500).map(|_| rng.random_range(-1.0f32..1.0)).collect();
        let row_off: Vec<u32> = (0..k).map(|_| rng.random_range(0..250)).collect();
        let col_off: Vec<u32> = (0..n).map(|_| rng.random_range(0..250)).collect();
        let a: Vec<f32> = (0..m * k).map(|_| rng.random_range(-1.0f32..1.0)).collect();
        let b: Vec<f32> = (0..k * n)
            .map(|i| src[(row_off[i % k] + col_off[i / k]) as usize])
            .collect();
        let c0: Vec<f32> = (0..m * n).map(|_| rng.random_range(-1.0f32..1.0)).collect();
        let mut want = c0.clone();
        let av = Strided::col_major(&a, m, false);
        packed_gemm(
            m,
            k,
            n,
            av,
            Strided::col_major(&b, k, false),
            beta,
            &mut want,
            m,
        );
        let mut panels = Vec::new();
        gathered::panels(m, k, |i, p| a[i + p * m], &mut panels);
        // C column-major (rows contiguous) or row-major.
        let row_major = rng.random_bool(0.5);
        let (rsc, csc) = if row_major { (n, 1) } else { (1, m) };
        let mut got = vec![0f32; m * n];
        for i in 0..m {
            for j in 0..n {
                got[i * rsc + j * csc] = c0[i + j * m];
            }
        }
        if !gathered::sgemm(
            m, &panels, &src, &row_off, &col_off, beta, &mut got, rsc, csc,
        ) {
            eprintln!("skipped: this CPU lacks AVX2 and FMA, so the gathered kernel does not run");
            return;
        }
        for i in 0..m {
            for j in 0..n {
                let (x, y) = (got[i * rsc + j * csc], want[i + j * m]);
                assert_eq!(
                    x.to_bits(),
                    y.to_bits(),
                    "{m}x{k}x{n}, beta {beta}, row-major C {row_major}: ({i}, {j}): {x} against {y}"
                );
            }
        }
        checked += m * n;
    }
    assert!(checked > 20_000, "too few entries compared: {checked}");
}
