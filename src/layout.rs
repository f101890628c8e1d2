//! How a batch of images lives in a matrix, and the geometry of convolution and pooling over it.
//!
//! A batch of `N` images with `C` channels of `H x W` pixels is a `(C·H·W) x N` matrix: column `n` is image
//! `n`, its entries in `(c, y, x)` order. nalgebra stores matrices column by column, so each image is one
//! contiguous run of memory in the NCHW order of the book's NumPy arrays, and MNIST's pixel buffer *is* such
//! a matrix with no copy. Fully connected layers take samples as rows (`N x D`): `flatten` is a transpose.

use crate::error::{Error, Result};

/// Marks an index-map entry that is zero (a padding position) rather than a copy of an input entry.
pub const ZERO: u32 = u32::MAX;

/// Geometry of a 2-D convolution of one image: input `c_in x h x w`, `c_out` kernels of `c_in x kh x kw`,
/// a stride, and `pad` zeros on every side.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ConvGeom {
    pub c_in: usize,
    pub h: usize,
    pub w: usize,
    pub c_out: usize,
    pub kh: usize,
    pub kw: usize,
    pub stride: usize,
    pub pad: usize,
}

impl ConvGeom {
    /// Checks that the kernel fits the padded input and that every size is positive.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        c_in: usize,
        h: usize,
        w: usize,
        c_out: usize,
        kh: usize,
        kw: usize,
        stride: usize,
        pad: usize,
    ) -> Result<Self> {
        let g = ConvGeom {
            c_in,
            h,
            w,
            c_out,
            kh,
            kw,
            stride,
            pad,
        };
        g.validate()?;
        Ok(g)
    }

    /// The checks of [`ConvGeom::new`]. The fields are public, so a geometry can be written without them: the
    /// layer checks again before it divides by the stride or subtracts the kernel size.
    pub fn validate(&self) -> Result<()> {
        let &ConvGeom {
            c_in,
            h,
            w,
            c_out,
            kh,
            kw,
            stride,
            pad,
        } = self;
        let g = self;
        if [c_in, h, w, c_out, kh, kw, stride].contains(&0) {
            return Err(Error::invalid(
                "conv2d",
                format!("every size must be positive: {g}"),
            ));
        }
        if kh > h + 2 * pad || kw > w + 2 * pad {
            return Err(Error::invalid(
                "conv2d",
                format!(
                    "kernel {kh}x{kw} does not fit the input {h}x{w} padded by {pad} ({}x{}): {g}",
                    h + 2 * pad,
                    w + 2 * pad
                ),
            ));
        }
        if pad >= kh.max(kw) {
            return Err(Error::invalid(
                "conv2d",
                format!("padding {pad} must be smaller than the kernel {kh}x{kw}: outputs would see only zeros; {g}"),
            ));
        }
        Ok(())
    }

    /// Stride 1 and the padding that keeps `h x w` ("same"), for an odd kernel size `k`.
    pub fn same(c_in: usize, h: usize, w: usize, c_out: usize, k: usize) -> Result<Self> {
        if k % 2 == 0 {
            return Err(Error::invalid(
                "conv2d",
                format!("\"same\" padding needs an odd kernel size, got {k}"),
            ));
        }
        ConvGeom::new(c_in, h, w, c_out, k, k, 1, (k - 1) / 2)
    }

    /// Height and width of an input plane with its padding on every side.
    pub fn padded_hw(&self) -> (usize, usize) {
        (self.h + 2 * self.pad, self.w + 2 * self.pad)
    }
    pub fn out_h(&self) -> usize {
        (self.padded_hw().0 - self.kh) / self.stride + 1
    }
    pub fn out_w(&self) -> usize {
        (self.padded_hw().1 - self.kw) / self.stride + 1
    }
    /// Output positions per channel.
    pub fn positions(&self) -> usize {
        self.out_h() * self.out_w()
    }
    /// Entries of one input image.
    pub fn in_len(&self) -> usize {
        self.c_in * self.h * self.w
    }
    /// Entries of one output image.
    pub fn out_len(&self) -> usize {
        self.c_out * self.positions()
    }
    /// Length of one patch: the weights of one kernel.
    pub fn patch(&self) -> usize {
        self.c_in * self.kh * self.kw
    }

    /// The input entry that patch entry `k` of output position `(oy, ox)` of image `n` reads, or `None` for
    /// padding. Patch entries are ordered `(ci, dy, dx)`.
    #[inline]
    pub fn source(&self, n: usize, oy: usize, ox: usize, k: usize) -> Option<usize> {
        let (ci, rest) = (k / (self.kh * self.kw), k % (self.kh * self.kw));
        let (dy, dx) = (rest / self.kw, rest % self.kw);
        let iy = (oy * self.stride + dy).checked_sub(self.pad)?;
        let ix = (ox * self.stride + dx).checked_sub(self.pad)?;
        (iy < self.h && ix < self.w).then(|| n * self.in_len() + (ci * self.h + iy) * self.w + ix)
    }

    /// Gather index of im2col: a `(N·P) x K` matrix whose row `n·P + p` is the patch under output position `p`
    /// of image `n`.
    pub fn im2col_index(&self, n: usize) -> Vec<u32> {
        let (p, k) = (self.positions(), self.patch());
        let mut index = Vec::with_capacity(n * p * k);
        for kk in 0..k {
            for img in 0..n {
                for oy in 0..self.out_h() {
                    for ox in 0..self.out_w() {
                        index.push(self.source(img, oy, ox, kk).map_or(ZERO, |s| s as u32));
                    }
                }
            }
        }
        index
    }
}

