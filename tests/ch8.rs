//! Chapter 8's experiment on a small synthetic index: the honest split never lets a window's targets cross
//! into a later span, the scaling follows the setup, the baselines score what an independent computation
//! says, and the run's numbers come out for the model and both baselines.

use zerodl::chapters::ch8::{run, Scaling, Settings, FEATURES};

/// A noisy upward drift with volume and turnover that follow it: something to forecast.
fn index(days: usize) -> Vec<[f64; FEATURES]> {
    (0..days)
        .map(|d| {
            let t = d as f64;
            let close = 1000.0 + 2.0 * t + 30.0 * (t / 9.0).sin() + 7.0 * (t * 1.7).cos();
            [close, 50.0 + (t / 5.0).cos() * 10.0, 40.0 + close / 100.0]
        })
        .collect()
}

fn small() -> Settings {
    Settings {
        window: 8,
        horizon: 3,
        hidden: 4,
        layers: 1,
        epochs: 2,
        batch: 16,
        origins: 2,
        eval_every: 10,
        ..Settings::default()
    }
}

#[test]
fn the_honest_split_keeps_every_test_target_after_the_validation_span() {
    let days = index(400);
    let s = small();
    let r = run(&days, &s, &mut |_| {}).unwrap();
    let (train_end, val_end) = (280, 340);
    assert_eq!(r.main.origin, val_end);
    for &st in &r.main.starts {
        assert!(
            st + s.window >= val_end,
            "a test window predicts a day before the test span"
        );
        assert!(st + s.window + s.horizon <= days.len());
    }
    // Every test window whose targets fit is there: from the first day of the span to the last.
    assert_eq!(r.main.starts.len(), days.len() - val_end - s.horizon + 1);
    assert!(train_end < val_end);
    // Rolling origins move the whole split back by one test span each, earliest first.
    let origins: Vec<usize> = r.rolling.iter().map(|f| f.origin).collect();
    assert_eq!(origins, vec![340 - 120, 340 - 60]);
    for f in &r.rolling {
        assert!(f.starts.iter().all(|&st| st + s.window >= f.origin));
        assert!(f.model.rmse.iter().all(|v| v.is_finite()));
    }
}

#[test]
fn persistence_scores_what_an_independent_computation_gives() {
    let days = index(400);
    let s = small();
    let r = run(&days, &s, &mut |_| {}).unwrap();
    let f = &r.main;
    for k in 0..s.horizon {
        let mut se = 0.0;
        for &st in &f.starts {
            let last = days[st + s.window - 1][0];
            se += (days[st + s.window + k][0] - last).powi(2);
        }
        let rmse = (se / f.starts.len() as f64).sqrt();
        assert!((rmse - f.persistence.rmse[k]).abs() < 1e-9 * rmse.max(1.0));
    }
    assert_eq!(f.model.rmse.len(), s.horizon);
    assert_eq!(f.predictions.len(), f.starts.len());
}

#[test]
fn the_books_scaling_divides_by_the_variance_and_ours_by_the_deviation() {
    let days = vec![[1.0, 10.0, 5.0], [3.0, 14.0, 5.5]];
    let book = Scaling::fit(&days, true).unwrap();
    let ours = Scaling::fit(&days, false).unwrap();
    assert_eq!(book.mean, [2.0, 12.0, 5.25]);
    assert_eq!(book.scale[0], 1.0); // population variance of {1, 3}
    assert_eq!(book.scale[1], 4.0);
    assert_eq!(ours.scale[1], 2.0);
    assert_eq!(book.close(0.5), 2.5);
    let flat = vec![[1.0, 1.0, 1.0]; 5];
    assert!(
        Scaling::fit(&flat, false).is_err(),
        "a column that does not vary"
    );
}

#[test]
fn the_book_setup_evaluates_on_its_own_training_windows() {
    let days = index(200);
    let s = Settings {
        book_setup: true,
        origins: 0,
        ..small()
    };
    let r = run(&days, &s, &mut |_| {}).unwrap();
    assert_eq!(r.main.starts.len(), 200 - s.window - s.horizon + 1);
    assert_eq!(r.main.starts[0], 0, "in-sample: from the first window");
    assert!(r.rolling.is_empty());
}

#[test]
fn the_linear_baseline_beats_persistence_on_a_smooth_drift() {
    // A trend plus two waves follows a linear recurrence: least squares on the window nearly solves it.
    let days = index(300);
    let s = Settings {
        book_setup: true,
        origins: 0,
        epochs: 1,
        ..small()
    };
    let r = run(&days, &s, &mut |_| {}).unwrap();
    assert!(r.main.linear.mean_rmse() < 0.1 * r.main.persistence.mean_rmse());
}

#[test]
fn settings_that_cannot_work_are_refused_before_training() {
    let days = index(400);
    for bad in [
        Settings {
            keep: 0.0,
            ..small()
        },
        Settings {
            lr: -1.0,
            ..small()
        },
        Settings {
            train_share: 0.9,
            val_share: 0.2,
            ..small()
        },
    ] {
        assert!(run(&days, &bad, &mut |_| {}).is_err());
    }
    let e = run(&index(12), &small(), &mut |_| {}).unwrap_err();
    assert!(e.to_string().contains("span holds no whole window"), "{e}");
}

#[test]
fn a_batch_larger_than_the_training_windows_is_refused() {
    let s = Settings {
        batch: 100_000,
        ..small()
    };
    match run(&index(400), &s, &mut |_| {}) {
        Err(e) => assert!(
            e.to_string().contains("batch of 100000 is larger than the"),
            "{e}"
        ),
        Ok(_) => panic!("a batch larger than the data was accepted"),
    }
}
