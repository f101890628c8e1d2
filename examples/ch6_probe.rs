//! Explore chapter 6's sigmoid network: `cargo run --release --example ch6_probe -- <lr> <steps>` runs it with
//! and without batch normalization and prints the final test accuracy of each.
fn main() -> zerodl::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let lr: f64 = args.get(1).and_then(|v| v.parse().ok()).unwrap_or(0.5);
    let steps: usize = args.get(2).and_then(|v| v.parse().ok()).unwrap_or(2000);
    let data = zerodl::data::mnist::load()?;
    for bn in [false, true] {
        let r = zerodl::chapters::ch6::sigmoid_net(&data, bn, lr, steps, steps / 5)?;
        println!(
            "batch norm {bn}, lr {lr}: diverged {}, curve {:?}, last percentiles {:?}",
            r.diverged,
            r.curve
                .iter()
                .map(|c| (c.0, (c.1 * 1000.0).round() / 1000.0, c.2))
                .collect::<Vec<_>>(),
            r.percentiles.last()
        );
    }
    Ok(())
}
