//! Convolution, fast (book chapter 5): im2col turns every patch the kernels slide over into a row of a
//! matrix, so a layer is a matrix product; col2im scatters the patches' gradients back. Same shapes and
//! results as the naive [`super::conv`].
//!
//! The products run image by image: the `P x K` patch matrix of one image (a few hundred kilobytes) is built in
//! a buffer that stays in the cache, multiplied at once, and built again in the backward pass rather than
//! kept. The images of a batch are independent, so they are spread over the threads of the rayon pool.

use crate::error::Result;
use crate::kernels::par::zeros_then;
use crate::kernels::{as_f32, as_f32_mut, gathered, gemm_strided, Strided};
use crate::layout::ConvGeom;
use crate::scalar::Real;
use nalgebra::DMatrix;
use rayon::prelude::*;

use super::conv::ConvGrads;

// ANCHOR: im2col
/// Image `x` (its `C·H·W` entries) with `pad` zeros around each channel plane, in `buf`: `C` planes of
/// `(H + 2·pad) x (W + 2·pad)`. Without padding, `x` itself.
pub fn padded<'a, T: Real>(x: &'a [T], g: &ConvGeom, buf: &'a mut Vec<T>) -> &'a [T] {
    if g.pad == 0 {
        return &x[..g.in_len()];
    }
    let (ph, pw) = g.padded_hw();
    buf.clear();
    buf.resize(g.c_in * ph * pw, T::zero());
    for (plane, src) in buf.chunks_exact_mut(ph * pw).zip(x.chunks_exact(g.h * g.w)) {
        for (row, s) in plane[g.pad * pw..]
            .chunks_exact_mut(pw)
            .zip(src.chunks_exact(g.w))
        {
            crate::kernels::copy_run(&mut row[g.pad..g.pad + g.w], s);
        }
    }
    buf
}

/// The patches of one image (`xp`: its [`padded`] planes) as the rows of a `P x K` column-major matrix in
/// `cols`: row `p` is the patch under output position `p`, entries in `(ci, dy, dx)` order. Filled column by
/// column: patch entry `(ci, dy, dx)` of output row `oy` reads padded row `oy·stride + dy` from column `dx` on,
/// every `stride`-th entry; for stride 1 that is one contiguous copy.
pub fn im2col<T: Real>(xp: &[T], g: &ConvGeom, cols: &mut [T]) {
    let (oh, ow, p) = (g.out_h(), g.out_w(), g.positions());
    let (ph, pw) = g.padded_hw();
    let mut columns = cols[..p * g.patch()].chunks_exact_mut(p);
    for plane in xp.chunks_exact(ph * pw).take(g.c_in) {
        for dy in 0..g.kh {
            for dx in 0..g.kw {
                let col = columns.next().expect("kh·kw columns per channel");
                for (oy, out) in col.chunks_exact_mut(ow).enumerate().take(oh) {
                    let row = &plane[(oy * g.stride + dy) * pw + dx..];
                    if g.stride == 1 {
                        crate::kernels::copy_run(out, &row[..ow]);
                    } else {
                        for (v, &r) in out.iter_mut().zip(row.iter().step_by(g.stride)) {
                            *v = r;
                        }
                    }
                }
            }
        }
    }
}
// ANCHOR_END: im2col

