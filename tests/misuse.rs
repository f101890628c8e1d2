//! Library misuse is a typed error, never a silent wrong value or a panic (issue 16): handles from another tape,
//! stale handles given to `record`, custom ops that break their contract, optimizer state, clipping, geometry.

use nalgebra::DMatrix;
use zerodl::autograd::Op;
use zerodl::{Error, Tape};

fn m(r: usize, c: usize, v: &[f64]) -> DMatrix<f64> {
    DMatrix::from_row_slice(r, c, v)
}

fn is_foreign<T>(r: zerodl::Result<T>) -> bool {
    matches!(r, Err(Error::ForeignVar { .. }))
}

/// Two fresh tapes put their first value in the same slot at the same generation: a handle from one must not
/// read the other's value, for transient values and parameters alike, and the error says why.
#[test]
fn a_handle_from_another_tape_is_an_error_not_a_read_of_this_tape() {
    let mut a = Tape::<f64>::new();
    let mut b = Tape::<f64>::new();
    let xa = a.leaf(m(1, 1, &[1.0]));
    let xb = b.leaf(m(1, 1, &[2.0]));
    let wa = a.param(m(1, 1, &[3.0]));
    let _wb = b.param(m(1, 1, &[4.0]));
    assert_ne!(a.id(), b.id());
    assert_eq!(xa.tape_id(), a.id());
    assert_eq!(wa.param_index(), Some(0));

    assert!(is_foreign(b.value(xa)));
    assert!(is_foreign(b.value(wa)));
    assert!(is_foreign(b.shape(wa)));
    assert!(is_foreign(b.scalar(xa)));
    assert!(is_foreign(b.param_mut(wa)));
    assert!(is_foreign(b.exp(xa)));
    assert!(is_foreign(b.add(xb, xa)));
    assert!(is_foreign(b.matmul(xb, wa)));
    assert!(is_foreign(b.backward(xa)));
    let e = b.mul(xb, wa).unwrap_err();
    assert!(e.to_string().contains("from another tape"), "{e}");
    assert!(!e.to_string().contains("stale"), "{e}");

    // The gradients of one tape's sweep know nothing of the other's handles.
    let y = b.mul(xb, xb).unwrap();
    let g = b.backward(y).unwrap();
    assert!(g.get(xb).is_some());
    assert!(g.get(xa).is_none());
    assert!(g.get(wa).is_none());

    // Both tapes still work with their own handles.
    assert_eq!(a.scalar(xa).unwrap(), 1.0);
    assert_eq!(b.scalar(xb).unwrap(), 2.0);
    assert_eq!(b.params().next().unwrap().tape_id(), b.id());
}

/// The two errors stay distinct: a stale handle is stale, a foreign one is foreign.
#[test]
fn stale_and_foreign_are_different_errors() {
    let mut a = Tape::<f64>::new();
    let b = Tape::<f64>::new();
    let x = a.leaf(m(1, 1, &[1.0]));
    a.reset();
    let stale = a.value(x).unwrap_err();
    assert!(matches!(stale, Error::StaleVar { op: "value", .. }));
    assert!(stale.to_string().contains("stale"), "{stale}");
    let foreign = b.value(x).unwrap_err();
    assert!(matches!(foreign, Error::ForeignVar { op: "value", .. }));
}

/// The handle stays small: an index, a generation and a tape identity.
#[test]
fn var_is_small() {
    assert!(std::mem::size_of::<zerodl::Var>() <= 12);
}

struct Square;
impl Op<f64> for Square {
    fn name(&self) -> &'static str {
        "square"
    }
    fn backward(
        &self,
        x: &[&DMatrix<f64>],
        _y: &DMatrix<f64>,
        g: &DMatrix<f64>,
        _n: &[bool],
    ) -> Vec<Option<DMatrix<f64>>> {
        vec![Some(g.component_mul(x[0]) * 2.0)]
    }
}

