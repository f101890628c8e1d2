use super::shape_of;
use crate::autograd::tape::{Op, Tape, Var};
use crate::error::{Error, Result};
use crate::scalar::Real;
use nalgebra::DMatrix;

/// How the right operand of an elementwise op lines up with the left one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Broadcast {
    /// Same shape.
    None,
    /// The right operand is one row (`1 x cols`), repeated for every row of the left: a bias over a batch.
    Row,
}

// ANCHOR: binary
#[derive(Clone, Copy, Debug)]
enum Kind {
    Add,
    Sub,
    Mul,
    Div,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::Add => "add",
            Kind::Sub => "sub",
            Kind::Mul => "mul",
            Kind::Div => "div",
        }
    }

    /// The forward value `f(a, b)`.
    fn f<T: Real>(self, a: T, b: T) -> T {
        match self {
            Kind::Add => a + b,
            Kind::Sub => a - b,
            Kind::Mul => a * b,
            Kind::Div => a / b,
        }
    }

    /// The local derivatives `(∂f/∂a, ∂f/∂b)`.
    fn df<T: Real>(self, a: T, b: T) -> (T, T) {
        match self {
            Kind::Add => (T::one(), T::one()),
            Kind::Sub => (T::one(), -T::one()),
            Kind::Mul => (b, a),
            Kind::Div => (T::one() / b, -a / (b * b)),
        }
    }
}

struct Binary {
    kind: Kind,
    broadcast: Broadcast,
}

impl<T: Real> Tape<T> {
    fn binary(&mut self, kind: Kind, a: Var, b: Var) -> Result<Var> {
        let (va, vb) = (self.get(a, kind.name())?, self.get(b, kind.name())?);
        let broadcast = if va.shape() == vb.shape() {
            Broadcast::None
        } else if vb.nrows() == 1 && vb.ncols() == va.ncols() {
            Broadcast::Row
        } else {
            return Err(Error::shape(
                kind.name(),
                &[shape_of(va), shape_of(vb)],
                format!(
                    "the same shape, or a right operand of 1x{} broadcast over the rows",
                    va.ncols()
                ),
            ));
        };
        let out = DMatrix::from_fn(va.nrows(), va.ncols(), |i, j| {
            let bi = if broadcast == Broadcast::Row { 0 } else { i };
            kind.f(va[(i, j)], vb[(bi, j)])
        });
        Ok(self.record(out, &[a, b], Binary { kind, broadcast }))
    }
}

impl<T: Real> Op<T> for Binary {
    fn name(&self) -> &'static str {
        self.kind.name()
    }
    /// `da = g ∂f/∂a`; `db = g ∂f/∂b`, summed over the rows it was broadcast to.
    fn backward(
        &self,
        x: &[&DMatrix<T>],
        _out: &DMatrix<T>,
        g: &DMatrix<T>,
        needs: &[bool],
    ) -> Vec<Option<DMatrix<T>>> {
        let (a, b) = (x[0], x[1]);
        let mut da = needs[0].then(|| DMatrix::zeros(a.nrows(), a.ncols()));
        let mut db = needs[1].then(|| DMatrix::zeros(b.nrows(), b.ncols()));
        for j in 0..a.ncols() {
            for i in 0..a.nrows() {
                let bi = if self.broadcast == Broadcast::Row {
                    0
                } else {
                    i
                };
                let (pa, pb) = self.kind.df(a[(i, j)], b[(bi, j)]);
                if let Some(da) = da.as_mut() {
                    da[(i, j)] = g[(i, j)] * pa;
                }
                if let Some(db) = db.as_mut() {
                    db[(bi, j)] += g[(i, j)] * pb;
                }
            }
        }
        vec![da, db]
    }
}
// ANCHOR_END: binary

impl<T: Real> Tape<T> {
    /// `a + b`, elementwise; `b` may be a `1 x cols` row added to every row (a bias).
    pub fn add(&mut self, a: Var, b: Var) -> Result<Var> {
        self.binary(Kind::Add, a, b)
    }
    /// `a - b`, elementwise; `b` may be a `1 x cols` row.
    pub fn sub(&mut self, a: Var, b: Var) -> Result<Var> {
        self.binary(Kind::Sub, a, b)
    }
    /// `a ⊙ b` (Hadamard product); `b` may be a `1 x cols` row.
    pub fn mul(&mut self, a: Var, b: Var) -> Result<Var> {
        self.binary(Kind::Mul, a, b)
    }
    /// `a / b`, elementwise; `b` may be a `1 x cols` row.
    pub fn div(&mut self, a: Var, b: Var) -> Result<Var> {
        self.binary(Kind::Div, a, b)
    }
}
