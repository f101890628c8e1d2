//! Throughput of `gemm` on the shapes of the book's conv2 (per image) and FC1, and a large square product: the
//! ceiling the training step's products can reach on this machine. Runs on the pool's threads
//! (`RAYON_NUM_THREADS=1` for one core), and ends with W2's floor: the floating-point operations of one training
//! step divided by the best rate measured here. `--w1`: W1's own products at batches 64 and 512, each timed,
//! and their sum: the least time a W1 step can take with this kernel on this machine. `--gathered`: conv2's
//! and conv1's forward product and weight gradient for one image, through im2col and matrixmultiply against the kernel that
//! reads the patches where they lie (`kernels::gathered`), and the input gradient through matrixmultiply and col2im
//! against the same kernel over the padded error with the rotated kernels, alternating in one process, on the
//! calling thread.
use nalgebra::DMatrix;
use std::time::Instant;
use zerodl::kernels::gemm;

fn main() {
    zerodl::kernels::par::join_global_pool().expect("the pool is built here first");
    let threads = rayon::current_num_threads();
    let known = ["--small", "--conv", "--w1", "--gathered"];
    if let Some(a) = std::env::args()
        .skip(1)
        .find(|a| !known.contains(&a.as_str()))
    {
        eprintln!("gemm_peak: unknown argument {a:?} (known: --small, --conv, --w1, --gathered)");
        std::process::exit(2);
    }
    if std::env::args().any(|a| a == "--small") {
        return small_products();
    }
    if std::env::args().any(|a| a == "--conv") {
        return conv_products();
    }
    if std::env::args().any(|a| a == "--gathered") {
        return gathered_products();
    }
    if std::env::args().any(|a| a == "--w1") {
        return w1_products(threads);
    }
    let mut best: f64 = 0.0;
    for &(m, k, n, ta, tb) in &[
        (1024, 1024, 1024, false, false),
        (196, 800, 64, false, false),
        (800, 196, 64, true, false),
        (196, 64, 800, false, true),
        (32, 3136, 512, false, false),
        (3136, 32, 512, true, false),
        (32, 512, 3136, false, true),
        // The same products computed transposed: Cᵀ = op(B)ᵀ op(A)ᵀ.
        (64, 800, 196, true, true),
        (64, 196, 800, false, false),
        (800, 64, 196, false, true),
        (512, 3136, 32, true, true),
        (512, 32, 3136, false, false),
        (3136, 512, 32, false, true),
    ] {
        let (a, b) = operands(m, k, n, ta, tb);
        let reps = (2e9 / (2.0 * (m * k * n) as f64)).ceil() as usize;
        let _ = gemm(&a, ta, &b, tb);
        let t = Instant::now();
        for _ in 0..reps {
            std::hint::black_box(gemm(&a, ta, &b, tb));
        }
        let s = t.elapsed().as_secs_f64() / reps as f64;
        best = best.max(2.0 * (m * k * n) as f64 / s / 1e9);
        println!(
            "{m}x{k}x{n} ta={ta} tb={tb}: {:.3} ms, {:.1} GFLOP/s",
            s * 1e3,
            2.0 * (m * k * n) as f64 / s / 1e9
        );
    }
    println!("best rate on {threads} thread(s): {best:.1} GFLOP/s");
    for batch in [32, 128] {
        let gflop = w2_flop(batch) / 1e9;
        println!(
            "W2 at batch {batch}: {gflop:.2} GFLOP per step in its products; floor at {best:.1} GFLOP/s: {:.1} ms",
            gflop / best * 1e3
        );
    }
}

/// The operands of `op(A) op(B)` with `C` of `m x n` and inner dimension `k`, stored transposed where asked.
fn operands(m: usize, k: usize, n: usize, ta: bool, tb: bool) -> (DMatrix<f32>, DMatrix<f32>) {
    let a = if ta { (k, m) } else { (m, k) };
    let b = if tb { (n, k) } else { (k, n) };
    (
        DMatrix::from_element(a.0, a.1, 0.5),
        DMatrix::from_element(b.0, b.1, 0.5),
    )
}

