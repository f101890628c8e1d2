//! `cargo run --release --bin figures`: regenerate the book's figures into `plots/`, from fixed seeds, in 10 to 25
//! minutes on 2 cores. `-- --full` adds the long runs (the CNNs of chapters 4 to 6, 20 to 45 minutes more).
//! Figures that need a dataset which is missing are skipped, and said to be.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;
use zerodl::chapters::{ch1, ch2, ch3, ch5, ch6, ch7, optimizers};
use zerodl::data::mnist;
use zerodl::optim::Kind;

// Why: see `zerodl::alloc`.
#[global_allocator]
static ALLOC: zerodl::alloc::MiMalloc = zerodl::alloc::MiMalloc;

struct Out {
    dir: PathBuf,
    written: Vec<PathBuf>,
}

impl Out {
    fn file(&mut self, name: &str) -> PathBuf {
        let p = self.dir.join(name);
        self.written.push(p.clone());
        p
    }
}

fn chapter1(out: &mut Out) -> zerodl::Result<()> {
    let r = ch1::run(&ch1::Settings::default())?;
    ch1::figures::scatter_3d_plane(&r, false, &out.file("ch1_true_plane.svg"))?;
    ch1::figures::scatter_3d_plane(&r, true, &out.file("ch1_learned_plane.svg"))?;
    ch1::figures::edge_on(&r, &out.file("ch1_edge_on.svg"))?;
    println!(
        "ch1: perceptron, {} updates in {} scans, accuracy {:.1}%, Novikoff bound {:.3e}",
        r.trained.updates,
        r.trained.scans,
        100.0 * r.accuracy,
        r.bound
    );
    Ok(())
}

fn chapter3_no_data(out: &mut Out) -> zerodl::Result<()> {
    let (x, y) = ch3::xor_data(50, 0.12, 3);
    let mut linear = ch3::fit_xor(&x, &y, &[2, 2], 3000, 0.5, 3)?;
    let mut hidden = ch3::fit_xor(&x, &y, &[2, 4, 2], 3000, 0.5, 3)?;
    println!(
        "ch3: XOR, linear model {:.1}% right, one hidden layer of 4 tanh units {:.1}% right",
        100.0 * linear.accuracy,
        100.0 * hidden.accuracy
    );
    ch3::figures::xor_regions(
        &x,
        &y,
        &mut [
            ("linear (no hidden layer)", &mut linear),
            ("4 hidden tanh units", &mut hidden),
        ],
        &out.file("ch3_xor.svg"),
    )?;
    ch3::figures::activations(&out.file("ch3_activations.svg"))?;

    let mut paths = Vec::new();
    for kind in Kind::ALL {
        let lr = match kind {
            Kind::Sgd => 0.4,
            Kind::Momentum | Kind::Nag => 0.05,
            Kind::Adagrad => 1.0,
            Kind::RmsProp | Kind::Adam => 0.2,
            Kind::AdaDelta => 1.0,
        };
        let p = optimizers::path(kind, lr, 80)?;
        let (x, y) = *p.last().expect("a path has its start");
        let label = if kind == Kind::AdaDelta {
            format!("{} (no rate)", kind.name())
        } else {
            format!("{} (lr {lr})", kind.name())
        };
        println!(
            "ch5: {label} on x²/20 + y², after 80 steps at ({x:.3}, {y:.3}), f = {:.2e}",
            optimizers::bowl(x, y)
        );
        paths.push((label, p));
    }
    optimizers::figures::paths(&paths, &out.file("ch5_opt_paths.svg"))?;
    Ok(())
}

/// A plate of the optimizer comparison: its file, title, and the rate each optimizer gets.
type Plate = (&'static str, &'static str, Box<dyn Fn(Kind) -> f64>);

