//! The long-lag experiment, reduced: the gradient reaching a step far from the loss, and a short training
//! run of both cells on the adding problem with the same budget.

use zerodl::chapters::long_lag::{
    self, adding_batch, gradient_at_init, Family, GradientSettings, Settings,
};
use zerodl::nn::recurrent::RecImpl;
use zerodl::rng::seeded;

#[test]
fn the_adding_problem_marks_one_value_in_each_half() {
    let (x, y) = adding_batch(64, 10, &mut seeded(3)).unwrap();
    assert_eq!((x.shape(), y.shape()), ((64, 20), (64, 1)));
    for i in 0..64 {
        let marked: Vec<usize> = (0..10).filter(|&t| x[(i, 2 * t + 1)] == 1.0).collect();
        assert_eq!(marked.len(), 2);
        assert!(marked[0] < 5 && marked[1] >= 5);
        let sum = x[(i, 2 * marked[0])] + x[(i, 2 * marked[1])];
        assert!((sum - y[(i, 0)]).abs() < 1e-6);
    }
    assert!(adding_batch(1, 1, &mut seeded(3)).is_err());
}

#[test]
fn the_lstm_carries_gradient_fifty_steps_the_rnn_does_not() {
    let s = GradientSettings {
        len: 60,
        hidden: 16,
        batch: 8,
        init: Family::Uniform,
        forget_biases: vec![1.0],
        imp: RecImpl::Composed,
        seed: 5,
    };
    let curves = gradient_at_init(&s).unwrap();
    let (rnn, lstm) = (&curves[0].norms, &curves[1].norms);
    assert_eq!((rnn.len(), lstm.len()), (60, 60));
    // Near the loss both cells pass gradient alike; fifty steps back the LSTM's is orders of magnitude
    // larger.
    assert!(
        rnn[0] / lstm[0] < 10.0 && lstm[0] / rnn[0] < 10.0,
        "{rnn:?} {lstm:?}"
    );
    assert!(lstm[50] > 1e3 * rnn[50], "{} vs {}", lstm[50], rnn[50]);
    // The fused layer's hand-derived BPTT measures the same thing.
    let fused = gradient_at_init(&GradientSettings {
        imp: RecImpl::Fused,
        ..s
    })
    .unwrap();
    for (a, b) in curves.iter().zip(&fused) {
        for (k, (x, y)) in a.norms.iter().zip(&b.norms).enumerate() {
            assert!(
                (x - y).abs() <= 1e-3 * x.abs().max(1e-30),
                "{} at {k}: {x} vs {y}",
                a.name
            );
        }
    }
}

#[test]
fn with_the_same_budget_the_lstm_learns_a_long_lag_the_rnn_does_not() {
    let s = Settings {
        len: 30,
        hidden: 16,
        steps: 400,
        test: 500,
        ..Settings::default()
    };
    let r = long_lag::run(&s, &mut |_, _| {}).unwrap();
    // Beating the near-marker-only score needs the first value, at least 15 steps back.
    assert!(
        r.lstm.test_mse < 0.5 * r.near_only_mse,
        "lstm {}",
        r.lstm.test_mse
    );
    assert!(
        r.rnn.test_mse > 0.8 * r.near_only_mse,
        "rnn {}",
        r.rnn.test_mse
    );
    assert!((0.1..0.25).contains(&r.baseline_mse));
    assert_eq!(r.lstm.curve.last().unwrap().0, 400);
}
