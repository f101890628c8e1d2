//! Sigmoid and tanh over slices, for the recurrent cells' gates. In `f32` they run on an exponential written
//! so that the compiler vectorizes it (range reduction to `[-ln2/2, ln2/2]`, a degree-6 polynomial, the power
//! of two put in the exponent bits), where the C library's `expf`/`tanhf` go one value at a time; in `f64`,
//! and for every other type, they are the standard functions. `tests/numerics.rs` bounds the `f32` error:
//! relative 3e-7 (2.5 units in the last place) for the exponential, absolute 2e-7 for sigmoid and tanh (f32 spacing near 1 is 6e-8 to 1.2e-7).

use crate::scalar::Real;

const LOG2E: f32 = std::f32::consts::LOG2_E;
// ln 2 in two parts, so that `k · ln2` is exact in the first and the reduction loses nothing.
const LN2_HI: f32 = 0.693_359_4;
const LN2_LO: f32 = -2.121_944_4e-4;
// Adding then subtracting 1.5 · 2^23 rounds to the nearest integer without a rounding instruction.
const ROUND: f32 = 12_582_912.0;

/// `e^x` in `f32`, vectorizable.
#[inline(always)]
pub fn exp_f32(x: f32) -> f32 {
    let x = x.clamp(-87.0, 88.0);
    // `t`'s low mantissa bits hold `k = round(x / ln 2)`: read as bits, no float-to-int conversion (whose
    // saturating semantics would keep the loop from vectorizing).
    let t = x * LOG2E + ROUND;
    let k = t - ROUND;
    let r = x - k * LN2_HI - k * LN2_LO;
    let p = 1.0
        + r * (1.0
            + r * (0.5
                + r * (1.0 / 6.0 + r * (1.0 / 24.0 + r * (1.0 / 120.0 + r * (1.0 / 720.0))))));
    let k_bits = t.to_bits().wrapping_sub(ROUND.to_bits());
    p * f32::from_bits(k_bits.wrapping_add(127) << 23)
}

/// `v ← 1 / (1 + e^{-v})` for every entry.
pub fn sigmoid_in_place<T: Real>(s: &mut [T]) {
    match super::as_f32_mut(s) {
        Some(f) => wide(f, sigmoid_f32),
        None => s
            .iter_mut()
            .for_each(|v| *v = T::one() / (T::one() + (-*v).exp())),
    }
}

/// `v ← tanh v` for every entry; in `f32` as `1 - 2 / (e^{2v} + 1)`.
pub fn tanh_in_place<T: Real>(s: &mut [T]) {
    match super::as_f32_mut(s) {
        Some(f) => wide(f, tanh_f32),
        None => s.iter_mut().for_each(|v| *v = v.tanh()),
    }
}

#[inline(always)]
fn sigmoid_f32(v: &mut f32) {
    *v = 1.0 / (1.0 + exp_f32(-*v));
}

#[inline(always)]
fn tanh_f32(v: &mut f32) {
    *v = 1.0 - 2.0 / (exp_f32(2.0 * *v) + 1.0);
}

/// `f` over every entry, at the CPU's vector width ([`super::wide`]).
fn wide(s: &mut [f32], f: impl Fn(&mut f32) + Copy) {
    super::wide(|| s.iter_mut().for_each(f))
}
