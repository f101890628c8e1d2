//! The floor under everything: matrix products and the parallel split of elementwise passes. Autograd's ops,
//! the hand-derived layers and the optimizers all reach their heavy loops through here, so that a faster
//! kernel or another threading policy changes one place, and the thread count never changes a result.

pub mod act;
pub mod gathered;
pub mod gemm;
pub mod par;
pub mod small;
pub mod sum;
pub mod transpose;

pub use gemm::{gemm, gemm_into, gemm_strided, packed_gemm, Strided};
pub use par::PAR_CHUNK;
pub use transpose::transpose;

use std::any::TypeId;

/// `s` as a slice of `f32` when its element type is `f32`: the kernels that exist only in `f32` (the
/// activations' vector exponential, the small-product kernel) take it from generic code through here.
pub(crate) fn as_f32<T: 'static>(s: &[T]) -> Option<&[f32]> {
    // SAFETY: the element type is f32 (checked first), so the slice is a slice of f32.
    (TypeId::of::<T>() == TypeId::of::<f32>())
        .then(|| unsafe { std::slice::from_raw_parts(s.as_ptr() as *const f32, s.len()) })
}

/// [`as_f32`] for a mutable slice.
pub(crate) fn as_f32_mut<T: 'static>(s: &mut [T]) -> Option<&mut [f32]> {
    // SAFETY: as in `as_f32`.
    (TypeId::of::<T>() == TypeId::of::<f32>())
        .then(|| unsafe { std::slice::from_raw_parts_mut(s.as_mut_ptr() as *mut f32, s.len()) })
}

/// Runs `f` compiled for 8-lane AVX2 where the CPU has it (decided at run time: the build targets plain x86-64,
/// whose SSE2 vectors hold 4 lanes). `f` is inlined into the AVX2-enabled function, so its loops vectorize at
/// the wider width; wrap the loop itself, since a closure that `f` only calls through another function (as the
/// pool's helpers do) is not inlined and stays SSE2. Elementwise IEEE operations (add, multiply, divide, square
/// root, max) give each lane the same bits at either width, and nothing is contracted into fused multiply-adds,
/// so only the speed changes. Used by the activations' vector exponential and Adam's update. (Check the
/// disassembly when adding a use: a large closure may stay out of line, and then it runs at SSE2 width.)
#[inline(always)]
pub(crate) fn wide<R>(f: impl FnOnce() -> R) -> R {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") {
        // SAFETY: the CPU has AVX2 (checked just above).
        return unsafe { wide_avx2(f) };
    }
    f()
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn wide_avx2<R>(f: impl FnOnce() -> R) -> R {
    f()
}

/// `dst ← src` for short runs (a row of a small image, a group's rows of one column), in blocks whose length the
/// compiler knows: a few vector moves, where `copy_from_slice` of a run-time length calls `memmove` once per run
/// (measured: a seventh of W4's step on two threads, and a tenth of conv2's backward, went to such calls).
pub(crate) fn copy_run<T: Copy>(dst: &mut [T], src: &[T]) {
    assert_eq!(dst.len(), src.len(), "copy_run: run lengths");
    let mut d = dst.chunks_exact_mut(8);
    let mut s = src.chunks_exact(8);
    for (a, b) in (&mut d).zip(&mut s) {
        if let (Ok(a), Ok(b)) = (<&mut [T; 8]>::try_from(a), <&[T; 8]>::try_from(b)) {
            *a = *b;
        }
    }
    // The rest, fewer than 8, as at most one block each of 4, 2 and 1.
    let (mut d, mut s) = (d.into_remainder(), s.remainder());
    for width in [4, 2, 1] {
        if s.len() >= width {
            let (dh, dt) = std::mem::take(&mut d).split_at_mut(width);
            let (sh, st) = s.split_at(width);
            dh.copy_from_slice(sh);
            (d, s) = (dt, st);
        }
    }
}

#[cfg(test)]
mod tests {
    use rand::{Rng, SeedableRng};

    /// Adam's update and the activations' exponential, run through [`super::wide`] and plainly (SSE2 in this
    /// build): the same bits, on values that include zeros, negatives and tiny and huge magnitudes.
    #[test]
    fn wide_gives_the_same_bits() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(25);
        let n = 1003; // not a multiple of 8: the loops' tails run too
        let draw = |rng: &mut rand_chacha::ChaCha8Rng| {
            let v: f32 = rng.random_range(-1.0..1.0);
            match rng.random_range(0..6) {
                0 => 0.0,
                1 => v * 1e-30,
                2 => v * 1e30,
                _ => v,
            }
        };
        let g: Vec<f32> = (0..n).map(|_| draw(&mut rng)).collect();
        let start: Vec<[f32; 3]> = (0..n)
            .map(|_| [draw(&mut rng), draw(&mut rng), draw(&mut rng).abs()])
            .collect();
        let step = |s: &mut [[f32; 3]]| {
            for ([w, m, v], &gi) in s.iter_mut().zip(&g) {
                *m = 0.9 * *m + 0.1 * gi;
                *v = 0.999 * *v + 0.001 * gi * gi;
                *w -= 1e-3 * *m / (v.sqrt() + 1e-8);
            }
        };
        let (mut plain, mut wide) = (start.clone(), start);
        step(&mut plain);
        super::wide(|| step(&mut wide));
        let bits =
            |s: &[[f32; 3]]| -> Vec<u32> { s.iter().flatten().map(|v| v.to_bits()).collect() };
        assert_eq!(bits(&plain), bits(&wide), "Adam's update");

        let x: Vec<f32> = g.iter().map(|v| v.clamp(-100.0, 100.0)).collect();
        let mut plain = x.clone();
        plain.iter_mut().for_each(|v| *v = super::act::exp_f32(*v));
        let mut wide = x;
        super::wide(|| wide.iter_mut().for_each(|v| *v = super::act::exp_f32(*v)));
        let bits = |s: &[f32]| -> Vec<u32> { s.iter().map(|v| v.to_bits()).collect() };
        assert_eq!(bits(&plain), bits(&wide), "the vector exponential");
    }
}