/// Floating-point operations in the products of one W2 training step (2 per multiply-add): each layer's forward
/// product, its weight gradient's and, except for the first layer, its input gradient's, all the same size.
fn w2_flop(batch: usize) -> f64 {
    let conv1 = 784 * 25 * 32; // per image: 28x28 positions, 5x5x1 patches, 32 kernels
    let conv2 = 196 * 800 * 64; // 14x14 positions, 5x5x32 patches, 64 kernels
    let fc = 3136 * 512 + 512 * 10;
    2.0 * (batch * (2 * conv1 + 3 * conv2 + 3 * fc)) as f64
}

/// W1's (the MLP 784-200-100-10) products in one training step, `(m, k, n, A transposed, B transposed)`, as its
/// layers compute them with `B` examples as rows: each layer's forward `X W`, its weight gradient `Xᵀ G` and,
/// but for the first layer (whose input needs no gradient), its input gradient `G Wᵀ`.
fn w1_shapes(batch: usize) -> Vec<(usize, usize, usize, bool, bool)> {
    let mut v = Vec::new();
    for (layer, (i, o)) in [(784, 200), (200, 100), (100, 10)].into_iter().enumerate() {
        v.push((batch, i, o, false, false));
        v.push((i, batch, o, true, false));
        if layer > 0 {
            v.push((batch, o, i, false, true));
        }
    }
    v
}

/// Each of W1's products timed (the median of 15 runs of 2 GFLOP each, back to back as in a training step), and
/// their sum.
fn w1_products(threads: usize) {
    for batch in [64, 512] {
        let (mut total, mut flop) = (0.0, 0.0);
        for (m, k, n, ta, tb) in w1_shapes(batch) {
            let (a, b) = operands(m, k, n, ta, tb);
            let reps = (2e9 / (2.0 * (m * k * n) as f64)).ceil() as usize;
            let _ = gemm(&a, ta, &b, tb);
            let mut runs: Vec<f64> = (0..15)
                .map(|_| {
                    let t = Instant::now();
                    for _ in 0..reps {
                        std::hint::black_box(gemm(&a, ta, &b, tb));
                    }
                    t.elapsed().as_secs_f64() / reps as f64
                })
                .collect();
            runs.sort_by(f64::total_cmp);
            let s = runs[7];
            total += s;
            flop += 2.0 * (m * k * n) as f64;
            println!(
                "W1 b{batch} {m}x{k}x{n} ta={ta} tb={tb}: {:.3} ms, {:.1} GFLOP/s",
                s * 1e3,
                2.0 * (m * k * n) as f64 / s / 1e9
            );
        }
        println!(
            "W1 at batch {batch} on {threads} thread(s): its products take {:.3} ms ({:.1} GFLOP/s over {:.1} MFLOP)",
            total * 1e3,
            flop / total / 1e9,
            flop / 1e6
        );
    }
}

/// The recurrent steps' products (W4: 16 rows per thread, H = 64): the reason the small-product kernel exists.
fn small_products() {
    // (m, k, n, B transposed): `B` stored `k x n` or, transposed, `n x k`.
    for &(m, k, n, tb) in &[
        (16, 64, 256, false),
        (16, 64, 256, true),
        (16, 256, 64, false),
        (16, 256, 64, true),
        (32, 64, 256, false),
        (32, 4, 256, false),
    ] {
        let (rsb, csb) = if tb { (n, 1) } else { (1, k) };
        unpacked_against_packed(&format!("small, B transposed: {tb}"), m, k, n, rsb, csb);
    }
}

/// The convolution's per-image products (conv2 of W2, and conv1's forward), with `B`'s strides as the
/// convolution lays it out: whether packing pays for them.
fn conv_products() {
    for &(name, m, k, n, rsb, csb) in &[
        ("conv2 fwd cols·W", 196, 800, 64, 64, 1),
        ("conv2 dX G·Wt", 196, 64, 800, 800, 1),
        ("conv2 dW colsT·G", 800, 196, 64, 1, 196),
        ("conv1 fwd cols·W", 784, 25, 32, 32, 1),
    ] {
        unpacked_against_packed(name, m, k, n, rsb, csb);
    }
}