// ANCHOR: col2im
/// The inverse movement of [`im2col`], adding where patches overlap: the gradient of one image's input, added
/// into `dx_img`. The sums are gathered in the padded planes of `buf`; the gradients that land on padding belong
/// to constants and are dropped.
pub fn col2im<T: Real>(dcols: &[T], g: &ConvGeom, buf: &mut Vec<T>, dx_img: &mut [T]) {
    let (oh, ow, p) = (g.out_h(), g.out_w(), g.positions());
    let (ph, pw) = g.padded_hw();
    buf.clear();
    buf.resize(g.c_in * ph * pw, T::zero());
    let mut columns = dcols[..p * g.patch()].chunks_exact(p);
    for plane in buf.chunks_exact_mut(ph * pw) {
        for dy in 0..g.kh {
            for dx in 0..g.kw {
                let col = columns.next().expect("kh·kw columns per channel");
                for (oy, src) in col.chunks_exact(ow).enumerate().take(oh) {
                    let row = &mut plane[(oy * g.stride + dy) * pw + dx..];
                    if g.stride == 1 {
                        for (d, &v) in row[..ow].iter_mut().zip(src) {
                            *d += v;
                        }
                    } else {
                        for (d, &v) in row.iter_mut().step_by(g.stride).zip(src) {
                            *d += v;
                        }
                    }
                }
            }
        }
    }
    for (plane, dst) in buf
        .chunks_exact(ph * pw)
        .zip(dx_img.chunks_exact_mut(g.h * g.w))
    {
        for (row, d) in plane[g.pad * pw..]
            .chunks_exact(pw)
            .zip(dst.chunks_exact_mut(g.w))
        {
            for (d, &v) in d.iter_mut().zip(&row[g.pad..g.pad + g.w]) {
                *d += v;
            }
        }
    }
}
// ANCHOR_END: col2im

/// The patches of one image as the columns of a `K x P` column-major matrix: [`im2col`]'s matrix transposed,
/// each patch contiguous. The weight gradient sums over positions, and the product kernel copies its left
/// operand into panels along the rows: from this layout that copy is a run of contiguous reads, from
/// [`im2col`]'s it is a gather of single entries `P` apart (measured: a sixth of a CNN step on one thread).
pub fn im2col_t<T: Real>(xp: &[T], g: &ConvGeom, cols: &mut [T]) {
    let (ph, pw) = g.padded_hw();
    let mut patches = cols[..g.positions() * g.patch()].chunks_exact_mut(g.patch());
    for oy in 0..g.out_h() {
        for ox in 0..g.out_w() {
            let patch = patches.next().expect("one patch per position");
            let mut runs = patch.chunks_exact_mut(g.kw);
            for plane in xp.chunks_exact(ph * pw).take(g.c_in) {
                for dy in 0..g.kh {
                    let out = runs.next().expect("kh runs per channel");
                    let start = (oy * g.stride + dy) * pw + ox * g.stride;
                    let src = &plane[start..start + g.kw];
                    // Runs are a few entries long: a copy of a length known at compile time is a few moves.
                    match (<&mut [T; 5]>::try_from(&mut *out), <&[T; 5]>::try_from(src)) {
                        (Ok(o), Ok(v)) => *o = *v,
                        _ => crate::kernels::copy_run(out, src),
                    }
                }
            }
        }
    }
}

/// Images per task of the backward pass. Each task sums its images' weight gradients into its own buffer and
/// the buffers are added in task order, so the result does not depend on the number of threads.
const GROUP: usize = 4;

// ANCHOR: conv_fast_forward
/// Forward: for every image `n`, `Y_n = cols(X_n) W + b`. `Y_n` is `P x C_out` column by column, which is
/// image `n`'s output in channel order: it is written straight into column `n` of the result.
pub fn forward<T: Real>(
    x: &DMatrix<T>,
    w: &DMatrix<T>,
    b: &DMatrix<T>,
    g: &ConvGeom,
) -> Result<DMatrix<T>> {
    super::conv::check_forward("conv_fast", x, w, b, g)?;
    let n = x.ncols();
    if n == 0 {
        return Ok(DMatrix::zeros(g.out_len(), 0));
    }
    let wp = Weights::new(w, g);
    let xs = x.as_slice();
    let y = zeros_then(
        g.out_len() * n,
        g.out_len(),
        || Scratch::new(),
        |scratch, img, yn| {
            let xn = &xs[img * g.in_len()..(img + 1) * g.in_len()];
            forward_image(xn, &wp, b, g, scratch, yn);
        },
    );
    Ok(DMatrix::from_vec(g.out_len(), n, y))
}