/// `record` is public (for fused layers): a stale input must be an error, not an index out of bounds (the
/// stale index can be past the end of the node list after a reset).
#[test]
fn recording_with_a_stale_or_foreign_input_is_an_error_not_a_panic() {
    let mut t = Tape::<f64>::new();
    let mut x = t.leaf(m(1, 1, &[1.0]));
    for _ in 0..5 {
        x = t.exp(x).unwrap();
    }
    t.reset();
    let r = t.record(m(1, 1, &[1.0]), &[x], Square);
    assert!(
        matches!(r, Err(Error::StaleVar { op: "square", .. })),
        "{r:?}"
    );
    let other = Tape::<f64>::new().param(m(1, 1, &[1.0]));
    let r = t.record(m(1, 1, &[1.0]), &[other], Square);
    assert!(
        matches!(r, Err(Error::ForeignVar { op: "square", .. })),
        "{r:?}"
    );
    assert!(t.is_empty(), "nothing is recorded by a failed record");
}

/// A custom op whose backward returns too few gradients, or one of the wrong shape, is an error from
/// `backward`, not a gradient silently dropped or a panic.
#[test]
fn a_custom_op_that_breaks_its_contract_is_an_error() {
    struct Short;
    impl Op<f64> for Short {
        fn name(&self) -> &'static str {
            "short"
        }
        fn backward(
            &self,
            _x: &[&DMatrix<f64>],
            _y: &DMatrix<f64>,
            _g: &DMatrix<f64>,
            _n: &[bool],
        ) -> Vec<Option<DMatrix<f64>>> {
            vec![]
        }
    }
    struct WrongShape;
    impl Op<f64> for WrongShape {
        fn name(&self) -> &'static str {
            "wrong_shape"
        }
        fn backward(
            &self,
            _x: &[&DMatrix<f64>],
            _y: &DMatrix<f64>,
            _g: &DMatrix<f64>,
            _n: &[bool],
        ) -> Vec<Option<DMatrix<f64>>> {
            vec![Some(DMatrix::zeros(3, 3))]
        }
    }
    let mut t = Tape::<f64>::new();
    let x = t.leaf(m(1, 2, &[1.0, 2.0]));
    let y = t.record(m(1, 1, &[5.0]), &[x], Short).unwrap();
    let e = t.backward(y).unwrap_err();
    assert!(matches!(e, Error::Invalid { op: "short", .. }), "{e:?}");
    let y = t.record(m(1, 1, &[5.0]), &[x], WrongShape).unwrap();
    let e = t.backward(y).unwrap_err();
    assert!(
        matches!(
            e,
            Error::Shape {
                op: "wrong_shape",
                ..
            }
        ),
        "{e:?}"
    );
}

/// Anomaly detection, forward: the op whose output is first non-finite is named, with its input shapes.
#[test]
fn anomaly_mode_names_the_op_whose_output_is_not_finite() {
    let mut t = Tape::<f64>::new();
    assert!(!t.anomaly_detection(), "off by default");
    let x = t.leaf(m(1, 2, &[1.0, 0.0]));
    let y = t.log(x).unwrap(); // ln 0 = -inf: allowed without anomaly detection
    assert_eq!(t.value(y).unwrap()[(0, 1)], f64::NEG_INFINITY);

    t.set_anomaly_detection(true);
    let e = t.log(x).unwrap_err();
    match &e {
        Error::NonFinite {
            op,
            phase,
            index,
            input,
            shapes,
            value,
        } => {
            assert_eq!((*op, *phase, *index, *input), ("log", "forward", 2, None));
            assert_eq!(shapes, &[zerodl::Shape(1, 2)]);
            assert_eq!(*value, f64::NEG_INFINITY);
        }
        other => panic!("expected NonFinite, got {other:?}"),
    }
    assert_eq!(
        e.to_string(),
        "log (op #2, forward): the output is -inf; its inputs are [1x2]"
    );
    assert_eq!(
        e.non_finite_what().unwrap(),
        "the output of log (op #2, forward)"
    );
    assert_eq!(t.len(), 2, "the bad value is not recorded");
    t.set_anomaly_detection(false);
    assert!(t.log(x).is_ok());
}

/// Anomaly detection, backward: a finite forward whose gradient is not finite (√ at 0) is named at the op
/// whose backward produced it, not where the NaN it turns into further down reaches a parameter.
#[test]
fn anomaly_mode_names_the_op_whose_input_gradient_is_not_finite() {
    let mut t = Tape::<f64>::new();
    let x = t.leaf(m(1, 2, &[0.0, 4.0]));
    let s = t.sqrt(x).unwrap();
    let l = t.sum(s).unwrap();
    let g = t.backward(l).unwrap();
    assert_eq!(g.get(x).unwrap()[(0, 0)], f64::INFINITY);

    t.set_anomaly_detection(true);
    let e = t.backward(l).unwrap_err();
    assert!(
        matches!(
            e,
            Error::NonFinite {
                op: "sqrt",
                phase: "backward",
                index: 1,
                input: Some(0),
                value: f64::INFINITY,
                ..
            }
        ),
        "{e:?}"
    );
    assert_eq!(
        e.non_finite_what().unwrap(),
        "the gradient of input 0 of sqrt (op #1, backward)"
    );
}

