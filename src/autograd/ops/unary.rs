//! Elementwise functions `y = f(x)`. Each is a small struct whose `f` and `df` sit next to each other; one
//! generic node applies the chain rule `dx = g ⊙ f'(x)` for all of them.

use crate::autograd::tape::{Op, Tape, Var};
use crate::error::{Error, Result};
use crate::kernels::par::{map3_new, map_new};
use crate::scalar::{c, Real};
use nalgebra::DMatrix;

trait Elementwise<T: Real>: Sync + 'static {
    const NAME: &'static str;
    fn f(&self, x: T) -> T;
    /// `f'(x)`, given `x` and the already computed `y = f(x)` (cheaper for exp, tanh, sigmoid).
    fn df(&self, x: T, y: T) -> T;
}

struct Map<E>(E);

impl<T: Real, E: Elementwise<T>> Op<T> for Map<E> {
    fn name(&self) -> &'static str {
        E::NAME
    }
    fn backward(
        &self,
        x: &[&DMatrix<T>],
        y: &DMatrix<T>,
        g: &DMatrix<T>,
        _needs: &[bool],
    ) -> Vec<Option<DMatrix<T>>> {
        let (xs, ys) = (x[0].as_slice(), y.as_slice());
        let dx = map3_new(g.as_slice(), xs, ys, |g, x, y| g * self.0.df(x, y));
        vec![Some(DMatrix::from_vec(g.nrows(), g.ncols(), dx))]
    }
}

impl<T: Real> Tape<T> {
    fn map<E: Elementwise<T>>(&mut self, a: Var, e: E) -> Result<Var> {
        let x = self.get(a, E::NAME)?;
        let xs = x.as_slice();
        let out = DMatrix::from_vec(x.nrows(), x.ncols(), map_new(xs, |v| e.f(v)));
        self.record(out, &[a], Map(e))
    }
}

// ANCHOR: neg
struct Neg;
impl<T: Real> Elementwise<T> for Neg {
    const NAME: &'static str = "neg";
    fn f(&self, x: T) -> T {
        -x
    }
    fn df(&self, _x: T, _y: T) -> T {
        -T::one()
    }
}
// ANCHOR_END: neg

struct Scale<T>(T);
impl<T: Real> Elementwise<T> for Scale<T> {
    const NAME: &'static str = "scale";
    fn f(&self, x: T) -> T {
        self.0 * x
    }
    fn df(&self, _x: T, _y: T) -> T {
        self.0
    }
}

struct AddScalar<T>(T);
impl<T: Real> Elementwise<T> for AddScalar<T> {
    const NAME: &'static str = "add_scalar";
    fn f(&self, x: T) -> T {
        x + self.0
    }
    fn df(&self, _x: T, _y: T) -> T {
        T::one()
    }
}

struct Exp;
impl<T: Real> Elementwise<T> for Exp {
    const NAME: &'static str = "exp";
    fn f(&self, x: T) -> T {
        x.exp()
    }
    fn df(&self, _x: T, y: T) -> T {
        y
    }
}

struct Log;
impl<T: Real> Elementwise<T> for Log {
    const NAME: &'static str = "log";
    fn f(&self, x: T) -> T {
        x.ln()
    }
    fn df(&self, x: T, _y: T) -> T {
        T::one() / x
    }
}

struct Pow<T>(T);
impl<T: Real> Elementwise<T> for Pow<T> {
    const NAME: &'static str = "pow";
    fn f(&self, x: T) -> T {
        x.powf(self.0)
    }
    fn df(&self, x: T, _y: T) -> T {
        self.0 * x.powf(self.0 - T::one())
    }
}

struct Sqrt;
impl<T: Real> Elementwise<T> for Sqrt {
    const NAME: &'static str = "sqrt";
    fn f(&self, x: T) -> T {
        x.sqrt()
    }
    fn df(&self, _x: T, y: T) -> T {
        c::<T>(0.5) / y
    }
}

// ANCHOR: activations
struct Tanh;
impl<T: Real> Elementwise<T> for Tanh {
    const NAME: &'static str = "tanh";
    fn f(&self, x: T) -> T {
        x.tanh()
    }
    /// tanh' = 1 - tanh², (3.8)
    fn df(&self, _x: T, y: T) -> T {
        T::one() - y * y
    }
}

