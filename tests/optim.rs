//! Optimizers and schedules against computations independent of their code.

use nalgebra::DMatrix;
use proptest::prelude::*;
use zerodl::optim::{Adam, Optimizer, Schedule, Sgd};
use zerodl::Tape;

/// Run `steps` updates of `opt` on the single parameter `x` with gradient `grad(x)`; the trajectory.
fn trajectory(
    opt: &mut dyn Optimizer<f64>,
    x0: f64,
    steps: usize,
    grad: impl Fn(f64) -> f64,
) -> Vec<f64> {
    let mut t = Tape::<f64>::new();
    let x = t.param(DMatrix::from_element(1, 1, x0));
    let mut out = vec![x0];
    for _ in 0..steps {
        t.reset();
        // L = G(x)·x with G held constant: dL/dx = G(x), the gradient we want to feed.
        let gx = grad(t.value(x).unwrap()[(0, 0)]);
        let c = t.constant(DMatrix::from_element(1, 1, gx));
        let l = t.mul(x, c).unwrap();
        let mut g = t.backward(l).unwrap();
        opt.step(&mut t, &mut g, &[x]).unwrap();
        out.push(t.value(x).unwrap()[(0, 0)]);
    }
    out
}

proptest! {
    /// SGD on f(x) = x²/2 (gradient x): x_t = (1 - η)^t x_0.
    #[test]
    fn sgd_decays_geometrically_on_a_quadratic(x0 in -5.0..5.0f64, lr in 0.01..1.5f64) {
        let xs = trajectory(&mut Sgd { lr }, x0, 20, |x| x);
        for (t, x) in xs.iter().enumerate() {
            prop_assert!((x - (1.0 - lr).powi(t as i32) * x0).abs() < 1e-12 * (1.0 + x0.abs()));
        }
    }

    /// Adam's bias correction makes every step on a constant gradient exactly `η·sign(g)` (up to ε): the
    /// corrected moments are `m̂ = g`, `v̂ = g²` at every `t`, which needs the step counter to advance. (With
    /// the book's counter stuck at 1, step `t` is `η · 10(1 - 0.9ᵗ) · √0.001 / √(1 - 0.999ᵗ)`: 1.34 η at
    /// `t = 2`, rising to 2.08 η at `t = 12`, then shrinking towards 0.32 η; this test fails on that variant.)
    #[test]
    fn adam_steps_by_the_learning_rate_on_a_constant_gradient(g in prop_oneof![-3.0..-0.01f64, 0.01..3.0f64], lr in 1e-4..1e-1f64) {
        let mut opt = Adam::new(lr);
        let xs = trajectory(&mut opt, 0.0, 50, |_| g);
        for w in xs.windows(2) {
            let step = w[1] - w[0];
            prop_assert!((step + lr * g.signum()).abs() < 1e-6 * lr, "step {step} vs {}", -lr * g.signum());
        }
        prop_assert_eq!(opt.steps(), 50);
    }
}

#[test]
fn the_books_learning_rate_table_uses_the_largest_key_at_or_below_the_epoch() {
    let s = Schedule::Table(vec![(1, 2e-3), (2, 1e-3), (3, 4e-4), (4, 2e-4), (5, 1e-4)]);
    let got: Vec<f64> = (0..7).map(|e| s.lr(e)).collect();
    assert_eq!(got, vec![2e-3, 1e-3, 4e-4, 2e-4, 1e-4, 1e-4, 1e-4]);
    let sparse = Schedule::Table(vec![(1, 0.1), (4, 0.01)]);
    assert_eq!(
        (0..5).map(|e| sparse.lr(e)).collect::<Vec<_>>(),
        vec![0.1, 0.1, 0.1, 0.01, 0.01]
    );
    assert!(Schedule::Table(vec![(2, 0.1)]).validate().is_err());
    assert!(Schedule::Table(vec![(1, 0.1), (1, 0.2)])
        .validate()
        .is_err());
    assert!(Schedule::Constant(-1.0).validate().is_err());
}

#[test]
fn exponential_and_step_decay() {
    let e = Schedule::Exponential {
        base: 0.1,
        decay: 0.99,
    };
    assert!((e.lr(10) - 0.1 * 0.99f64.powi(10)).abs() < 1e-15);
    let s = Schedule::Step {
        base: 1.0,
        gamma: 0.5,
        every: 3,
    };
    assert_eq!(
        (0..7).map(|k| s.lr(k)).collect::<Vec<_>>(),
        vec![1.0, 1.0, 1.0, 0.5, 0.5, 0.5, 0.25]
    );
}

use zerodl::optim::{clip, AdaDelta, Adagrad, Kind, Momentum, Nag, RmsProp};