mod training {
    use super::*;
    use zerodl::nn::{Activation, Init, Mlp, Module};
    use zerodl::optim::Sgd;
    use zerodl::rng::seeded;
    use zerodl::train::{train_loop, Clip, Forward, LoopConfig, Progress};
    use zerodl::Var;

    struct One {
        w: Var,
    }
    impl Module for One {
        fn named_params(&self) -> Vec<(String, Var)> {
            vec![("w".into(), self.w)]
        }
    }

    /// `f(w ⊙ [0, 1])` summed, trained one step: where the run stops, and what it names.
    fn one_step(f: fn(&mut Tape<f32>, Var) -> zerodl::Result<Var>, anomaly: bool) -> Error {
        one_step_clipped(f, anomaly, Clip::None)
    }

    fn one_step_clipped(
        f: fn(&mut Tape<f32>, Var) -> zerodl::Result<Var>,
        anomaly: bool,
        clip: Clip,
    ) -> Error {
        let mut t = Tape::<f32>::new();
        let model = One {
            w: t.param(DMatrix::from_element(1, 2, 1.0)),
        };
        let mut forward = |tape: &mut Tape<f32>, _: &()| {
            let x = tape.constant(DMatrix::from_row_slice(1, 2, &[0.0, 1.0])); // op #0
            let h = tape.mul(model.w, x)?; // #1
            let h = f(tape, h)?; // #2
            let loss = tape.sum(h)?; // #3
            Ok(Forward {
                objective: loss,
                loss,
                output: loss,
            })
        };
        let mut after = |_: &Progress, _: &(), _: &Forward, _: &mut Tape<f32>| Ok(());
        let cfg = LoopConfig {
            anomaly,
            clip,
            ..LoopConfig::default()
        };
        let r = train_loop(
            &mut t,
            &model,
            &mut Sgd { lr: 0.1 },
            [(0, ())],
            &cfg,
            &mut forward,
            &mut after,
        );
        assert_eq!(t.anomaly_detection(), anomaly);
        r.unwrap_err()
    }

    fn diverged(e: Error) -> (usize, String, f64) {
        match e {
            Error::Diverged { step, what, value } => (step, what, value),
            other => panic!("expected Diverged, got {other:?}"),
        }
    }

    #[test]
    fn a_log_of_zero_is_named_at_the_log_with_anomaly_mode_and_at_the_loss_without() {
        let (step, what, value) = diverged(one_step(|t, h| t.log(h), true));
        assert_eq!(step, 1);
        assert_eq!(what, "the output of log (op #2, forward)");
        assert_eq!(value, f64::NEG_INFINITY);

        let (step, what, _) = diverged(one_step(|t, h| t.log(h), false));
        assert_eq!((step, what.as_str()), (1, "the loss"));
    }

    #[test]
    fn a_sqrt_at_zero_is_named_at_the_sqrt_with_anomaly_mode_and_at_the_parameter_without() {
        let (step, what, value) = diverged(one_step(|t, h| t.sqrt(h), true));
        assert_eq!(step, 1);
        assert_eq!(what, "the gradient of input 0 of sqrt (op #2, backward)");
        assert_eq!(value, f64::INFINITY);

        // The loss is finite; the NaN (∞ · 0) surfaces in the parameter's gradient.
        let (step, what, value) = diverged(one_step(|t, h| t.sqrt(h), false));
        assert_eq!((step, what.as_str()), (1, "the gradient of w"));
        assert!(value.is_nan());

        // Clipping does not hide it: the loop names the parameter before it clips.
        for clip in [Clip::Norm(1.0), Clip::Value(1.0)] {
            let (_, what, _) = diverged(one_step_clipped(|t, h| t.sqrt(h), false, clip));
            assert_eq!(what, "the gradient of w", "{clip:?}");
        }
    }

