//! Matrix products: `op(A) op(B)` through matrixmultiply's kernels, read through strides (no transposed copies),
//! and split over the rayon pool for large products with results that do not depend on the thread count.

use crate::scalar::Real;
use nalgebra::DMatrix;

/// `op(A) op(B)` where `op` transposes when asked, without materialising a transpose: matrixmultiply reads
/// the operands through their strides. nalgebra's own `tr_mul` is a loop of dot products, many times slower
/// for the large products of a training step.
pub fn gemm<T: Real>(a: &DMatrix<T>, ta: bool, b: &DMatrix<T>, tb: bool) -> DMatrix<T> {
    let (m, k) = if ta {
        (a.ncols(), a.nrows())
    } else {
        a.shape()
    };
    let (k2, n) = if tb {
        (b.ncols(), b.nrows())
    } else {
        b.shape()
    };
    assert_eq!(k, k2, "gemm: inner dimensions (checked by the callers)");
    if m * n * k == 0 {
        return DMatrix::zeros(m, n);
    }
    // The product writes every entry of `C` (β is zero, so no kernel reads it): zeroing it first had cost a pass
    // over memory, for FC1's weight gradient 6.4 MB on one thread.
    let mut c: Vec<T> = Vec::with_capacity(m * n);
    let (a, b) = (Strided::of(a, ta), Strided::of(b, tb));
    let threads = rayon::current_num_threads();
    // SAFETY: `c` has room for the `m x n` entries at leading dimension `m`, nothing else uses it, and with β zero
    // every entry is written and none is read (matrixmultiply: "if β is zero, then C does not need to be
    // initialized"; the small kernel reads C only when β is not zero), so all `m·n` are initialised after the call.
    unsafe {
        gemm_split(m, k, n, a, b, T::zero(), Out(c.as_mut_ptr()), m, threads);
        c.set_len(m * n);
    }
    DMatrix::from_vec(m, n, c)
}

/// `C ← op(A) op(B) + β C` into an existing `C`, on the calling thread: the recurrent cells' per-step products,
/// too small to split, with operands read through their strides (a transpose costs no copy).
pub fn gemm_into<T: Real>(
    a: &DMatrix<T>,
    ta: bool,
    b: &DMatrix<T>,
    tb: bool,
    beta: T,
    c: &mut DMatrix<T>,
) {
    let (m, k) = if ta {
        (a.ncols(), a.nrows())
    } else {
        a.shape()
    };
    let n = if tb { b.nrows() } else { b.ncols() };
    assert_eq!(
        c.shape(),
        (m, n),
        "gemm_into: output shape (checked by the callers)"
    );
    let ldc = c.nrows();
    gemm_strided(
        m,
        k,
        n,
        Strided::of(a, ta),
        Strided::of(b, tb),
        beta,
        c.as_mut_slice(),
        ldc,
    );
}

/// A read-only operand as matrixmultiply sees it: a slice and the steps between rows and between columns.
#[derive(Clone, Copy)]
pub struct Strided<'a, T> {
    pub data: &'a [T],
    pub rs: usize,
    pub cs: usize,
}

impl<'a, T: Real> Strided<'a, T> {
    /// A column-major matrix, or its transpose: column-major storage puts entry (i, j) at i + j·rows, so rows
    /// step 1 and columns step `rows`, and a transpose swaps the two.
    pub fn of(x: &'a DMatrix<T>, transpose: bool) -> Self {
        Self::col_major(x.as_slice(), x.nrows(), transpose)
    }

    /// A column-major `rows x _` matrix stored in `data`, or its transpose.
    pub fn col_major(data: &'a [T], rows: usize, transpose: bool) -> Self {
        if transpose {
            Strided {
                data,
                rs: rows,
                cs: 1,
            }
        } else {
            Strided {
                data,
                rs: 1,
                cs: rows,
            }
        }
    }

    fn offset(self, rows: usize, cols: usize) -> Self {
        Strided {
            data: &self.data[rows * self.rs + cols * self.cs..],
            ..self
        }
    }
}

/// Products smaller than this many multiply-adds run on the calling thread: below it, handing half to another
/// core costs more than it saves (measured with the bench binary's MLP at batch 64).
const PAR_MIN_MACS: usize = 1 << 21;