/// `C += A B` (`A` column-major `m x k`, `B` through strides `rsb`, `csb`) through the unpacked kernel called
/// directly and through matrixmultiply's packing kernels, each timed over about 0.4 GFLOP.
fn unpacked_against_packed(name: &str, m: usize, k: usize, n: usize, rsb: usize, csb: usize) {
    use zerodl::kernels::{packed_gemm, small, Strided};
    let a = vec![0.5f32; m * k];
    let b = vec![0.25f32; k * n];
    let mut c = vec![0f32; m * n];
    let flop = 2.0 * (m * k * n) as f64;
    let reps = (4e8 / flop).ceil() as usize;
    let mut time = |packed: bool| {
        let t = Instant::now();
        for _ in 0..reps {
            if packed {
                let av = Strided::col_major(&a, m, false);
                let bv = Strided {
                    data: &b,
                    rs: rsb,
                    cs: csb,
                };
                packed_gemm(m, k, n, av, bv, 1.0, &mut c, m);
            } else {
                small::sgemm(m, k, n, &a, m, (&b, rsb, csb), 1.0, &mut c, m);
            }
            std::hint::black_box(&mut c);
        }
        t.elapsed().as_secs_f64() / reps as f64
    };
    let (su, sp) = (time(false), time(true));
    println!(
        "{name} {m}x{k}x{n}: unpacked {:.2} us ({:.1} GFLOP/s), packed {:.2} us ({:.1} GFLOP/s)",
        su * 1e6,
        flop / su / 1e9,
        sp * 1e6,
        flop / sp / 1e9
    );
}

/// conv2's and conv1's per-image forward product and weight gradient both ways, each way timed over 50 images, the ways
/// alternating ten times; the best and the median of the ten. The patch-matrix ways include their im2col (the
/// forward's `Wᵀ` made once, as per call); the gathered ways include putting `G_nᵀ` in panels (`Wᵀ`'s panels and
/// the offset tables made once, as per call).
fn gathered_products() {
    use zerodl::layout::ConvGeom;
    gathered_layer("conv2", ConvGeom::same(32, 14, 14, 64, 5).expect("conv2"));
    gathered_layer("conv1", ConvGeom::same(1, 28, 28, 32, 5).expect("conv1"));
}

/// Where the gathered kernel finds `cols(X)` in one image's padded planes: entry `(p, k)` at `pos[p] + patch[k]`.
fn offsets(g: &zerodl::layout::ConvGeom) -> (Vec<u32>, Vec<u32>) {
    let (ph, pw) = g.padded_hw();
    let mut patch = Vec::new();
    for ci in 0..g.c_in {
        for dy in 0..g.kh {
            for dx in 0..g.kw {
                patch.push(((ci * ph + dy) * pw + dx) as u32);
            }
        }
    }
    let pos = (0..g.positions())
        .map(|q| ((q / g.out_w()) * g.stride * pw + q % g.out_w() * g.stride) as u32)
        .collect();
    (patch, pos)
}