    /// A learning rate that blows the weights up: anomaly mode names an op (whichever overflows first), with
    /// the step; the plain loop names the loss or a parameter's gradient.
    #[test]
    fn a_diverging_learning_rate_stops_at_an_op_in_anomaly_mode() {
        let run = |anomaly: bool| {
            let x = DMatrix::from_row_slice(4, 2, &[0.0, 0.0, 1.0, 1.0, 0.0, 1.0, 1.0, 0.0]);
            let y = [0, 0, 1, 1];
            let mut t = Tape::<f32>::new();
            let model = Mlp::new(
                &mut t,
                &[2, 8, 2],
                Activation::Relu,
                Init::He,
                &mut seeded(3),
            )
            .unwrap();
            let mut forward = |tape: &mut Tape<f32>, _: &()| {
                let xv = tape.constant(x.clone());
                let z = model.forward(tape, xv)?;
                let loss = tape.softmax_cross_entropy(z, &y)?;
                Ok(Forward {
                    objective: loss,
                    loss,
                    output: z,
                })
            };
            let mut after = |_: &Progress, _: &(), _: &Forward, _: &mut Tape<f32>| Ok(());
            let cfg = LoopConfig {
                anomaly,
                ..LoopConfig::default()
            };
            let r = train_loop(
                &mut t,
                &model,
                &mut Sgd { lr: 1e30 },
                (0..50).map(|_| (0, ())),
                &cfg,
                &mut forward,
                &mut after,
            );
            diverged(r.unwrap_err())
        };
        let (step, what, value) = run(true);
        assert!(
            what.contains("(op #")
                && (what.ends_with(", forward)") || what.ends_with(", backward)")),
            "{what}"
        );
        assert!(!value.is_finite());
        let (plain_step, plain, _) = run(false);
        assert!(
            plain == "the loss" || plain.starts_with("the gradient of layer"),
            "{plain}"
        );
        // Anomaly mode stops no later than the plain checks, which look only after the pass.
        assert!(step <= plain_step, "{step} > {plain_step}");
    }
}

mod optimizer_state {
    use super::*;
    use zerodl::optim::{Adam, Momentum, Optimizer};
    use zerodl::Var;

    /// Two parameters of the same shape, and the gradient of `Σ c_i w_i` (constant per parameter).
    fn setup() -> (Tape<f64>, Var, Var) {
        let mut t = Tape::<f64>::new();
        let a = t.param(m(1, 2, &[1.0, 2.0]));
        let b = t.param(m(1, 2, &[-1.0, 0.5]));
        (t, a, b)
    }

    fn step(t: &mut Tape<f64>, opt: &mut dyn Optimizer<f64>, ps: &[Var], (ca, cb): (f64, f64)) {
        t.reset();
        let a = t.params().next().unwrap();
        let b = t.params().nth(1).unwrap();
        let sa = t.scale(a, ca).unwrap();
        let sb = t.scale(b, cb).unwrap();
        let s = t.add(sa, sb).unwrap();
        let l = t.sum(s).unwrap();
        let mut g = t.backward(l).unwrap();
        opt.step(t, &mut g, ps).unwrap();
    }

    /// The state is keyed by parameter: listing the parameters in another order from step to step, or only
    /// some of them, gives each parameter its own velocity, exactly as with a fixed list.
    #[test]
    fn a_reordered_or_partial_parameter_list_updates_the_right_slots() {
        for make in [
            || Box::new(Momentum::<f64>::new(0.1)) as Box<dyn Optimizer<f64>>,
            || Box::new(Adam::<f64>::new(0.1)) as Box<dyn Optimizer<f64>>,
        ] {
            let (mut t1, a1, b1) = setup();
            let mut o1 = make();
            let (mut t2, a2, b2) = setup();
            let mut o2 = make();
            // Very different gradients per parameter, so a swapped slot would show.
            let c = (1.0, -100.0);
            for k in 0..4 {
                step(&mut t1, o1.as_mut(), &[a1, b1], c);
                let order = if k % 2 == 0 { [b2, a2] } else { [a2, b2] };
                step(&mut t2, o2.as_mut(), &order, c);
            }
            assert_eq!(t1.value(a1).unwrap(), t2.value(a2).unwrap());
            assert_eq!(t1.value(b1).unwrap(), t2.value(b2).unwrap());

            // Stepping only `b` for a while, then both, equals keeping a separate optimizer per parameter.
            let (mut t3, a3, b3) = setup();
            let mut o3 = make();
            let (mut ta, a_only, _) = setup();
            let mut oa = make();
            let (mut tb, _, b_only) = setup();
            let mut ob = make();
            for k in 0..4 {
                let ps: &[Var] = if k < 2 { &[b3] } else { &[a3, b3] };
                step(&mut t3, o3.as_mut(), ps, c);
                step(&mut tb, ob.as_mut(), &[b_only], c);
                if k >= 2 {
                    step(&mut ta, oa.as_mut(), &[a_only], c);
                }
            }
            assert_eq!(t3.value(b3).unwrap(), tb.value(b_only).unwrap());
            // Adam's step count is per optimizer, not per parameter, so only momentum's `a` can be compared.
            if o3.steps() == 0 {
                assert_eq!(t3.value(a3).unwrap(), ta.value(a_only).unwrap());
            }
        }
    }