/// Momentum on f(x) = x²/2 is the linear recurrence `[x, v]' = [[1 - η, μ], [-η, μ]] [x, v]`; its matrix
/// powers, computed with nalgebra, give every point of the trajectory.
#[test]
fn momentum_follows_its_linear_recurrence_on_a_quadratic() {
    let (lr, mu, x0) = (0.1, 0.9, 3.0);
    let xs = trajectory(&mut Momentum::new(lr), x0, 30, |x| x);
    let a = nalgebra::Matrix2::new(1.0 - lr, mu, -lr, mu);
    for (t, x) in xs.iter().enumerate() {
        let s = a.pow(t as u32) * nalgebra::Vector2::new(x0, 0.0);
        assert!((x - s[0]).abs() < 1e-12, "t = {t}: {x} vs {}", s[0]);
    }
}

/// NAG stores the look-ahead point `φ = θ + μ v`; the textbook form (gradient taken at `θ + μ v`) computed
/// here directly must give the same `φ` at every step.
#[test]
fn nag_equals_the_look_ahead_form() {
    let (lr, mu, x0) = (0.05, 0.9, -2.0);
    let grad = |x: f64| 4.0 * x * x * x + x; // f = x⁴ + x²/2, not quadratic
    let xs = trajectory(&mut Nag::new(lr), x0, 40, grad);
    let (mut theta, mut v) = (x0, 0.0);
    for (t, phi) in xs.iter().enumerate() {
        assert!((phi - (theta + mu * v)).abs() < 1e-12, "t = {t}");
        v = mu * v - lr * grad(theta + mu * v);
        theta += v;
    }
}

#[test]
fn first_steps_have_their_known_values() {
    let g = 0.7;
    let first = |opt: &mut dyn Optimizer<f64>| trajectory(opt, 0.0, 1, |_| g)[1];
    // Adagrad: -η g / (|g| + ε) ≈ -η.
    assert!((first(&mut Adagrad::new(0.01)) + 0.01 * g / (g + 1e-8)).abs() < 1e-15);
    // RMSprop: -η g / (√(0.1) |g| + ε) ≈ -3.162 η.
    assert!(
        (first(&mut RmsProp::new(1e-3)) + 1e-3 * g / ((0.1f64).sqrt() * g + 1e-8)).abs() < 1e-15
    );
    // Adam: exactly -η·sign(g) up to ε.
    assert!((first(&mut Adam::new(1e-3)) + 1e-3).abs() < 1e-9);
    // AdaDelta: -(√ε / √((1-ρ) g² + ε)) g, whatever the learning rate.
    let want = -(1e-6f64).sqrt() / (0.05 * g * g + 1e-6).sqrt() * g;
    assert!((first(&mut AdaDelta::new()) - want).abs() < 1e-15);
    let mut ignores_lr = AdaDelta::new();
    Optimizer::<f64>::set_lr(&mut ignores_lr, 123.0);
    assert!((first(&mut ignores_lr) - want).abs() < 1e-15);
}

/// A random convex quadratic `f(x) = ½ xᵀ A x` (A = B Bᵀ + I/2, eigenvalues at least 1/2), from a random
/// start: every optimizer brings f below 1e-3 of its start within the stated number of steps (AdaDelta: below
/// half, see below). With a constant rate RMSprop and Adam end up hovering at a distance of the order of the
/// rate, hence their small rates. AdaDelta has no rate: near the minimum its step ratio
/// √(E[Δθ²] + ε)/√(E[g²] + ε) grows as the gradients shrink until the steps overshoot along the steep,
/// coupled directions; on these quadratics it then circles instead of settling (seen on one of them, with
/// ε = 1e-4: 32% of the start after 10,000 steps), although on a separable one it reaches machine precision
/// in 700 steps.
fn quadratic() -> impl Strategy<Value = (DMatrix<f64>, DMatrix<f64>)> {
    (2..5usize).prop_flat_map(|d| {
        (
            proptest::collection::vec(-0.7..0.7f64, d * d).prop_map(move |b| {
                let b = DMatrix::from_vec(d, d, b);
                &b * b.transpose() + DMatrix::identity(d, d) * 0.5
            }),
            proptest::collection::vec(-2.0..2.0f64, d)
                .prop_filter("away from the minimum", |x| {
                    x.iter().map(|v| v * v).sum::<f64>() > 0.5
                })
                .prop_map(move |x| DMatrix::from_vec(d, 1, x)),
        )
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(32))]

    #[test]
    fn every_optimizer_minimises_a_random_convex_quadratic((a, x0) in quadratic()) {
        let f = |x: &DMatrix<f64>| 0.5 * (x.transpose() * &a * x)[(0, 0)];
        for (kind, lr, steps) in [
            (Kind::Sgd, 0.1, 2000),
            (Kind::Momentum, 0.05, 2000),
            (Kind::Nag, 0.05, 2000),
            (Kind::Adagrad, 0.5, 2000),
            (Kind::RmsProp, 0.005, 3000),
            (Kind::AdaDelta, 1.0, 10000),
            (Kind::Adam, 0.05, 2000),
        ] {
            let mut opt: Box<dyn Optimizer<f64>> = kind.build(lr);
            let mut t = Tape::<f64>::new();
            let x = t.param(x0.clone());
            let am = t.param(a.clone());
            for _ in 0..steps {
                t.reset();
                let ax = t.matmul(am, x).unwrap();
                let xt = t.transpose(x).unwrap();
                let q = t.matmul(xt, ax).unwrap();
                let l = t.scale(q, 0.5).unwrap();
                let mut g = t.backward(l).unwrap();
                opt.step(&mut t, &mut g, &[x]).unwrap();
            }
            let end = f(t.value(x).unwrap());
            let target = if kind == Kind::AdaDelta { 0.5 } else { 1e-3 };
            prop_assert!(end < target * f(&x0), "{}: f went from {} to {end} in {steps} steps", kind.name(), f(&x0));
        }
    }
}

