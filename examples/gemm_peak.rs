//! Single-thread throughput of `gemm` on the shapes of the book's conv2 (per image) and FC1, and a large square
//! product: the ceiling the training step's products can reach on this machine.
use nalgebra::DMatrix;
use std::time::Instant;
use zerodl::kernels::gemm;

fn main() {
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
        let a = if ta {
            DMatrix::<f32>::from_element(k, m, 0.5)
        } else {
            DMatrix::from_element(m, k, 0.5)
        };
        let b = if tb {
            DMatrix::<f32>::from_element(n, k, 0.5)
        } else {
            DMatrix::from_element(k, n, 0.5)
        };
        let reps = (2e9 / (2.0 * (m * k * n) as f64)).ceil() as usize;
        let _ = gemm(&a, ta, &b, tb);
        let t = Instant::now();
        for _ in 0..reps {
            std::hint::black_box(gemm(&a, ta, &b, tb));
        }
        let s = t.elapsed().as_secs_f64() / reps as f64;
        println!(
            "{m}x{k}x{n} ta={ta} tb={tb}: {:.3} ms, {:.1} GFLOP/s",
            s * 1e3,
            2.0 * (m * k * n) as f64 / s / 1e9
        );
    }
}
