//! Ops that move entries without changing them. Their backward moves the gradient back the same way.

use super::shape_of;
use crate::autograd::tape::{Op, Tape, Var};
use crate::error::{Error, Result, Shape};
use crate::scalar::Real;
use nalgebra::DMatrix;

struct Transpose;

impl<T: Real> Tape<T> {
    /// `Aᵀ`. Backward: `dA = gᵀ`.
    pub fn transpose(&mut self, a: Var) -> Result<Var> {
        let out = crate::kernels::transpose(self.get(a, "transpose")?);
        self.record(out, &[a], Transpose)
    }
}

impl<T: Real> Op<T> for Transpose {
    fn name(&self) -> &'static str {
        "transpose"
    }
    fn backward(
        &self,
        _x: &[&DMatrix<T>],
        _y: &DMatrix<T>,
        g: &DMatrix<T>,
        _n: &[bool],
    ) -> Vec<Option<DMatrix<T>>> {
        vec![Some(crate::kernels::transpose(g))]
    }
}

/// Reshape in row-major (NumPy, C) order: entry `k` of the row-by-row reading of the input becomes entry `k`
/// of the row-by-row reading of the output. nalgebra stores column-major, so this is not a plain
/// `reshape_generic`: that would read the columns instead.
fn reshape_row_major<T: Real>(a: &DMatrix<T>, rows: usize, cols: usize) -> DMatrix<T> {
    let ac = a.ncols();
    DMatrix::from_fn(rows, cols, |i, j| {
        let k = i * cols + j;
        a[(k / ac, k % ac)]
    })
}

struct Reshape;

impl<T: Real> Tape<T> {
    /// The same entries in `rows x cols`, in row-major order. Backward: reshape `g` back.
    pub fn reshape(&mut self, a: Var, rows: usize, cols: usize) -> Result<Var> {
        let va = self.get(a, "reshape")?;
        if va.len() != rows * cols {
            return Err(Error::shape(
                "reshape",
                &[shape_of(va)],
                format!(
                    "{} entries to fill {rows}x{cols} = {}",
                    va.len(),
                    rows * cols
                ),
            ));
        }
        let out = reshape_row_major(va, rows, cols);
        self.record(out, &[a], Reshape)
    }
}

impl<T: Real> Op<T> for Reshape {
    fn name(&self) -> &'static str {
        "reshape"
    }
    fn backward(
        &self,
        x: &[&DMatrix<T>],
        _y: &DMatrix<T>,
        g: &DMatrix<T>,
        _n: &[bool],
    ) -> Vec<Option<DMatrix<T>>> {
        vec![Some(reshape_row_major(g, x[0].nrows(), x[0].ncols()))]
    }
}

// ANCHOR: slice
/// A block `[r0, r0 + rows) x [c0, c0 + cols)` of the input.
struct Slice {
    r0: usize,
    c0: usize,
}

impl<T: Real> Tape<T> {
    fn slice(&mut self, a: Var, r0: usize, rows: usize, c0: usize, cols: usize) -> Result<Var> {
        let va = self.get(a, "slice")?;
        let (r, c) = va.shape();
        if r0 + rows > r || c0 + cols > c || rows == 0 || cols == 0 {
            return Err(Error::shape(
                "slice",
                &[shape_of(va)],
                format!(
                    "a non-empty block rows {r0}..{} x cols {c0}..{} inside it",
                    r0 + rows,
                    c0 + cols
                ),
            ));
        }
        let out = va.view((r0, c0), (rows, cols)).into_owned();
        self.record(out, &[a], Slice { r0, c0 })
    }

    /// Rows `start..start + len`.
    pub fn slice_rows(&mut self, a: Var, start: usize, len: usize) -> Result<Var> {
        let c = self.get(a, "slice_rows")?.ncols();
        self.slice(a, start, len, 0, c)
    }

    /// Columns `start..start + len`.
    pub fn slice_cols(&mut self, a: Var, start: usize, len: usize) -> Result<Var> {
        let r = self.get(a, "slice_cols")?.nrows();
        self.slice(a, 0, r, start, len)
    }
}

impl<T: Real> Op<T> for Slice {
    fn name(&self) -> &'static str {
        "slice"
    }
    /// `g` written into a zero matrix of the input's shape, at the block's place.
    fn backward(
        &self,
        x: &[&DMatrix<T>],
        _y: &DMatrix<T>,
        g: &DMatrix<T>,
        _n: &[bool],
    ) -> Vec<Option<DMatrix<T>>> {
        let mut dx = DMatrix::zeros(x[0].nrows(), x[0].ncols());
        dx.view_mut((self.r0, self.c0), g.shape()).copy_from(g);
        vec![Some(dx)]
    }
}
// ANCHOR_END: slice

#[derive(Clone, Copy, PartialEq, Eq)]
enum Along {
    Rows,
    Cols,
}

struct Concat(Along);

impl<T: Real> Tape<T> {
    fn concat(&mut self, parts: &[Var], along: Along, name: &'static str) -> Result<Var> {
        let mut shapes = Vec::with_capacity(parts.len());
        for &p in parts {
            shapes.push(shape_of(self.get(p, name)?));
        }
        let Some(&Shape(r0, c0)) = shapes.first() else {
            return Err(Error::invalid(name, "nothing to concatenate"));
        };
        let fits = shapes.iter().all(|s| match along {
            Along::Rows => s.1 == c0,
            Along::Cols => s.0 == r0,
        });
        if !fits {
            let expected = match along {
                Along::Rows => format!("every part to have {c0} columns"),
                Along::Cols => format!("every part to have {r0} rows"),
            };
            return Err(Error::shape(name, &shapes, expected));
        }
        let (rows, cols) = match along {
            Along::Rows => (shapes.iter().map(|s| s.0).sum(), c0),
            Along::Cols => (r0, shapes.iter().map(|s| s.1).sum()),
        };
        let mut out = DMatrix::zeros(rows, cols);
        let mut at = 0;
        for (&p, s) in parts.iter().zip(&shapes) {
            let v = self.get(p, name)?;
            match along {
                Along::Rows => {
                    out.view_mut((at, 0), (s.0, s.1)).copy_from(v);
                    at += s.0;
                }
                Along::Cols => {
                    out.view_mut((0, at), (s.0, s.1)).copy_from(v);
                    at += s.1;
                }
            }
        }
        self.record(out, parts, Concat(along))
    }

    /// Stack vertically: parts with equal column counts, one below the other.
    pub fn concat_rows(&mut self, parts: &[Var]) -> Result<Var> {
        self.concat(parts, Along::Rows, "concat_rows")
    }

    /// Stack horizontally: parts with equal row counts, side by side.
    pub fn concat_cols(&mut self, parts: &[Var]) -> Result<Var> {
        self.concat(parts, Along::Cols, "concat_cols")
    }
}

impl<T: Real> Op<T> for Concat {
    fn name(&self) -> &'static str {
        "concat"
    }
    /// Each part gets its own block of `g` back.
    fn backward(
        &self,
        x: &[&DMatrix<T>],
        _y: &DMatrix<T>,
        g: &DMatrix<T>,
        needs: &[bool],
    ) -> Vec<Option<DMatrix<T>>> {
        let mut at = 0;
        x.iter()
            .zip(needs)
            .map(|(p, &need)| {
                let (r, c) = p.shape();
                let start = if self.0 == Along::Rows {
                    (at, 0)
                } else {
                    (0, at)
                };
                at += if self.0 == Along::Rows { r } else { c };
                need.then(|| g.view(start, (r, c)).into_owned())
            })
            .collect()
    }
}
