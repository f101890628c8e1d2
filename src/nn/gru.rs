//! The GRU cell on the tape (book chapter 9), in either form of [`Reset`]: its parameters, its step from tape
//! ops, and its by-hand twin [`crate::by_hand::gru::GruCell`]. Layers, directions and stacks come from
//! [`super::recurrent`]: a [`Gru`] is a [`Stack`] of this cell. `tests/gru.rs` proves by-hand = composed =
//! fused = finite differences for both forms.

use super::recurrent::{RecImpl, Stack, TapeCell};
use super::Init;
use crate::autograd::{Tape, Var};
use crate::by_hand::gru::{GruCell, Reset};
use crate::by_hand::recurrent::StackSpec;
use crate::error::Result;
use crate::rng::Rng;
use crate::scalar::Real;
use nalgebra::DMatrix;

/// How the weights start.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum GruInit {
    /// Weights orthogonal (from the SVD of a uniform draw), biases zero.
    Orthogonal,
    /// Every weight and bias from `U(-a, a)`; PyTorch's default is `a = 1/√H`.
    Uniform { a: f64 },
}

/// One direction of one layer: `w_zx: D x 2H`, `w_zh: H x 2H`, `b_z: 1 x 2H` (gates `[r | z]`), `w_ax: D x H`,
/// `w_ah: H x H`, `b_a: 1 x H`, and `b_ah: 1 x H` in the [`Reset::After`] form only.
#[derive(Clone, Copy, Debug)]
pub struct GruVars {
    pub wzx: Var,
    pub wzh: Var,
    pub bz: Var,
    pub wax: Var,
    pub wah: Var,
    pub ba: Var,
    pub bah: Option<Var>,
    pub reset: Reset,
}

impl GruVars {
    pub fn new<T: Real>(
        tape: &mut Tape<T>,
        d_in: usize,
        h: usize,
        reset: Reset,
        init: GruInit,
        rng: &mut Rng,
    ) -> Self {
        let mut draw = |r: usize, c: usize, bias: bool| match init {
            GruInit::Orthogonal if bias => DMatrix::zeros(r, c),
            GruInit::Orthogonal => Init::Orthogonal { gain: 1.0 }.matrix(r, c, rng),
            GruInit::Uniform { a } => Init::Uniform { a }.matrix(r, c, rng),
        };
        let (wzx, wzh, bz) = (
            draw(d_in, 2 * h, false),
            draw(h, 2 * h, false),
            draw(1, 2 * h, true),
        );
        let (wax, wah, ba) = (draw(d_in, h, false), draw(h, h, false), draw(1, h, true));
        let bah = (reset == Reset::After).then(|| draw(1, h, true));
        GruVars {
            wzx: tape.param(wzx),
            wzh: tape.param(wzh),
            bz: tape.param(bz),
            wax: tape.param(wax),
            wah: tape.param(wah),
            ba: tape.param(ba),
            bah: bah.map(|b| tape.param(b)),
            reset,
        }
    }
}

impl TapeCell for GruVars {
    type Hand<T: Real> = GruCell<T>;
    const NAME: &'static str = "gru";

    fn named_params(&self) -> Vec<(String, Var)> {
        let mut p = vec![
            ("w_zx".to_string(), self.wzx),
            ("w_zh".into(), self.wzh),
            ("b_z".into(), self.bz),
            ("w_ax".into(), self.wax),
            ("w_ah".into(), self.wah),
            ("b_a".into(), self.ba),
        ];
        p.extend(self.bah.map(|b| ("b_ah".to_string(), b)));
        p
    }

    fn input<T: Real>(&self, tape: &Tape<T>) -> Result<usize> {
        Ok(tape.value(self.wzx)?.nrows())
    }

    // ANCHOR: gru_composed
    fn step<T: Real>(
        &self,
        tape: &mut Tape<T>,
        x_t: Var,
        prev: Option<&[Var]>,
    ) -> Result<Vec<Var>> {
        let h = tape.value(self.wah)?.nrows();
        let mut rz = tape.matmul(x_t, self.wzx)?;
        if let Some(&[hp]) = prev {
            let g = tape.matmul(hp, self.wzh)?;
            rz = tape.add(rz, g)?;
        }
        rz = tape.add(rz, self.bz)?;
        let rz = tape.sigmoid(rz)?;
        let (r, z) = (tape.slice_cols(rz, 0, h)?, tape.slice_cols(rz, h, h)?);
        let xa = tape.matmul(x_t, self.wax)?;
        let mut za = tape.add(xa, self.ba)?;
        match (self.reset, prev) {
            (Reset::Before, Some(&[hp])) => {
                let s = tape.mul(r, hp)?;
                let sa = tape.matmul(s, self.wah)?;
                za = tape.add(za, sa)?;
            }
            (Reset::After, _) => {
                let bah = self.bah.expect("the after form has b_ah");
                let q = match prev {
                    Some(&[hp]) => {
                        let hw = tape.matmul(hp, self.wah)?;
                        tape.add(hw, bah)?
                    }
                    _ => bah,
                };
                let rq = tape.mul(r, q)?;
                za = tape.add(za, rq)?;
            }
            _ => {}
        }
        let a = tape.tanh(za)?;
        // h_t = h_{t-1} + z ⊙ (a - h_{t-1}), which is (1 - z) ⊙ h_{t-1} + z ⊙ a.
        let h_t = match prev {
            Some(&[hp]) => {
                let diff = tape.sub(a, hp)?;
                let step = tape.mul(z, diff)?;
                tape.add(hp, step)?
            }
            _ => tape.mul(z, a)?,
        };
        Ok(vec![h_t])
    }
    // ANCHOR_END: gru_composed

    fn values<T: Real>(&self, tape: &Tape<T>) -> Result<GruCell<T>> {
        let v = |x: Var| tape.value(x).cloned();
        let h = tape.value(self.wah)?.nrows();
        let bah = match self.bah {
            Some(b) => v(b)?,
            None => DMatrix::zeros(1, h),
        };
        Ok(GruCell::new(
            tape.value(self.wzx)?,
            v(self.wzh)?,
            v(self.bz)?,
            tape.value(self.wax)?,
            v(self.wah)?,
            v(self.ba)?,
            bah,
            self.reset,
        ))
    }
}

/// A stack of GRU layers.
pub type Gru = Stack<GruVars>;

impl Stack<GruVars> {
    /// Cells drawn by `init` from `rng`, layer by layer, forward direction first.
    pub fn gru<T: Real>(
        tape: &mut Tape<T>,
        spec: StackSpec,
        reset: Reset,
        init: GruInit,
        imp: RecImpl,
        rng: &mut Rng,
    ) -> Result<Self> {
        Stack::build(spec, imp, |_, _, d_in| {
            GruVars::new(tape, d_in, spec.hidden, reset, init, rng)
        })
    }
}