fn optimizer_plates(out: &mut Out, data: &mnist::Mnist) -> zerodl::Result<()> {
    let t = Instant::now();
    let s = optimizers::Settings::default();
    let plates: [Plate; 5] = [
        (
            "ch5_opt_suitable.svg",
            "A suitable rate each",
            Box::new(optimizers::suitable_lr),
        ),
        ("ch5_opt_lr_0.01.svg", "All at lr 0.01", Box::new(|_| 0.01)),
        ("ch5_opt_lr_0.1.svg", "All at lr 0.1", Box::new(|_| 0.1)),
        (
            "ch5_opt_too_small.svg",
            "A rate 100 times too small",
            Box::new(|k| optimizers::suitable_lr(k) / 100.0),
        ),
        (
            "ch5_opt_too_large.svg",
            "A rate 30 times too large",
            Box::new(|k| optimizers::suitable_lr(k) * 30.0),
        ),
    ];
    for (file, title, lr) in plates {
        let runs: Vec<(Kind, f64)> = Kind::ALL.iter().map(|&k| (k, lr(k))).collect();
        let result = optimizers::compare(data, &s, &runs)?;
        for r in &result {
            let last = r.points.last();
            println!(
                "ch5 optimizers, {title}: {} lr {}: {}",
                r.kind.name(),
                r.lr,
                match (r.diverged, last) {
                    (true, _) => "diverged".to_string(),
                    (false, Some(p)) =>
                        format!("train loss {:.3}, test accuracy {:.2}%", p.1, 100.0 * p.3),
                    (false, None) => "no evaluation".to_string(),
                }
            );
        }
        optimizers::figures::curves(&result, title, &out.file(file))?;
    }
    println!(
        "ch5: the optimizer plates took {:.1} s",
        t.elapsed().as_secs_f64()
    );
    Ok(())
}

fn with_mnist(out: &mut Out, data: &mnist::Mnist) -> zerodl::Result<()> {
    let t = Instant::now();
    let s = ch2::Settings::default();
    let r = ch2::run(data, &s, &mut |_| {})?;
    println!(
        "ch2: softmax regression, {} epochs, test accuracy {:.2}%, test loss {:.4} ({:.1} s)",
        s.epochs,
        100.0 * r.fit.test_acc,
        r.fit.test_loss,
        t.elapsed().as_secs_f64()
    );
    ch2::figures::curves(
        &r.fit.curve,
        "Chapter 2, 784 → 10",
        &out.file("ch2_curves.svg"),
    )?;
    ch2::figures::weight_templates(&r, &out.file("ch2_weights.svg"))?;

    let t = Instant::now();
    let runs = ch3::fitting(data, 1000, 100, 1e-2, &mut |_| {})?;
    for run in &runs {
        println!(
            "ch3: fitting on 1,000 images, {}: final train loss {:.4}, test accuracy {:.2}%",
            run.name,
            run.report.curve.last().map_or(f64::NAN, |p| p.train_loss),
            100.0 * run.report.test_acc
        );
    }
    println!(
        "ch3: fitting experiment took {:.1} s",
        t.elapsed().as_secs_f64()
    );
    ch3::figures::fitting(&runs, &out.file("ch3_fitting.svg"))?;

    for (name, s, file) in [
        ("784 → 512 → 10", ch3::Settings::book(), "ch3_curves.svg"),
        (
            "784 → 500 → 10 with L2",
            ch3::Settings::book_l2(),
            "ch3_l2_curves.svg",
        ),
    ] {
        let t = Instant::now();
        let r = ch3::run(data, &s, &mut |_| {})?;
        println!(
            "ch3: {name}, {} epochs x {} steps per batch, test accuracy {:.2}%, test loss {:.4} ({:.1} s)",
            s.epochs,
            s.steps_per_batch,
            100.0 * r.test_acc,
            r.test_loss,
            t.elapsed().as_secs_f64()
        );
        ch2::figures::curves(&r.curve, &format!("Chapter 3, {name}"), &out.file(file))?;
    }
    Ok(())
}