fn gathered_layer(layer: &str, g: zerodl::layout::ConvGeom) {
    use zerodl::by_hand::conv_fast::{self, col2im, im2col, im2col_t, padded};
    use zerodl::kernels::{gathered, gemm_strided, Strided};
    let (p, k, c) = (g.positions(), g.patch(), g.c_out);
    let value = |i: usize, s: usize| ((i * s) % 1000) as f32 / 1000.0 - 0.5;
    let x: Vec<f32> = (0..g.in_len()).map(|i| value(i, 7919)).collect();
    let w: Vec<f32> = (0..k * c).map(|i| value(i, 104_729)).collect(); // K x C, column-major
    let gn: Vec<f32> = (0..p * c).map(|i| value(i, 31)).collect(); // P x C, column-major
    let wt: Vec<f32> = (0..c * k).map(|i| w[i / c + k * (i % c)]).collect();
    let (patch, pos) = offsets(&g);
    let mut wpanels = Vec::new();
    gathered::panels(c, k, |ch, kk| w[kk + ch * k], &mut wpanels);
    let (mut pad, mut cols, mut gpanels) = (Vec::new(), vec![0f32; p * k], Vec::new());
    let (mut y, mut dw, mut dwt) = (vec![0f32; p * c], vec![0f32; k * c], vec![0f32; c * k]);
    const REPS: usize = 50;
    // The input gradient as a convolution: `G_n` padded by `kh - 1 - pad`, read through the flipped kernels.
    let gt = conv_fast::input_grad_geometry(&g).expect("stride 1, square kernels");
    let (tpatch, tpos) = offsets(&gt);
    let mut fpanels = Vec::new();
    gathered::panels(
        g.c_in,
        gt.patch(),
        |ci, kk| {
            let (co, r) = (kk / (g.kh * g.kw), kk % (g.kh * g.kw));
            let (dy, dx) = (g.kh - 1 - r / g.kw, g.kw - 1 - r % g.kw);
            w[(ci * g.kh + dy) * g.kw + dx + co * k]
        },
        &mut fpanels,
    );
    let (mut dx0, mut dx1, mut pad2) = (vec![0f32; g.in_len()], vec![0f32; g.in_len()], Vec::new());
    let mut times: [Vec<f64>; 6] = Default::default();
    for _ in 0..10 {
        let mut run = |i: usize, f: &mut dyn FnMut()| {
            let t = Instant::now();
            for _ in 0..REPS {
                f();
            }
            times[i].push(t.elapsed().as_secs_f64() / REPS as f64 * 1e6);
        };
        run(0, &mut || {
            im2col(padded(&x, &g, &mut pad), &g, &mut cols);
            let (a, b) = (
                Strided::col_major(&cols, p, false),
                Strided::col_major(&wt, c, true),
            );
            gemm_strided(p, k, c, a, b, 0.0, &mut y, p);
        });
        run(1, &mut || {
            let xp = padded(&x, &g, &mut pad);
            gathered::sgemm(c, &wpanels, xp, &patch, &pos, 0.0, &mut y, p, 1);
        });
        run(2, &mut || {
            im2col_t(padded(&x, &g, &mut pad), &g, &mut cols);
            let (a, b) = (
                Strided::col_major(&cols, k, false),
                Strided::col_major(&gn, p, false),
            );
            gemm_strided(k, p, c, a, b, 1.0, &mut dw, k);
        });
        run(3, &mut || {
            let xp = padded(&x, &g, &mut pad);
            gathered::panels(c, p, |ch, q| gn[q + ch * p], &mut gpanels);
            gathered::sgemm(c, &gpanels, xp, &pos, &patch, 1.0, &mut dwt, 1, c);
        });
        run(4, &mut || {
            let (a, b) = (
                Strided::col_major(&gn, p, false),
                Strided::col_major(&w, k, true),
            );
            gemm_strided(p, c, k, a, b, 0.0, &mut cols, p);
            dx0.iter_mut().for_each(|v| *v = 0.0);
            col2im(&cols, &g, &mut pad, &mut dx0);
        });
        run(5, &mut || {
            let gp = padded(&gn, &gt, &mut pad2);
            gathered::sgemm(
                g.c_in,
                &fpanels,
                gp,
                &tpatch,
                &tpos,
                0.0,
                &mut dx1,
                gt.positions(),
                1,
            );
        });
    }
    let err = dx0
        .iter()
        .zip(&dx1)
        .map(|(a, b)| (a - b).abs())
        .fold(0f32, f32::max);
    println!("{layer} input gradient both ways: largest difference {err:e}");
    let flop = 2.0 * (p * k * c) as f64;
    let names = [
        "forward, im2col + matrixmultiply",
        "forward, gathered",
        "weight gradient, im2col_t + matrixmultiply",
        "weight gradient, gathered",
        "input gradient, matrixmultiply + col2im",
        "input gradient, as a convolution, gathered",
    ];
    for (name, t) in names.iter().zip(&mut times) {
        t.sort_by(f64::total_cmp);
        println!(
            "{layer} {name}: best {:.1} us ({:.1} GFLOP/s), median {:.1} us",
            t[0],
            flop / t[0] / 1e3,
            t[t.len() / 2]
        );
    }
}