/// Image `n`'s output (5.1), `cols(X_n) W + b`, into `yn` (`P x C_out`, column by column; its old entries are
/// not read), with `W` as [`Weights`] lays it out.
pub(crate) fn forward_image<T: Real>(
    xn: &[T],
    w: &Weights<T>,
    b: &DMatrix<T>,
    g: &ConvGeom,
    s: &mut Scratch<T>,
    yn: &mut [T],
) {
    let p = g.positions();
    let xp = padded(xn, g, &mut s.pad);
    match w {
        Weights::Gathered { wt, offsets } => gathered_image(xp, wt, offsets, g, yn),
        Weights::Packed(wt) => {
            im2col(xp, g, patch_room(&mut s.cols, g));
            let cols = Strided::col_major(&s.cols, p, false);
            let wv = Strided::of(wt, true);
            gemm_strided(p, g.patch(), g.c_out, cols, wv, T::zero(), yn, p);
        }
    }
    for (channel, &bias) in yn.chunks_exact_mut(p).zip(b.iter()) {
        channel.iter_mut().for_each(|v| *v += bias);
    }
}

/// `Y = cols(X) W` for one image by the gathered kernel, as `Yᵀ = Wᵀ cols(X)ᵀ` (`wt`: `Wᵀ` in the kernel's
/// panels): each patch entry read where it lies in the padded planes `xp`, and entry `(c, p)` of `Yᵀ` written to
/// entry `p` of channel `c`'s plane of `y` (its old entries are not read). Called only where [`Offsets`] exist,
/// so `T` is `f32`.
fn gathered_image<T: Real>(xp: &[T], wt: &[f32], o: &Offsets, g: &ConvGeom, y: &mut [T]) {
    let (xp, y) = (as_f32(xp).expect("f32"), as_f32_mut(y).expect("f32"));
    let ran = gathered::sgemm(g.c_out, wt, xp, &o.patch, &o.pos, 0.0, y, g.positions(), 1);
    assert!(
        ran,
        "conv_fast: the gathered kernel was chosen on a CPU without AVX2"
    );
}
// ANCHOR_END: conv_fast_forward

/// The shortest patch whose forward product goes through the gathered kernel (conv2's has 800 entries).
const MIN_GATHERED_PATCH: usize = 64;

/// `W` as the forward pass reads it for every image, laid out once per call. For matrixmultiply, `Wᵀ`, so that
/// its copy of the right operand into panels along its columns reads contiguous runs instead of gathering `W`'s
/// entries `K` apart. For the gathered kernel (`f32` where it is [`gathered::preferred`]), `Wᵀ` in the kernel's
/// panels, and where each patch entry and each output position lie in the padded planes.
pub(crate) enum Weights<T> {
    Packed(DMatrix<T>),
    Gathered { wt: Vec<f32>, offsets: Offsets },
}

impl<T: Real> Weights<T> {
    pub(crate) fn new(w: &DMatrix<T>, g: &ConvGeom) -> Self {
        // The kernel writes `Yᵀ`'s tiles to `Y` an entry at a time, which a short patch does not pay for: conv1's
        // (25 entries) took 29.4 µs per image against im2col and matrixmultiply's 23.5 (`gemm_peak --gathered`).
        let long = g.patch() >= MIN_GATHERED_PATCH;
        let gathered = Offsets::new::<T>(g).filter(|_| long).and_then(|offsets| {
            let w = as_f32(w.as_slice())?;
            let mut wt = Vec::new();
            gathered::panels(g.c_out, g.patch(), |c, k| w[k + c * g.patch()], &mut wt);
            Some(Weights::Gathered { wt, offsets })
        });
        gathered.unwrap_or_else(|| Weights::Packed(w.transpose()))
    }
}

/// Where the gathered kernel finds the patch matrix in one image's padded planes: entry `(p, k)` of `cols(X)`
/// is `pos[p] + patch[k]`. `None` for `f64`, where the kernel is not [`gathered::preferred`], and for planes
/// too large for 32-bit offsets: those take im2col and matrixmultiply.
pub(crate) struct Offsets {
    patch: Vec<u32>,
    pos: Vec<u32>,
}

