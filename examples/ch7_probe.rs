//! Explore chapter 7's settings: `cargo run --release --example ch7_probe -- <lr> <epochs> <decay> <seed>`
//! prints the test MSE curve of one run.
use zerodl::chapters::ch7::{run, Settings};

fn main() -> zerodl::Result<()> {
    let a: Vec<String> = std::env::args().skip(1).collect();
    let get = |i: usize, d: f64| a.get(i).and_then(|v| v.parse().ok()).unwrap_or(d);
    let s = Settings {
        lr: get(0, 0.005),
        epochs: get(1, 5.0) as usize,
        decay: get(2, 1.0),
        seed: get(3, 7.0) as u64,
        eval_every: 100,
        ..Settings::default()
    };
    let r = run(&s, &mut |_| {})?;
    for (step, train, test) in &r.curve {
        println!("{step:5} train {train:.5} test {test:.5}");
    }
    println!("final test {:.5} clean {:.5}", r.test_mse, r.test_mse_clean);
    Ok(())
}