/// `C ← op(A) op(B) + β C` for `C` column-major `m x n` with leading dimension `ldc`, split over `pieces`
/// threads of the rayon pool when large: cut in two, recursively, down to one piece per thread. Each entry of
/// `C` is computed by the same sequence of operations however the work is split, so the result does not depend
/// on the number of threads.
///
/// # Safety
/// `c` must point to `C` with rows `0..m` of columns `0..n` at leading dimension `ldc >= m`, aliasing neither
/// operand and used by no one else during the call; its entries may be uninitialised when `β` is zero.
#[allow(clippy::too_many_arguments)]
unsafe fn gemm_split<T: Real>(
    m: usize,
    k: usize,
    n: usize,
    a: Strided<T>,
    b: Strided<T>,
    beta: T,
    c: Out<T>,
    ldc: usize,
    pieces: usize,
) {
    // Each piece packs all of the operand that the cut does not divide, so the cut goes across the longer side
    // of `C`: rows when it is taller than wide. Measured on two threads (AMD EPYC, AVX2; the two policies
    // alternating in one process, 15 runs each, twice): W1's first-layer weight gradient, 784 x 512 x 200 with
    // `A` transposed, medians 1.39 and 1.52 ms against 1.57 and 1.57; FC1's and W1's other tall products
    // within the noise, their best runs 1 to 7% faster.
    let rows = m > n;
    let at = cut(if rows { m } else { n }, pieces).filter(|_| m * n * k >= PAR_MIN_MACS);
    let Some(at) = at else {
        return gemm_raw(m, k, n, a, b, beta, c.0, ldc);
    };
    let (left, right) = (pieces / 2, pieces - pieces / 2);
    // SAFETY (both arms): the two calls write disjoint entries of `C`, rows `0..at` and `at..m` of the same
    // columns, or columns `0..at` and `at..n`.
    if rows {
        let lower = Out(c.0.add(at));
        both(
            m * n * k,
            || unsafe { gemm_split(at, k, n, a, b, beta, c, ldc, left) },
            || unsafe { gemm_split(m - at, k, n, a.offset(at, 0), b, beta, lower, ldc, right) },
        );
    } else {
        let later = Out(c.0.add(at * ldc));
        both(
            m * n * k,
            || unsafe { gemm_split(m, k, at, a, b, beta, c, ldc, left) },
            || unsafe { gemm_split(m, k, n - at, a, b.offset(0, at), beta, later, ldc, right) },
        );
    }
}

/// Where to cut `len` rows or columns for `pieces` threads: at the multiple of 16 nearest the left half's even
/// share, so that both halves keep whole micro-kernel tiles (rounding up instead had given one thread 112 of the
/// MLP's 200 columns, 64 of its 100); `None` when a half would be empty.
fn cut(len: usize, pieces: usize) -> Option<usize> {
    let at = (len * (pieces / 2) + pieces * 8) / (pieces * 16) * 16;
    (pieces >= 2 && at > 0 && at < len).then_some(at)
}

/// `C`'s first entry, handed to the threads that compute its blocks: rows of the same columns interleave in
/// memory, so row blocks cannot be separate `&mut` slices, and `C` may not be initialised yet.
#[derive(Clone, Copy)]
struct Out<T>(*mut T);
// SAFETY: each thread writes only its own block of `C` (see `gemm_split`).
unsafe impl<T: Send> Send for Out<T> {}
unsafe impl<T: Send> Sync for Out<T> {}

/// Runs `a` and `b`, in parallel when the pool has threads to spare. From outside the pool (a training loop's
/// own thread), the calling thread computes `a` itself while a pool thread takes `b`: one hand-over instead of
/// `rayon::join`'s two (send both, then sleep until both are done), which matters for products of a millisecond.
fn both(macs: usize, a: impl FnOnce() + Send, b: impl FnOnce() + Send) {
    // Large products: the pool's threads take both halves, and an idle pool thread does not compete with the
    // caller for a core (measured: the CNN's FC1 is slower the other way).
    if rayon::current_thread_index().is_some() || macs >= 1 << 25 {
        rayon::join(a, b);
    } else {
        rayon::in_place_scope(|s| {
            s.spawn(|_| b());
            a();
        });
    }
}

/// `C ← op(A) op(B) + β C` on the calling thread, `C` column-major with leading dimension `ldc`.
#[allow(clippy::too_many_arguments)]
pub fn gemm_strided<T: Real>(
    m: usize,
    k: usize,
    n: usize,
    a: Strided<T>,
    b: Strided<T>,
    beta: T,
    c: &mut [T],
    ldc: usize,
) {
    if let Some(c) = output(m, n, c, ldc) {
        // SAFETY: `output` checked the bounds, and `c` is a unique borrow, so it aliases neither operand.
        unsafe { gemm_raw(m, k, n, a, b, beta, c, ldc) }
    }
}

/// `C`'s first entry for the raw products, after checking that `c` holds `m x n` entries at leading dimension
/// `ldc`; `None` when there is nothing to compute.
fn output<T>(m: usize, n: usize, c: &mut [T], ldc: usize) -> Option<*mut T> {
    if m == 0 || n == 0 {
        return None;
    }
    assert!(
        ldc >= m && (n - 1) * ldc + m <= c.len(),
        "gemm: output buffer too small"
    );
    Some(c.as_mut_ptr())
}