impl Offsets {
    pub(crate) fn new<T: Real>(g: &ConvGeom) -> Option<Self> {
        let fast = gathered::preferred();
        let (ph, pw) = g.padded_hw();
        if !fast || as_f32::<T>(&[]).is_none() || g.c_in * ph * pw > u32::MAX as usize {
            return None;
        }
        let mut patch = Vec::with_capacity(g.patch());
        for ci in 0..g.c_in {
            for dy in 0..g.kh {
                for dx in 0..g.kw {
                    patch.push(((ci * ph + dy) * pw + dx) as u32);
                }
            }
        }
        let mut pos = Vec::with_capacity(g.positions());
        for oy in 0..g.out_h() {
            for ox in 0..g.out_w() {
                pos.push((oy * g.stride * pw + ox * g.stride) as u32);
            }
        }
        Some(Offsets { patch, pos })
    }
}

/// One task's buffers: an image's patches (or their gradients), its padded planes, (for errors that are not a
/// slice of `dy` as it lies) its error, and its error transposed for the gathered kernel. Each is sized when
/// first used: a task that never builds patches never clears room for them.
pub(crate) struct Scratch<T> {
    cols: Vec<T>,
    pad: Vec<T>,
    pub(crate) err: Vec<T>,
    gt: Vec<f32>,
}

impl<T: Real> Scratch<T> {
    pub(crate) fn new() -> Self {
        Scratch {
            cols: Vec::new(),
            pad: Vec::new(),
            err: Vec::new(),
            gt: Vec::new(),
        }
    }
}

/// Room for one image's `P x K` patch matrix in `cols` (its old entries are overwritten by every user).
fn patch_room<'a, T: Real>(cols: &'a mut Vec<T>, g: &ConvGeom) -> &'a mut [T] {
    cols.resize(g.positions() * g.patch(), T::zero());
    cols
}

/// Where the backward pass finds image `n`'s error `G_n` (`P x C_out`, column by column).
pub(crate) trait ImageErrors<T>: Sync {
    /// The number of images.
    fn images(&self) -> usize;
    /// Image `img`'s error: a slice of something held, or built in `buf`.
    fn image<'a>(&'a self, img: usize, buf: &'a mut Vec<T>) -> &'a [T];
}

/// The error as the layer's output gradient holds it: image `n` is column `n`.
impl<T: Real> ImageErrors<T> for DMatrix<T> {
    fn images(&self) -> usize {
        self.ncols()
    }
    fn image<'a>(&'a self, img: usize, _buf: &'a mut Vec<T>) -> &'a [T] {
        let len = self.nrows();
        &self.as_slice()[img * len..(img + 1) * len]
    }
}
/// Backward: with `G_n` image `n`'s error as a `P x C_out` matrix (column `n` of `dy`, as it lies),
/// `dW = Σ_n cols(X_n)ᵀ G_n`, `db = Σ_n Σ_rows G_n`, `dX_n = col2im(G_n Wᵀ)`, or, where
/// [`input_grad_as_conv`] says so, `dX_n` as a convolution of the padded `G_n` with the flipped kernels. The
/// patches are built again from `x` rather than kept from the forward pass.
pub fn backward<T: Real>(
    dy: &DMatrix<T>,
    x: &DMatrix<T>,
    w: &DMatrix<T>,
    g: &ConvGeom,
    need_dx: bool,
) -> Result<ConvGrads<T>> {
    super::conv::check_backward("conv_fast backward", dy, x, w, g)?;
    Ok(backward_images(dy, x, w, g, need_dx))
}