fn batch_norm_sigmoid(out: &mut Out, data: &mnist::Mnist) -> zerodl::Result<()> {
    let t = Instant::now();
    let mut runs = Vec::new();
    for (lr, bn) in [(0.5, false), (0.5, true), (5.0, false), (5.0, true)] {
        let r = ch6::sigmoid_net(data, bn, lr, 3000, 100)?;
        let last = r.curve.last().copied().unwrap_or((0, f64::NAN, f64::NAN));
        let q = r.percentiles.last().map(|p| p.1).unwrap_or([f64::NAN; 3]);
        println!(
            "ch6: sigmoid net, batch norm {bn}, SGD lr {lr}: train loss {:.3}, test accuracy {:.2}%{}, \
             last-layer unit input percentiles 15/50/85: {:.2} / {:.2} / {:.2}",
            last.1,
            100.0 * last.2,
            if r.diverged { " (diverged)" } else { "" },
            q[0],
            q[1],
            q[2]
        );
        runs.push(r);
    }
    ch6::figures::percentiles(&runs[0], &runs[1], &out.file("ch6_percentiles.svg"))?;
    ch6::figures::sigmoid_curves(
        &[&runs[0], &runs[1]],
        "Sigmoid net, lr 0.5",
        &out.file("ch6_sigmoid_lr0.5.svg"),
    )?;
    ch6::figures::sigmoid_curves(
        &[&runs[2], &runs[3]],
        "Sigmoid net, lr 5",
        &out.file("ch6_sigmoid_lr5.svg"),
    )?;
    println!(
        "ch6: the sigmoid-network runs took {:.1} s",
        t.elapsed().as_secs_f64()
    );
    Ok(())
}

fn with_mnist_full(out: &mut Out, data: &mnist::Mnist) -> zerodl::Result<()> {
    let s = ch5::Settings::ch4();
    let r = ch5::run(data, &s, &mut |_| {})?;
    println!(
        "ch4: CNN with naive layers, {} training images, {} steps, {:.1} s, accuracy {:.1}% on {} test images",
        s.train_size.unwrap_or(0),
        r.fit.steps,
        r.fit.seconds,
        100.0 * r.fit.test_acc,
        s.test_size.unwrap_or(0)
    );
    let s = ch5::Settings::ch5();
    let mut r = ch5::run(data, &s, &mut |_| {})?;
    println!(
        "ch5: CNN, {} epochs, test accuracy {:.2}%, test loss {:.4}, {:.1} s per epoch",
        s.epochs,
        100.0 * r.fit.test_acc,
        r.fit.test_loss,
        r.epoch_seconds
    );
    ch2::figures::curves(
        &r.fit.curve,
        "Chapter 5, the CNN",
        &out.file("ch5_curves.svg"),
    )?;
    let without_bn = r.fit.curve.clone();
    ch5::figures::filters(&r.model, &r.tape, &out.file("ch5_filters.svg"))?;
    let (a, b) = (
        out.file("ch5_maps_conv1.svg"),
        out.file("ch5_maps_conv2.svg"),
    );
    ch5::figures::feature_maps(
        &r.model,
        &mut r.tape,
        data.test.image(0),
        data.test.labels[0],
        [&a, &b],
    )?;

    let s = ch5::Settings::ch6();
    let r = ch5::run(data, &s, &mut |_| {})?;
    println!(
        "ch6: CNN with batch norm, {} epochs, test accuracy {:.2}%, test loss {:.4}, {:.1} s per epoch",
        s.epochs,
        100.0 * r.fit.test_acc,
        r.fit.test_loss,
        r.epoch_seconds
    );
    let title = "Chapter 6, the CNN with batch norm";
    ch2::figures::curves(&r.fit.curve, title, &out.file("ch6_curves.svg"))?;
    ch6::figures::cnn_compare(&without_bn, &r.fit.curve, &out.file("ch6_vs_ch5.svg"))?;
    Ok(())
}