    /// A parameter whose shape changed since its state was made, or whose gradient does not fit it, is a
    /// shape error; never a zip that updates only part of it.
    #[test]
    fn a_shape_mismatch_is_an_error_not_a_truncated_update() {
        let (mut t, a, b) = setup();
        let mut opt = Momentum::<f64>::new(0.1);
        step(&mut t, &mut opt, &[a, b], (1.0, 1.0));
        // The gradient is 1x2; the parameter now 1x3.
        t.reset();
        let s = t.sum(a).unwrap();
        let mut g = t.backward(s).unwrap();
        *t.param_mut(a).unwrap() = m(1, 3, &[0.0; 3]);
        let e = opt.step(&mut t, &mut g, &[a]).unwrap_err();
        assert!(
            matches!(
                e,
                Error::Shape {
                    op: "optimizer step",
                    ..
                }
            ),
            "{e:?}"
        );
        // Gradient and parameter agree (1x3) but the velocity is 1x2.
        t.reset();
        let s = t.sum(a).unwrap();
        let mut g = t.backward(s).unwrap();
        let e = opt.step(&mut t, &mut g, &[a]).unwrap_err();
        assert!(
            matches!(
                e,
                Error::Shape {
                    op: "optimizer state",
                    ..
                }
            ),
            "{e:?}"
        );
        assert_eq!(t.value(a).unwrap(), &m(1, 3, &[0.0; 3]), "untouched");
        // Checked before anything moves: `b` is not updated when `a` is bad.
        t.reset();
        let sa = t.sum(a).unwrap();
        let sb = t.sum(b).unwrap();
        let l = t.add(sa, sb).unwrap();
        let mut g = t.backward(l).unwrap();
        let before = t.value(b).unwrap().clone();
        let e = opt.step(&mut t, &mut g, &[b, a]).unwrap_err();
        assert!(matches!(e, Error::Shape { .. }), "{e:?}");
        assert_eq!(t.value(b).unwrap(), &before);
    }

    /// Parameters of another tape, or gradients of another tape's sweep, are errors, not silent no-ops or
    /// updates of the wrong slots.
    #[test]
    fn an_optimizer_used_across_tapes_is_an_error() {
        let (mut t, a, b) = setup();
        let (mut other, oa, _) = setup();
        let mut opt = Momentum::<f64>::new(0.1);
        step(&mut t, &mut opt, &[a, b], (1.0, 1.0));
        // `oa` sits at the same position on its tape as `a` on this one.
        other.reset();
        let s = other.sum(oa).unwrap();
        let mut g = other.backward(s).unwrap();
        let e = opt.step(&mut other, &mut g, &[oa]).unwrap_err();
        assert!(e.to_string().contains("belongs to tape"), "{e}");
        let e = opt.step(&mut t, &mut g, &[a]).unwrap_err();
        assert!(e.to_string().contains("gradients are from tape"), "{e}");
        t.reset();
        let s = t.sum(a).unwrap();
        let mut g = t.backward(s).unwrap();
        let before = t.value(a).unwrap().clone();
        let e = opt.step(&mut t, &mut g, &[a, oa]).unwrap_err();
        assert!(matches!(e, Error::ForeignVar { .. }), "{e:?}");
        assert_eq!(
            t.value(a).unwrap(),
            &before,
            "a failed step changes nothing"
        );
    }
}