/// [`backward`] with each image's error taken from `errs`, whose shapes the caller has checked.
pub(crate) fn backward_images<T: Real>(
    errs: &impl ImageErrors<T>,
    x: &DMatrix<T>,
    w: &DMatrix<T>,
    g: &ConvGeom,
    need_dx: bool,
) -> ConvGrads<T> {
    let (n, p, k, c) = (errs.images(), g.positions(), g.patch(), g.c_out);
    let mut dx = if need_dx {
        DMatrix::zeros(g.in_len(), n)
    } else {
        DMatrix::zeros(0, 0)
    };
    let wv = Strided::of(w, true);
    let offsets = Offsets::new::<T>(g);
    let flipped = need_dx.then(|| Flipped::new(w, g)).flatten();
    let dx_chunks: Vec<Option<&mut [T]>> = if need_dx {
        dx.as_mut_slice()
            .chunks_mut(g.in_len() * GROUP)
            .map(Some)
            .collect()
    } else {
        (0..n.div_ceil(GROUP)).map(|_| None).collect()
    };
    // ANCHOR: conv_fast_backward
    let partial: Vec<(Vec<T>, Vec<T>)> = dx_chunks
        .into_par_iter()
        .enumerate()
        .map_init(
            || Scratch::new(),
            |s, (group, mut dx_group)| {
                let (mut dw, mut db) = (vec![T::zero(); k * c], vec![T::zero(); c]);
                let images = group * GROUP..((group + 1) * GROUP).min(n);
                for (i, img) in images.enumerate() {
                    let gn = errs.image(img, &mut s.err);
                    let xn = &x.as_slice()[img * g.in_len()..(img + 1) * g.in_len()];
                    let xp = padded(xn, g, &mut s.pad);
                    let gv = Strided::col_major(gn, p, false);
                    if let Some(o) = &offsets {
                        weight_grad_gathered(gn, xp, g, o, &mut s.gt, &mut dw);
                    } else {
                        im2col_t(xp, g, patch_room(&mut s.cols, g));
                        let cols = Strided::col_major(&s.cols, k, false);
                        gemm_strided(k, p, c, cols, gv, T::one(), &mut dw, k);
                    }
                    crate::kernels::sum::add_run_sums(gn, p, p, &mut db); // each channel's sum
                    if let Some(dxg) = dx_group.as_deref_mut() {
                        let dxn = &mut dxg[i * g.in_len()..(i + 1) * g.in_len()];
                        if let Some(flipped) = &flipped {
                            flipped.input_grad(gn, &mut s.pad, dxn);
                        } else {
                            let dcols = patch_room(&mut s.cols, g);
                            gemm_strided(p, c, k, gv, wv, T::zero(), dcols, p); // (5.2) and (5.3)
                            col2im(&s.cols, g, &mut s.pad, dxn);
                        }
                    }
                }
                (dw, db)
            },
        )
        .collect();
    // ANCHOR_END: conv_fast_backward
    // The gathered kernel sums each group's `dWᵀ` (`C_out x K`, its columns runs of `C_out`), the other path `dW`.
    let mut dw = if offsets.is_some() {
        DMatrix::zeros(c, k)
    } else {
        DMatrix::zeros(k, c)
    };
    let mut db = DMatrix::zeros(1, c);
    for (pw, pb) in &partial {
        dw.as_mut_slice()
            .iter_mut()
            .zip(pw)
            .for_each(|(a, &b)| *a += b);
        db.as_mut_slice()
            .iter_mut()
            .zip(pb)
            .for_each(|(a, &b)| *a += b);
    }
    if offsets.is_some() {
        dw = crate::kernels::transpose(&dw);
    }
    ConvGrads { dx, dw, db }
}

/// `dWᵀ ← dWᵀ + G_nᵀ cols(X_n)` by the gathered kernel (`dw` holds `dWᵀ`, `C_out x K` column by column): the
/// output channels along the vector lanes, the patch entries read where they lie in `xp` (the image's padded
/// planes). `G_nᵀ` is laid out in `gt` in the kernel's panels. Called only where [`Offsets`] exist, so `T` is `f32`.
fn weight_grad_gathered<T: Real>(
    gn: &[T],
    xp: &[T],
    g: &ConvGeom,
    o: &Offsets,
    gt: &mut Vec<f32>,
    dw: &mut [T],
) {
    let (gn, xp, dw) = (
        as_f32(gn).expect("f32"),
        as_f32(xp).expect("f32"),
        as_f32_mut(dw).expect("f32"),
    );
    let p = g.positions();
    gathered::panels(g.c_out, p, |ch, pos| gn[pos + ch * p], gt);
    let ran = gathered::sgemm(g.c_out, gt, xp, &o.pos, &o.patch, 1.0, dw, 1, g.c_out);
    assert!(
        ran,
        "conv_fast: the gathered kernel was chosen on a CPU without AVX2"
    );
}