impl std::fmt::Display for ConvGeom {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "input {}x{}x{}, {} kernels of {}x{}, stride {}, padding {}",
            self.c_in, self.h, self.w, self.c_out, self.kh, self.kw, self.stride, self.pad
        )
    }
}

/// Gather index that turns a `(N·P) x C` matrix (row `n·P + p`, column `c`) into the image layout
/// `(C·P) x N`.
pub fn rows_to_images_index(n: usize, p: usize, c: usize) -> Vec<u32> {
    let mut index = Vec::with_capacity(n * p * c);
    for img in 0..n {
        for ch in 0..c {
            for pos in 0..p {
                index.push(((img * p + pos) + n * p * ch) as u32);
            }
        }
    }
    index
}

/// Geometry of pooling one image: `c x h x w` input, `ph x pw` windows, a stride, no padding.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PoolGeom {
    pub c: usize,
    pub h: usize,
    pub w: usize,
    pub ph: usize,
    pub pw: usize,
    pub stride: usize,
}

impl PoolGeom {
    pub fn new(c: usize, h: usize, w: usize, ph: usize, pw: usize, stride: usize) -> Result<Self> {
        let g = PoolGeom {
            c,
            h,
            w,
            ph,
            pw,
            stride,
        };
        g.validate()?;
        Ok(g)
    }

    /// The checks of [`PoolGeom::new`], for a geometry written field by field.
    pub fn validate(&self) -> Result<()> {
        let &PoolGeom {
            c,
            h,
            w,
            ph,
            pw,
            stride,
        } = self;
        if [c, h, w, ph, pw, stride].contains(&0) || ph > h || pw > w {
            return Err(Error::invalid(
                "pool",
                format!(
                    "window {ph}x{pw} with stride {stride} does not fit {c} channels of {h}x{w} (every size positive, window at most the input)"
                ),
            ));
        }
        Ok(())
    }
    /// Whether no two windows overlap (the stride at least the window both ways): then no input is the winner
    /// of two windows.
    pub fn disjoint(&self) -> bool {
        self.stride >= self.ph && self.stride >= self.pw
    }
    pub fn out_h(&self) -> usize {
        (self.h - self.ph) / self.stride + 1
    }
    pub fn out_w(&self) -> usize {
        (self.w - self.pw) / self.stride + 1
    }
    pub fn positions(&self) -> usize {
        self.out_h() * self.out_w()
    }
    pub fn in_len(&self) -> usize {
        self.c * self.h * self.w
    }
    pub fn out_len(&self) -> usize {
        self.c * self.positions()
    }
    /// Entries of one window.
    pub fn window(&self) -> usize {
        self.ph * self.pw
    }

    /// The input entry of window entry `(dy, dx)` of channel `ch`, output position `(oy, ox)`, image `n`.
    #[inline]
    pub fn source(&self, n: usize, ch: usize, oy: usize, ox: usize, dy: usize, dx: usize) -> usize {
        n * self.in_len() + (ch * self.h + oy * self.stride + dy) * self.w + ox * self.stride + dx
    }

    /// Gather index of a `(ph·pw) x (N·C·P)` matrix: column `(n·C + c)·P + p` is one window, in row-major
    /// order, so that a reduction down the columns pools and the result is already in image order.
    pub fn windows_index(&self, n: usize) -> Vec<u32> {
        let mut index = Vec::with_capacity(n * self.out_len() * self.window());
        for img in 0..n {
            for ch in 0..self.c {
                for oy in 0..self.out_h() {
                    for ox in 0..self.out_w() {
                        for dy in 0..self.ph {
                            for dx in 0..self.pw {
                                index.push(self.source(img, ch, oy, ox, dy, dx) as u32);
                            }
                        }
                    }
                }
            }
        }
        index
    }
}