/// [`gemm_strided`] into `C` through a pointer.
///
/// # Safety
/// As for [`packed_raw`].
#[allow(clippy::too_many_arguments)]
unsafe fn gemm_raw<T: Real>(
    m: usize,
    k: usize,
    n: usize,
    a: Strided<T>,
    b: Strided<T>,
    beta: T,
    c: *mut T,
    ldc: usize,
) {
    // Small products with `A` column-major go to the kernel that does not pack (see `super::small`), with
    // the same per-entry arithmetic; the rest, `f64`, and any CPU without AVX2 and FMA, to matrixmultiply.
    // So do products of any size with a few rows and `B`'s columns contiguous: a fully connected layer's
    // forward at batch 32 (`X W`, 32 x 3136 by 3136 x 512), where packing copies all of `B` for 32 rows.
    // Measured on two threads (`examples/gemm_peak.rs`, AMD EPYC, AVX2): 0.90 to 1.23 ms against 1.15 to
    // 1.44; at 64 rows no better, at 64 rows of W1's first layer worse.
    let skinny = m <= 32 && b.rs == 1;
    let small = m * n * k > 0
        && a.rs == 1
        && a.cs >= m
        && m <= super::small::MAX_ROWS
        && (m * n * k <= super::small::MAX_MACS || skinny);
    if let (true, Some(ad), Some(bd)) = (small, super::as_f32(a.data), super::as_f32(b.data)) {
        let beta = beta.as_f64() as f32;
        // SAFETY: T is f32 (as_f32 succeeded), and the output's bounds are the caller's promise.
        if super::small::sgemm_raw(
            m,
            k,
            n,
            ad,
            a.cs,
            (bd, b.rs, b.cs),
            beta,
            c as *mut f32,
            ldc,
        ) {
            return;
        }
    }
    packed_raw(m, k, n, a, b, beta, c, ldc);
}

/// [`gemm_strided`] always through matrixmultiply's packing kernels, whatever the size: the reference that the
/// small-product kernel ([`super::small`]) is checked against, bit for bit.
#[allow(clippy::too_many_arguments)]
pub fn packed_gemm<T: Real>(
    m: usize,
    k: usize,
    n: usize,
    a: Strided<T>,
    b: Strided<T>,
    beta: T,
    c: &mut [T],
    ldc: usize,
) {
    if let Some(c) = output(m, n, c, ldc) {
        // SAFETY: as in `gemm_strided`.
        unsafe { packed_raw(m, k, n, a, b, beta, c, ldc) }
    }
}

/// [`packed_gemm`] into `C` through a pointer.
///
/// # Safety
/// `c` must point to `C` with rows `0..m` of columns `0..n` at leading dimension `ldc >= m`, aliasing neither
/// operand, and no one else may use those entries during the call.
/// When `β` is zero they may be uninitialised: they are written and not read.
#[allow(clippy::too_many_arguments)]
unsafe fn packed_raw<T: Real>(
    m: usize,
    k: usize,
    n: usize,
    a: Strided<T>,
    b: Strided<T>,
    beta: T,
    c: *mut T,
    ldc: usize,
) {
    use std::any::TypeId;
    if m == 0 || n == 0 {
        return;
    }
    if k == 0 {
        for j in 0..n {
            for i in 0..m {
                let cij = c.add(i + j * ldc);
                // β zero: C may be uninitialised and is not read, as in matrixmultiply.
                *cij = if beta == T::zero() {
                    T::zero()
                } else {
                    *cij * beta
                };
            }
        }
        return;
    }
    // The last entry each operand is read at must lie inside its slice: this is what makes the raw-pointer
    // calls below sound.
    let last = |x: &Strided<T>, r: usize, cl: usize| (r - 1) * x.rs + (cl - 1) * x.cs;
    assert!(
        last(&a, m, k) < a.data.len() && last(&b, k, n) < b.data.len(),
        "gemm: operand buffers too small"
    );
    let (ac, bc) = (a.data.as_ptr(), b.data.as_ptr());
    let (rsa, csa, rsb, csb) = (a.rs as isize, a.cs as isize, b.rs as isize, b.cs as isize);
    if TypeId::of::<T>() == TypeId::of::<f32>() {
        // SAFETY: T is f32 (checked above), the operands' bounds are asserted above, the output's are the
        // caller's promise.
        matrixmultiply::sgemm(
            m,
            k,
            n,
            1.0,
            ac as *const f32,
            rsa,
            csa,
            bc as *const f32,
            rsb,
            csb,
            beta.as_f64() as f32,
            c as *mut f32,
            1,
            ldc as isize,
        );
    } else if TypeId::of::<T>() == TypeId::of::<f64>() {
        // SAFETY: as above, with T = f64.
        matrixmultiply::dgemm(
            m,
            k,
            n,
            1.0,
            ac as *const f64,
            rsa,
            csa,
            bc as *const f64,
            rsb,
            csb,
            beta.as_f64(),
            c as *mut f64,
            1,
            ldc as isize,
        );
    } else {
        for j in 0..n {
            for i in 0..m {
                let mut s = T::zero();
                for p in 0..k {
                    s += a.data[i * a.rs + p * a.cs] * b.data[p * b.rs + j * b.cs];
                }
                let cij = c.add(i + j * ldc);
                *cij = if beta == T::zero() {
                    s
                } else {
                    beta * *cij + s
                };
            }
        }
    }
}