// ANCHOR: input_grad_as_conv
/// The geometry in which the input gradient of a stride-1 convolution is itself a convolution: the error `G`
/// (`C_out` planes of `H' x W'`) padded by `k - 1 - pad`, convolved with the kernels flipped in both directions
/// and with input and output channels swapped, gives `dX` (`C_in` planes of `H x W`): entry
/// `dX[ci, y, x] = Σ W[co, ci, dy, dx] G[co, y + pad - dy, x + pad - dx]`, `G` zero outside its planes.
/// `None` where that does not hold as one convolution: strides (they need the error dilated), kernels that are not
/// square (one padding must fit both directions), `pad >= k`.
pub fn input_grad_geometry(g: &ConvGeom) -> Option<ConvGeom> {
    if g.stride != 1 || g.kh != g.kw || g.pad >= g.kh {
        return None;
    }
    let (c_out, k) = (g.c_in, g.kh);
    let t = ConvGeom::new(g.c_out, g.out_h(), g.out_w(), c_out, k, k, 1, k - 1 - g.pad).ok()?;
    (t.out_h() == g.h && t.out_w() == g.w).then_some(t)
}

/// [`input_grad_geometry`] where the layer computes the input gradient that way, through the gathered kernel,
/// instead of as `col2im(G_n Wᵀ)`: in `f32` where the kernel is [`gathered::preferred`], with at least 16 input
/// channels (the kernel's tile holds 16 of them: with 8, half its lanes would idle) and flipped patches of at
/// least [`MIN_GATHERED_PATCH`] entries. conv2's (32 x 14 x 14, 64 kernels of 5 x 5) took 225 µs per image this
/// way against 339 for the product and col2im (`gemm_peak --gathered`, one thread).
pub fn input_grad_as_conv<T: Real>(g: &ConvGeom) -> Option<ConvGeom> {
    flipped_conv::<T>(g).map(|(t, _)| t)
}

/// [`input_grad_as_conv`]'s geometry with its offset tables, built once.
fn flipped_conv<T: Real>(g: &ConvGeom) -> Option<(ConvGeom, Offsets)> {
    let t = input_grad_geometry(g)
        .filter(|t| g.c_in >= gathered::MR && t.patch() >= MIN_GATHERED_PATCH)?;
    Some((t, Offsets::new::<T>(&t)?))
}

/// The flipped kernels of [`input_grad_as_conv`] in the gathered kernel's panels (row `ci`, entry
/// `(co, dy, dx)` is `W[co, ci, k-1-dy, k-1-dx]`), with the offsets of the flipped convolution's patches in
/// the padded error planes: built once per backward call.
struct Flipped {
    geom: ConvGeom,
    wt: Vec<f32>,
    offsets: Offsets,
}

impl Flipped {
    fn new<T: Real>(w: &DMatrix<T>, g: &ConvGeom) -> Option<Self> {
        let (geom, offsets) = flipped_conv::<T>(g)?;
        let (w, k, kk) = (as_f32(w.as_slice())?, g.patch(), g.kh * g.kw);
        // Where flipped entry `(co, dy, dx)` of input channel 0 lies in `W`; channel `ci` is `ci·k²` further.
        // (A table, so that the panels' loop divides nothing: the divisions had taken 1% of W2's step.)
        let at: Vec<usize> = (0..geom.patch())
            .map(|e| {
                let (co, r) = (e / kk, e % kk);
                (kk - 1 - r) + co * k
            })
            .collect();
        let mut wt = Vec::new();
        gathered::panels(g.c_in, geom.patch(), |ci, e| w[ci * kk + at[e]], &mut wt);
        Some(Flipped { geom, wt, offsets })
    }

    /// Image `n`'s input gradient from its error `gn` (`C_out` planes), into `dxn` (`C_in` planes; its old
    /// entries are not read): the flipped convolution's forward product, as [`forward_image`] computes `Y`.
    fn input_grad<T: Real>(&self, gn: &[T], pad: &mut Vec<T>, dxn: &mut [T]) {
        let gp = padded(gn, &self.geom, pad);
        gathered_image(gp, &self.wt, &self.offsets, &self.geom, dxn);
    }
}
// ANCHOR_END: input_grad_as_conv