/// Clipping by the global norm cannot rescale a NaN or an infinity: a typed error naming the variable, not
/// `Ok(NaN)` with the gradients left as they were. A norm that overflows only because the squares do is
/// measured and clipped.
#[test]
fn clipping_a_non_finite_gradient_is_an_error() {
    use zerodl::optim::clip;
    let mut t = Tape::<f64>::new();
    let b = t.param(m(1, 1, &[1.0]));
    let a = t.param(m(1, 2, &[0.0, 4.0]));
    let sa = t.sqrt(a).unwrap(); // d/da √a = ∞ at 0
    let s = t.sum(sa).unwrap();
    let l = t.mul(s, b).unwrap();
    let mut g = t.backward(l).unwrap();
    let e = clip::by_global_norm(&mut g, &[b, a], 1.0).unwrap_err();
    match e {
        Error::NonFiniteGrad {
            position, value, ..
        } => assert_eq!((position, value), (1, f64::INFINITY)),
        other => panic!("expected NonFiniteGrad, got {other:?}"),
    }

    let mut t = Tape::<f64>::new();
    let w = t.param(m(1, 2, &[1e200, -1e200]));
    let l = t.sum(w).unwrap();
    let l = t.scale(l, 1e200).unwrap(); // gradient 1e200 in each entry: Σ g² overflows
    let mut g = t.backward(l).unwrap();
    let norm = clip::by_global_norm(&mut g, &[w], 1.0).unwrap();
    assert!((norm / (2f64.sqrt() * 1e200) - 1.0).abs() < 1e-12, "{norm}");
    let gw = g.get(w).unwrap();
    assert!((gw[(0, 0)] - 0.5f64.sqrt()).abs() < 1e-12, "{gw}");
}

mod geometry_and_by_hand {
    use super::*;
    use zerodl::by_hand::{activation, batch_norm as bn, conv, conv_fast, fc, pool, pool_fast};
    use zerodl::layout::{ConvGeom, PoolGeom};
    use zerodl::nn::conv2d::{Conv2d, Impl};
    use zerodl::nn::pool::Pool2d;
    use zerodl::nn::{Activation, Mlp};
    use zerodl::rng::seeded;

    /// The geometry's fields are public, so a stride of 0 can be written without `ConvGeom::new`: every
    /// layer and hand-derived function that would divide by it says so instead.
    #[test]
    fn a_stride_of_zero_is_an_error_not_a_division_by_zero() {
        let mut g = ConvGeom::new(1, 4, 4, 2, 3, 3, 1, 1).unwrap();
        g.stride = 0;
        assert!(matches!(
            g.validate(),
            Err(Error::Invalid { op: "conv2d", .. })
        ));
        let mut t = Tape::<f64>::new();
        let x = t.constant(DMatrix::zeros(16, 2));
        for imp in [Impl::Naive, Impl::Fast, Impl::Composed] {
            let layer = Conv2d::new(&mut t, g, imp, &mut seeded(1));
            let r = layer.forward(&mut t, x);
            assert!(
                matches!(r, Err(Error::Invalid { op: "conv2d", .. })),
                "{imp:?}: {r:?}"
            );
        }
        let (xv, w, dy) = (
            DMatrix::<f64>::zeros(16, 2),
            DMatrix::zeros(9, 2),
            DMatrix::zeros(32, 2),
        );
        assert!(conv::forward(&xv, &w, &DMatrix::zeros(1, 2), &g).is_err());
        assert!(conv_fast::forward(&xv, &w, &DMatrix::zeros(1, 2), &g).is_err());
        assert!(conv::backward(&dy, &xv, &w, &g).is_err());
        assert!(conv_fast::backward(&dy, &xv, &w, &g, true).is_err());

        let mut p = PoolGeom::new(1, 4, 4, 2, 2, 2).unwrap();
        p.stride = 0;
        for imp in [Impl::Naive, Impl::Fast, Impl::Composed] {
            let layer = Pool2d {
                kind: pool::Kind::Max,
                geom: p,
                imp,
            };
            let r = layer.forward(&mut t, x);
            assert!(
                matches!(r, Err(Error::Invalid { op: "pool", .. })),
                "{imp:?}: {r:?}"
            );
        }
        let dy = DMatrix::<f64>::zeros(4, 2);
        assert!(pool::forward(pool::Kind::Max, &xv, &p).is_err());
        assert!(pool_fast::forward(pool::Kind::Max, &xv, &p).is_err());
        assert!(pool::backward(pool::Kind::Avg, &dy, &xv, &p).is_err());
        assert!(pool_fast::backward(pool::Kind::Avg, &dy, &[], &p).is_err());
    }