fn chapter7(out: &mut Out) -> zerodl::Result<()> {
    let r = ch7::run(&ch7::Settings::default(), &mut |_| {})?;
    println!(
        "ch7: 3-layer RNN, {} steps, test MSE {:.5} (the book's halved convention {:.5}; against the clean \
         signal {:.5}; noise floor {:.5}; best linear predictor {:.5}), largest gradient norm {:.3}, {:.1} s",
        r.steps, r.test_mse, r.test_loss_book(), r.test_mse_clean, r.noise_floor, r.linear_mse, r.max_grad_norm, r.seconds
    );
    ch7::figures::prediction(&r, &out.file("ch7_prediction.svg"))?;
    ch7::figures::curves(&r, &out.file("ch7_curves.svg"))?;
    let flows = ch7::FLOW_SCALES
        .iter()
        .map(|&rho| Ok((rho, ch7::gradient_flow(rho, 200, 30, 7)?)))
        .collect::<zerodl::Result<Vec<_>>>()?;
    for (rho, g) in &flows {
        println!(
            "ch7: W_h = {rho} x orthogonal: gradient at step 200 {:.3e}, at step 1 {:.3e}",
            g[199], g[0]
        );
    }
    ch7::figures::gradient_flow(&flows, &out.file("ch7_gradient_flow.svg"))?;
    let c = ch7::ClipDemo::default();
    let plain = ch7::clip_run(ch7::Clip::None, &c)?;
    let clipped = ch7::clip_run(ch7::Clip::Norm(c.max_norm), &c)?;
    for (name, run) in [("no clipping", &plain), ("clipping", &clipped)] {
        let last = run.last().map_or(f64::NAN, |p| p.0);
        let peak = run.iter().map(|p| p.1).fold(0.0, f64::max);
        println!("ch7: long sequence, {name}: {} steps, final loss {last:.4}, largest gradient norm {peak:.3e}", run.len());
    }
    let n1 = "no clipping".to_string();
    let n2 = format!("clipped at global norm {}", c.max_norm);
    ch7::figures::clipping(
        &[(&n1, &plain), (&n2, &clipped)],
        &out.file("ch7_clipping.svg"),
    )?;
    Ok(())
}

fn run(dir: &Path, full: bool) -> zerodl::Result<Vec<PathBuf>> {
    std::fs::create_dir_all(dir).map_err(|e| zerodl::Error::io(dir, e))?;
    let mut out = Out {
        dir: dir.to_path_buf(),
        written: Vec::new(),
    };
    chapter1(&mut out)?;
    chapter3_no_data(&mut out)?;
    chapter7(&mut out)?;
    match mnist::load() {
        Ok(data) => {
            with_mnist(&mut out, &data)?;
            optimizer_plates(&mut out, &data)?;
            batch_norm_sigmoid(&mut out, &data)?;
            if full {
                with_mnist_full(&mut out, &data)?;
            } else {
                println!("skipped the long runs (chapters 4 to 6, the CNNs): pass --full to regenerate them");
            }
        }
        Err(e @ zerodl::Error::MissingData { .. }) => {
            eprintln!("skipped the chapter 2 and 3 MNIST figures: {e}");
        }
        Err(e) => return Err(e),
    }
    Ok(out.written)
}

fn main() -> ExitCode {
    zerodl::alloc::keep_freed_memory();
    let full = std::env::args().skip(1).any(|a| a == "--full");
    if let Some(a) = std::env::args().skip(1).find(|a| a != "--full") {
        eprintln!("figures: unknown argument {a:?} (the only flag is --full)");
        return ExitCode::from(2);
    }
    match run(Path::new("plots"), full) {
        Ok(files) => {
            for f in &files {
                println!("wrote {}", f.display());
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("figures: {e}");
            ExitCode::FAILURE
        }
    }
}
