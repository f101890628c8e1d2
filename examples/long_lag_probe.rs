//! Explore the long-lag experiment: `cargo run --release --example long_lag_probe -- <T> <steps> <lr>
//! <forget_bias> <seed> <uniform|orthogonal> [figure dir]` prints both cells' curves, test MSEs and
//! gradients by distance, and draws the two figures into the directory when one is given.
use std::path::Path;
use zerodl::chapters::long_lag::{
    figures, gradient_at_init, run, Family, GradientSettings, Settings,
};

fn main() -> zerodl::Result<()> {
    let a: Vec<String> = std::env::args().skip(1).collect();
    let get = |i: usize, d: f64| a.get(i).and_then(|v| v.parse().ok()).unwrap_or(d);
    let d = Settings::default();
    let init = match a.get(5).map(String::as_str) {
        Some("orthogonal") => Family::Orthogonal,
        _ => Family::Uniform,
    };
    let s = Settings {
        len: get(0, d.len as f64) as usize,
        steps: get(1, d.steps as f64) as usize,
        lr: get(2, d.lr),
        forget_bias: get(3, d.forget_bias),
        seed: get(4, d.seed as f64) as u64,
        init,
        ..d
    };
    let g = GradientSettings {
        init,
        seed: s.seed,
        ..GradientSettings::default()
    };
    let t0 = std::time::Instant::now();
    let at_init = gradient_at_init(&g)?;
    println!("gradient at init ({:.2}s):", t0.elapsed().as_secs_f64());
    let at = [0usize, 1, 10, 25, 50, 100, 150, 199];
    for c in &at_init {
        let v: Vec<String> = at
            .iter()
            .filter_map(|&k| c.norms.get(k))
            .map(|v| format!("{v:.2e}"))
            .collect();
        println!("  {:22} {}", c.name, v.join(" "));
    }
    let r = run(&s, &mut |_, _| {})?;
    for m in [&r.rnn, &r.lstm] {
        let pts: Vec<String> = m
            .curve
            .iter()
            .step_by(6)
            .map(|(s, l)| format!("{s}:{l:.4}"))
            .collect();
        println!("{} {}", m.name, pts.join(" "));
        let v: Vec<String> = at
            .iter()
            .filter_map(|&k| m.gradient.get(k))
            .map(|v| format!("{v:.2e}"))
            .collect();
        println!(
            "  test {:.5}  max grad norm {:.2}  {:.1}s  trained grad {}",
            m.test_mse,
            m.max_grad_norm,
            m.seconds,
            v.join(" ")
        );
    }
    println!(
        "baseline {:.5}  near only {:.5}",
        r.baseline_mse, r.near_only_mse
    );
    if let Some(dir) = a.get(6) {
        figures::long_lag(&r, &Path::new(dir).join("ch8_long_lag.svg"))?;
        figures::gradient_distance(
            &at_init,
            Some(&r),
            &Path::new(dir).join("ch8_gradient_distance.svg"),
        )?;
    }
    Ok(())
}