    /// `Mlp`'s layers are public: one with none is an error when run, and adding batch norm to it is not a
    /// slice underflow.
    #[test]
    fn an_mlp_without_layers_is_an_error_not_a_panic() {
        let mut t = Tape::<f32>::new();
        let empty = Mlp {
            layers: vec![],
            activation: Activation::Relu,
            bn: vec![],
        }
        .with_batch_norm(&mut t, zerodl::nn::batch_norm::BnImpl::Fused);
        assert!(empty.bn.is_empty());
        let x = t.constant(DMatrix::zeros(2, 3));
        let e = empty.forward(&mut t, x).unwrap_err();
        assert!(matches!(e, Error::Config(_)), "{e:?}");
    }

    fn expect_shape<T>(r: zerodl::Result<T>, op: &str) {
        match r.err() {
            Some(Error::Shape { op: o, .. }) => assert_eq!(o, op),
            other => panic!("{op}: expected a shape error, got {other:?}"),
        }
    }

    /// A hand-derived backward given an upstream gradient of the wrong shape: a typed error naming the op
    /// and the shapes, not nalgebra's assertion, an index out of bounds, or (for a smaller gradient) a
    /// result computed from part of it.
    #[test]
    fn by_hand_backward_with_a_wrong_upstream_shape_is_a_shape_error() {
        let x = DMatrix::<f64>::from_fn(3, 4, |i, j| (i + 2 * j) as f64 * 0.1 - 0.3);
        let w = DMatrix::<f64>::from_element(4, 2, 0.5);
        let b = DMatrix::<f64>::zeros(1, 2);
        let (y, cache) = fc::forward(&x, &w, &b).unwrap();
        assert!(fc::backward(&y, &cache).is_ok());
        let e = fc::backward(&DMatrix::zeros(3, 5), &cache).err().unwrap();
        match &e {
            Error::Shape { op, shapes, .. } => {
                assert_eq!(*op, "fc backward");
                assert_eq!(
                    shapes,
                    &[
                        zerodl::Shape(3, 5),
                        zerodl::Shape(3, 4),
                        zerodl::Shape(4, 2)
                    ]
                );
            }
            other => panic!("{other:?}"),
        }

        let (_, z) = activation::forward(activation::Kind::Tanh, &x);
        expect_shape(
            activation::backward(activation::Kind::Tanh, &DMatrix::zeros(4, 3), &z),
            "activation backward",
        );

        let (gamma, beta) = (DMatrix::from_element(1, 4, 1.0), DMatrix::zeros(1, 4));
        let (yb, bc, _) = bn::forward(&x, &gamma, &beta, 1e-5).unwrap();
        assert!(bn::backward(&yb, &bc).is_ok());
        // Smaller than the batch: it used to be read without complaint.
        expect_shape(
            bn::backward(&DMatrix::zeros(2, 4), &bc),
            "batch_norm backward",
        );
        let (_, bcc, _) = bn::forward_conv(
            &x.transpose(),
            2,
            &DMatrix::from_element(1, 2, 1.0),
            &DMatrix::zeros(1, 2),
            1e-5,
        )
        .unwrap();
        expect_shape(
            bn::backward_conv(&DMatrix::zeros(6, 4), &bcc),
            "batch_norm_conv backward",
        );

        let g = ConvGeom::new(1, 4, 4, 2, 3, 3, 1, 1).unwrap();
        let (xi, wk) = (DMatrix::<f64>::zeros(16, 2), DMatrix::zeros(9, 2));
        let wrong = DMatrix::zeros(32, 3);
        assert!(conv::backward(&DMatrix::zeros(32, 2), &xi, &wk, &g).is_ok());
        expect_shape(conv::backward(&wrong, &xi, &wk, &g), "conv backward");
        expect_shape(
            conv_fast::backward(&wrong, &xi, &wk, &g, true),
            "conv_fast backward",
        );
        expect_shape(
            conv::backward(&DMatrix::zeros(32, 2), &xi, &DMatrix::zeros(8, 2), &g),
            "conv backward",
        );

        let p = PoolGeom::new(1, 4, 4, 2, 2, 2).unwrap();
        let (_, argmax) = pool_fast::forward(pool::Kind::Max, &xi, &p).unwrap();
        let dy = DMatrix::<f64>::zeros(4, 2);
        assert!(pool_fast::backward(pool::Kind::Max, &dy, &argmax, &p).is_ok());
        expect_shape(
            pool::backward(pool::Kind::Max, &DMatrix::zeros(4, 1), &xi, &p),
            "pool backward",
        );
        expect_shape(
            pool_fast::backward(pool::Kind::Avg, &DMatrix::<f64>::zeros(5, 2), &argmax, &p),
            "pool_fast backward",
        );
        // An argmax from another pass: shorter than the outputs, errors past its end would be dropped; an
        // index in the other image's input, or past every input, would put an error where it does not belong.
        let mut other_image = argmax.clone();
        other_image[0] += 16;
        let mut past_the_end = argmax.clone();
        past_the_end[7] = 40;
        for bad in [&argmax[..4], &other_image[..], &past_the_end[..]] {
            let r = pool_fast::backward(pool::Kind::Max, &dy, bad, &p);
            assert!(
                matches!(
                    r,
                    Err(Error::Invalid {
                        op: "pool_fast backward",
                        ..
                    })
                ),
                "{r:?}"
            );
        }
    }
}