struct Sigmoid;
impl<T: Real> Elementwise<T> for Sigmoid {
    const NAME: &'static str = "sigmoid";
    /// σ(x) = 1 / (1 + e^{-x}), written so that neither branch overflows.
    fn f(&self, x: T) -> T {
        if x >= T::zero() {
            T::one() / (T::one() + (-x).exp())
        } else {
            let e = x.exp();
            e / (T::one() + e)
        }
    }
    /// σ' = σ (1 - σ), (3.6)
    fn df(&self, _x: T, y: T) -> T {
        y * (T::one() - y)
    }
}
// ANCHOR_END: activations

// ANCHOR: activations_relu
struct Relu;
impl<T: Real> Elementwise<T> for Relu {
    const NAME: &'static str = "relu";
    fn f(&self, x: T) -> T {
        if x > T::zero() {
            x
        } else {
            T::zero()
        }
    }
    /// 1 for x > 0, else 0 (the subgradient at 0 is taken as 0), (3.9).
    fn df(&self, x: T, _y: T) -> T {
        if x > T::zero() {
            T::one()
        } else {
            T::zero()
        }
    }
}

struct LeakyRelu<T>(T);
impl<T: Real> Elementwise<T> for LeakyRelu<T> {
    const NAME: &'static str = "leaky_relu";
    fn f(&self, x: T) -> T {
        if x > T::zero() {
            x
        } else {
            self.0 * x
        }
    }
    /// (3.10)
    fn df(&self, x: T, _y: T) -> T {
        if x > T::zero() {
            T::one()
        } else {
            self.0
        }
    }
}
// ANCHOR_END: activations_relu

impl<T: Real> Tape<T> {
    /// `-x`.
    pub fn neg(&mut self, a: Var) -> Result<Var> {
        self.map(a, Neg)
    }
    /// `s x` for a constant `s`. Backward: `dx = s g`.
    pub fn scale(&mut self, a: Var, s: T) -> Result<Var> {
        self.map(a, Scale(s))
    }
    /// `x + s` for a constant `s`. Backward: `dx = g`.
    pub fn add_scalar(&mut self, a: Var, s: T) -> Result<Var> {
        self.map(a, AddScalar(s))
    }
    /// `e^x`. Backward: `dx = g ⊙ e^x`.
    pub fn exp(&mut self, a: Var) -> Result<Var> {
        self.map(a, Exp)
    }
    /// Natural logarithm, IEEE semantics (`ln 0 = -inf`, `ln(-1) = NaN`). Backward: `dx = g / x`.
    pub fn log(&mut self, a: Var) -> Result<Var> {
        self.map(a, Log)
    }
    /// `x^p` for a constant `p`. Backward: `dx = g ⊙ p x^(p-1)`.
    /// A non-integer power of a negative entry is an error, not a NaN.
    pub fn pow(&mut self, a: Var, p: T) -> Result<Var> {
        if p != p.round() {
            let va = self.get(a, "pow")?;
            if let Some(x) = va.iter().find(|&&x| x < T::zero()) {
                return Err(Error::invalid(
                    "pow",
                    format!("non-integer power {p} of a negative entry {x}"),
                ));
            }
        }
        self.map(a, Pow(p))
    }
    /// `√x`. Backward: `dx = g / (2 √x)`.
    pub fn sqrt(&mut self, a: Var) -> Result<Var> {
        self.map(a, Sqrt)
    }
    /// Hyperbolic tangent. Backward: `dx = g ⊙ (1 - y²)`.
    pub fn tanh(&mut self, a: Var) -> Result<Var> {
        self.map(a, Tanh)
    }
    /// Logistic sigmoid. Backward: `dx = g ⊙ y (1 - y)`.
    pub fn sigmoid(&mut self, a: Var) -> Result<Var> {
        self.map(a, Sigmoid)
    }
    /// `max(x, 0)`. Backward: `dx = g ⊙ [x > 0]`.
    pub fn relu(&mut self, a: Var) -> Result<Var> {
        self.map(a, Relu)
    }
    /// `x` for `x > 0`, else `alpha x`. Backward: `dx = g ⊙ (1 or alpha)`.
    pub fn leaky_relu(&mut self, a: Var, alpha: T) -> Result<Var> {
        self.map(a, LeakyRelu(alpha))
    }
}