#[test]
fn clipping_by_global_norm_keeps_the_direction_and_by_value_clamps() {
    let mut t = Tape::<f64>::new();
    let a = t.param(DMatrix::from_row_slice(1, 2, &[3.0, 0.0]));
    let b = t.param(DMatrix::from_row_slice(1, 1, &[4.0]));
    let build = |t: &mut Tape<f64>| {
        let s = t.sum(a).unwrap();
        let p = t.mul(s, b).unwrap(); // d/da = b = 4 each, d/db = sum(a) = 3
        t.backward(p).unwrap()
    };
    let mut g = build(&mut t);
    let norm = clip::by_global_norm(&mut g, &[a, b], 1.0).unwrap();
    assert!((norm - (16.0f64 + 16.0 + 9.0).sqrt()).abs() < 1e-12);
    let clipped = [
        g.get(a).unwrap()[(0, 0)],
        g.get(a).unwrap()[(0, 1)],
        g.get(b).unwrap()[(0, 0)],
    ];
    let len = clipped.iter().map(|v| v * v).sum::<f64>().sqrt();
    assert!((len - 1.0).abs() < 1e-12);
    assert!((clipped[0] / clipped[2] - 4.0 / 3.0).abs() < 1e-12);
    let mut g = build(&mut t);
    assert!(clip::by_global_norm(&mut g, &[a, b], 100.0).unwrap() < 100.0);
    assert_eq!(
        g.get(b).unwrap()[(0, 0)],
        3.0,
        "under the limit nothing changes"
    );
    clip::by_value(&mut g, &[a, b], 3.5).unwrap();
    assert_eq!(g.get(a).unwrap().as_slice(), &[3.5, 3.5]);
    assert_eq!(g.get(b).unwrap()[(0, 0)], 3.0);
    assert!(clip::by_value(&mut g, &[a], -1.0).is_err());
}

/// The first steps of each optimizer from the same point of an elongated quadratic, rounded to 6
/// significant digits so the snapshot survives other CPUs.
#[test]
fn snapshot_of_short_trajectories() {
    let mut text = String::new();
    for kind in Kind::ALL {
        let lr = if kind == Kind::Sgd || kind == Kind::Momentum || kind == Kind::Nag {
            0.05
        } else {
            0.1
        };
        let mut opt: Box<dyn Optimizer<f64>> = kind.build(lr);
        let mut t = Tape::<f64>::new();
        let x = t.param(DMatrix::from_row_slice(1, 2, &[-1.5, 1.0]));
        let scale = t.param(DMatrix::from_row_slice(1, 2, &[0.5, 5.0])); // f = ½ (0.5 x² + 5 y²)
        text += &format!("{} (lr {lr}):", kind.name());
        for _ in 0..5 {
            t.reset();
            let sq = t.mul(x, x).unwrap();
            let w = t.mul(sq, scale).unwrap();
            let s = t.sum(w).unwrap();
            let l = t.scale(s, 0.5).unwrap();
            let mut g = t.backward(l).unwrap();
            opt.step(&mut t, &mut g, &[x]).unwrap();
            let v = t.value(x).unwrap();
            text += &format!(" ({:.5e}, {:.5e})", v[(0, 0)], v[(0, 1)]);
        }
        text += "\n";
    }
    insta::with_settings!({ snapshot_path => "../snapshots", prepend_module_to_snapshot => false }, {
        insta::assert_snapshot!("optimizer_trajectories", text);
    });
}
