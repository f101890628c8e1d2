//! Sums and means. Backward of a reduction spreads the incoming gradient back over the entries that were
//! reduced (times `1/n` for a mean).

use crate::autograd::tape::{Op, Tape, Var};
use crate::error::Result;
use crate::scalar::Real;
use nalgebra::DMatrix;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Axis {
    /// Everything to `1x1`.
    All,
    /// Down each column, over the rows: `r x c -> 1 x c` (NumPy `axis=0`).
    Rows,
    /// Along each row, over the columns: `r x c -> r x 1` (NumPy `axis=1`).
    Cols,
}

// ANCHOR: reduce
struct Reduce<T> {
    axis: Axis,
    /// 1 for a sum, `1/n` for a mean over `n` entries.
    weight: T,
}

impl<T: Real> Tape<T> {
    fn reduce(&mut self, a: Var, axis: Axis, mean: bool, name: &'static str) -> Result<Var> {
        let va = self.get(a, name)?;
        let (r, c) = va.shape();
        let (out, n) = match axis {
            Axis::All => (DMatrix::from_element(1, 1, va.sum()), r * c),
            Axis::Rows => (DMatrix::from_row_slice(1, c, va.row_sum().as_slice()), r),
            Axis::Cols => (
                DMatrix::from_column_slice(r, 1, va.column_sum().as_slice()),
                c,
            ),
        };
        // An empty reduction has mean 0 by convention rather than 0/0.
        let weight = if mean && n > 0 {
            T::one() / T::of(n as f64)
        } else {
            T::one()
        };
        self.record(out * weight, &[a], Reduce { axis, weight })
    }
}

impl<T: Real> Op<T> for Reduce<T> {
    fn name(&self) -> &'static str {
        "reduce"
    }
    /// `dx[i, j] = weight * g[the entry (i, j) was reduced into]`.
    fn backward(
        &self,
        x: &[&DMatrix<T>],
        _out: &DMatrix<T>,
        g: &DMatrix<T>,
        _needs: &[bool],
    ) -> Vec<Option<DMatrix<T>>> {
        let (r, c) = x[0].shape();
        let w = self.weight;
        let dx = match self.axis {
            Axis::All => DMatrix::from_element(r, c, g[(0, 0)] * w),
            Axis::Rows => DMatrix::from_fn(r, c, |_, j| g[(0, j)] * w),
            Axis::Cols => DMatrix::from_fn(r, c, |i, _| g[(i, 0)] * w),
        };
        vec![Some(dx)]
    }
}
// ANCHOR_END: reduce

impl<T: Real> Tape<T> {
    /// Sum of all entries, `1x1`.
    pub fn sum(&mut self, a: Var) -> Result<Var> {
        self.reduce(a, Axis::All, false, "sum")
    }
    /// Mean of all entries, `1x1`.
    pub fn mean(&mut self, a: Var) -> Result<Var> {
        self.reduce(a, Axis::All, true, "mean")
    }
    /// Sum over the rows (down each column): `r x c -> 1 x c`.
    pub fn sum_rows(&mut self, a: Var) -> Result<Var> {
        self.reduce(a, Axis::Rows, false, "sum_rows")
    }
    /// Mean over the rows: `r x c -> 1 x c`, per-feature means of a batch.
    pub fn mean_rows(&mut self, a: Var) -> Result<Var> {
        self.reduce(a, Axis::Rows, true, "mean_rows")
    }
    /// Sum over the columns (along each row): `r x c -> r x 1`.
    pub fn sum_cols(&mut self, a: Var) -> Result<Var> {
        self.reduce(a, Axis::Cols, false, "sum_cols")
    }
    /// Mean over the columns: `r x c -> r x 1`.
    pub fn mean_cols(&mut self, a: Var) -> Result<Var> {
        self.reduce(a, Axis::Cols, true, "mean_cols")
    }
}

// ANCHOR: max_rows
/// Maximum down each column: `r x c -> 1 x c`. Ties: the first (topmost) maximum wins.
struct MaxRows {
    argmax: Vec<usize>,
}

impl<T: Real> Tape<T> {
    /// The largest entry of each column, `1 x c`. Backward: each column's gradient goes to its maximum
    /// (the first one, on a tie); the other entries get 0.
    pub fn max_rows(&mut self, a: Var) -> Result<Var> {
        let va = self.get(a, "max_rows")?;
        if va.nrows() == 0 {
            return Err(crate::error::Error::shape(
                "max_rows",
                &[crate::error::Shape(0, va.ncols())],
                "at least one row",
            ));
        }
        let argmax: Vec<usize> = va
            .column_iter()
            .map(|col| {
                let mut best = 0;
                for (i, &v) in col.iter().enumerate() {
                    if v > col[best] {
                        best = i;
                    }
                }
                best
            })
            .collect();
        let out = DMatrix::from_fn(1, va.ncols(), |_, j| va[(argmax[j], j)]);
        self.record(out, &[a], MaxRows { argmax })
    }
}

impl<T: Real> Op<T> for MaxRows {
    fn name(&self) -> &'static str {
        "max_rows"
    }
    fn backward(
        &self,
        x: &[&DMatrix<T>],
        _out: &DMatrix<T>,
        g: &DMatrix<T>,
        _needs: &[bool],
    ) -> Vec<Option<DMatrix<T>>> {
        let mut dx = DMatrix::zeros(x[0].nrows(), x[0].ncols());
        for (j, &i) in self.argmax.iter().enumerate() {
            dx[(i, j)] = g[(0, j)];
        }
        vec![Some(dx)]
    }
}
// ANCHOR_END: max_rows
