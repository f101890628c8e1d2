//! The initialisers draw what they promise: mean 0 and the stated spread (He: variance 2 / fan_in; Xavier:
//! uniform on ±√(6 / (fan_in + fan_out)), variance 2 / (fan_in + fan_out); the book's code: 0.01·N(0, 1)), and
//! `--init` reaches the weights of chapters 3 to 6.

use zerodl::chapters::{ch3, ch5};
use zerodl::nn::{Init, Module};
use zerodl::rng::seeded;
use zerodl::Tape;

fn stats(v: &[f64]) -> (f64, f64, f64) {
    let n = v.len() as f64;
    let mean = v.iter().sum::<f64>() / n;
    let var = v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / n;
    let max = v.iter().fold(0.0f64, |m, x| m.max(x.abs()));
    (mean, var, max)
}

#[test]
fn each_initialiser_has_its_stated_mean_and_variance() {
    let (fan_in, fan_out) = (400, 300);
    let n = (fan_in * fan_out) as f64;
    for (init, var, bound) in [
        (Init::He, 2.0 / fan_in as f64, None),
        (
            Init::Xavier,
            2.0 / (fan_in + fan_out) as f64,
            Some((6.0 / (fan_in + fan_out) as f64).sqrt()),
        ),
        (Init::Normal { std: 0.01 }, 1e-4, None),
    ] {
        let m = init.matrix::<f64>(fan_in, fan_out, &mut seeded(3));
        let (mean, v, max) = stats(m.as_slice());
        // Standard errors over 120,000 draws: mean sd/√n; variance about var·√(2/n) (normal) or less (uniform).
        assert!(mean.abs() < 5.0 * (var / n).sqrt(), "{init:?}: mean {mean}");
        assert!(
            (v / var - 1.0).abs() < 5.0 * (2.0 / n).sqrt(),
            "{init:?}: variance {v}, expected {var}"
        );
        if let Some(b) = bound {
            assert!(
                max <= b && max > 0.99 * b,
                "{init:?}: largest |w| {max}, bound {b}"
            );
        }
    }
}

fn weight_variance(tape: &Tape<f32>, model: &dyn Module, name: &str) -> f64 {
    let (_, w) = model
        .named_params()
        .into_iter()
        .find(|(n, _)| n == name)
        .unwrap_or_else(|| panic!("no parameter {name}"));
    let v: Vec<f64> = tape.value(w).unwrap().iter().map(|&x| x as f64).collect();
    stats(&v).1
}

#[test]
fn the_init_setting_reaches_the_chapters_weights() {
    for (init, fc1) in [
        (Init::He, 2.0 / 784.0),
        (Init::Xavier, 2.0 / (784.0 + 512.0)),
        (Init::Normal { std: 0.01 }, 1e-4),
    ] {
        let mut tape = Tape::new();
        let s = ch3::Settings {
            init,
            ..ch3::Settings::book()
        };
        let model = ch3::model(&mut tape, &s).unwrap();
        let v = weight_variance(&tape, &model, "layer0.weight");
        assert!((v / fc1 - 1.0).abs() < 0.05, "ch3 {init:?}: {v} vs {fc1}");

        let mut tape = Tape::new();
        let s = ch5::Settings {
            init,
            ..ch5::Settings::ch6()
        };
        let model = ch5::model(&mut tape, &s).unwrap();
        let conv2 = match init {
            Init::He => 2.0 / (32.0 * 25.0),
            Init::Xavier => 2.0 / (32.0 * 25.0 + 64.0),
            _ => 1e-4,
        };
        let v = weight_variance(&tape, &model, "conv2.weight");
        assert!(
            (v / conv2 - 1.0).abs() < 0.05,
            "ch6 {init:?}: {v} vs {conv2}"
        );
    }
    // The original's settings, as `--book-setup` runs them.
    let o = ch3::Settings::original();
    assert_eq!(
        (o.epochs, o.steps_per_batch, o.batch, o.lr),
        (9, 10, 512, 0.1)
    );
    assert_eq!(o.init, Init::Normal { std: 0.01 });
    let l2 = ch3::Settings::original_l2();
    assert_eq!(
        (l2.hidden, l2.batch, l2.epochs, l2.steps_per_batch),
        (500, 1000, 50, 15)
    );
    assert_eq!(
        (l2.lr_decay, l2.l2, l2.init),
        (0.99, 1e-4, Init::Normal { std: 0.01 })
    );
}
