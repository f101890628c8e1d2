//! The floor under everything: matrix products and the parallel split of elementwise passes. Autograd's ops,
//! the hand-derived layers and the optimizers all reach their heavy loops through here, so that a faster
//! kernel or another threading policy changes one place, and the thread count never changes a result.

pub mod act;
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

/// Runs `f` compiled for 8-lane AVX where the CPU has it (decided at run time: the build targets plain x86-64,
/// whose SSE2 vectors hold 4 lanes). `f` is inlined into the AVX-enabled function, so its loops vectorize at the
/// wider width. Elementwise IEEE operations (add, multiply, divide, square root, max) give each lane the same bits
/// at either width, and nothing is contracted into fused multiply-adds, so only the speed changes (measured:
/// Adam's update over the CNN's 1.7 million parameters, 2 threads, AMD EPYC with AVX2).
#[inline(always)]
pub(crate) fn wide<R>(f: impl FnOnce() -> R) -> R {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx") {
        // SAFETY: the CPU has AVX (checked just above).
        return unsafe { wide_avx(f) };
    }
    f()
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx")]
unsafe fn wide_avx<R>(f: impl FnOnce() -> R) -> R {
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
