//! Gradient clipping, applied between `backward` and the optimizer step.

use crate::autograd::{Grads, Var};
use crate::error::{Error, Result};
use crate::scalar::Real;

// ANCHOR: clip
/// Clamp every gradient entry to `[-c, c]`. Changes the direction of the gradient; simple and local.
pub fn by_value<T: Real>(grads: &mut Grads<T>, params: &[Var], c: f64) -> Result<()> {
    if !(c.is_finite() && c > 0.0) {
        return Err(Error::Config(format!(
            "clip value must be a positive number, got {c}"
        )));
    }
    let c = T::of(c);
    for &p in params {
        if let Some(g) = grads.get_mut(p) {
            g.apply(|v| *v = v.clamp(-c, c)); // (5.22), by value
        }
    }
    Ok(())
}

/// `√(Σ over all parameters of Σ g²)`, in f64; parameters without a gradient count as zero.
pub fn global_norm<T: Real>(grads: &Grads<T>, params: &[Var]) -> f64 {
    params
        .iter()
        .filter_map(|&p| grads.get(p))
        .map(|g| g.iter().map(|v| v.as_f64() * v.as_f64()).sum::<f64>())
        .sum::<f64>()
        .sqrt()
}
// ANCHOR_END: clip

/// If the global norm `‖g‖ = √(Σ over all parameters of Σ g²)` exceeds `max_norm`, scale every gradient by
/// `max_norm / ‖g‖`: the direction is kept and only the length is limited. Returns the norm before clipping.
/// A gradient with a NaN or an infinity has no direction to keep: [`Error::NonFiniteGrad`].
pub fn by_global_norm<T: Real>(grads: &mut Grads<T>, params: &[Var], max_norm: f64) -> Result<f64> {
    if !(max_norm.is_finite() && max_norm > 0.0) {
        return Err(Error::Config(format!(
            "max norm must be a positive number, got {max_norm}"
        )));
    }
    let mut norm = global_norm(grads, params);
    if !norm.is_finite() {
        for (position, &p) in params.iter().enumerate() {
            let bad = grads
                .get(p)
                .and_then(|g| g.iter().map(|v| v.as_f64()).find(|v| !v.is_finite()));
            if let Some(value) = bad {
                return Err(Error::NonFiniteGrad {
                    op: "clip by global norm",
                    position,
                    value,
                });
            }
        }
        // Every entry is finite and only the sum of squares overflowed: measure in units of the largest entry.
        norm = scaled_norm(grads, params);
    }
    // ANCHOR: clip_norm
    if norm > max_norm {
        let s = T::of(max_norm / norm); // (5.22), by global norm
        for &p in params {
            if let Some(g) = grads.get_mut(p) {
                *g *= s;
            }
        }
    }
    Ok(norm)
    // ANCHOR_END: clip_norm
}

fn scaled_norm<T: Real>(grads: &Grads<T>, params: &[Var]) -> f64 {
    let entries = || {
        params
            .iter()
            .filter_map(|&p| grads.get(p))
            .flat_map(|g| g.iter().map(|v| v.as_f64()))
    };
    let top = entries().fold(0.0f64, |m, v| m.max(v.abs()));
    if top == 0.0 {
        return 0.0;
    }
    top * entries().map(|v| (v / top) * (v / top)).sum::<f64>().sqrt()
}