/// The recurrent backward passes by hand: an upstream gradient of the wrong shape, or weights whose hidden
/// size is 0 (the states are cut into steps by it), are typed errors, not an assertion or a division by zero.
#[test]
fn recurrent_backward_with_a_wrong_upstream_shape_is_a_shape_error() {
    use zerodl::by_hand::rnn::{self as hand, Merge, StackSpec};
    use zerodl::nn::rnn::{cell_values, Rnn, RnnImpl, RnnInit};
    use zerodl::rng::seeded;
    let (n, steps, d, h) = (2, 3, 2, 4);
    let x = DMatrix::<f64>::from_fn(n, steps * d, |i, j| (i + j) as f64 * 0.1);
    let (wx, wh, b) = (
        DMatrix::from_element(d, h, 0.1),
        DMatrix::from_element(h, h, 0.1),
        DMatrix::zeros(1, h),
    );
    let hs = hand::forward(&x, &wx, &wh, &b, None, false).unwrap();
    assert!(hand::backward(&x, &wx, &wh, None, &hs, &hs, false).is_ok());
    let shape_op = |r: zerodl::Result<hand::RnnGrads<f64>>| match r.err() {
        Some(Error::Shape { op, .. }) => op,
        other => panic!("expected a shape error, got {other:?}"),
    };
    let short = DMatrix::zeros(n, steps * h - 1);
    assert_eq!(
        shape_op(hand::backward(&x, &wx, &wh, None, &hs, &short, false)),
        "recurrent layer backward"
    );
    let empty = DMatrix::zeros(d, 0);
    assert_eq!(
        shape_op(hand::backward(&x, &empty, &wh, None, &hs, &hs, false)),
        "rnn backward"
    );

    let spec = StackSpec {
        input: d,
        hidden: h,
        layers: 2,
        bidirectional: true,
        merge: Merge::PerLayer,
    };
    let mut t = Tape::<f64>::new();
    let rnn = Rnn::new(
        &mut t,
        spec,
        RnnInit::Uniform { a: 0.5 },
        RnnImpl::Fused,
        &mut seeded(1),
    )
    .unwrap();
    let cells = cell_values(&t, &rnn).unwrap();
    let (out, cache) = hand::stack_forward(&spec, &cells, &x, None).unwrap();
    assert!(hand::stack_backward(&spec, &cells, &cache, &out).is_ok());
    let wrong = DMatrix::zeros(n, out.ncols() / 2);
    match hand::stack_backward(&spec, &cells, &cache, &wrong).err() {
        Some(Error::Shape { op, .. }) => assert_eq!(op, "recurrent stack backward"),
        other => panic!("expected a shape error, got {other:?}"),
    }
    let deeper = StackSpec { layers: 3, ..spec };
    assert!(matches!(
        hand::stack_backward(&deeper, &cells, &cache, &out).err(),
        Some(Error::Invalid { .. })
    ));
}
