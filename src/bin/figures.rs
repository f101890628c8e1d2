//! `cargo run --release --bin figures`: regenerate every figure of the book into `plots/`, from fixed seeds.
//! Figures that need a dataset which is missing are skipped, and said to be.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;
use zerodl::chapters::{ch1, ch2, ch3};
use zerodl::data::mnist;
use zerodl::plot;

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
    plot::ch1::scatter_3d(&r, false, &out.file("ch1_true_plane.svg"))?;
    plot::ch1::scatter_3d(&r, true, &out.file("ch1_learned_plane.svg"))?;
    plot::ch1::edge_on(&r, &out.file("ch1_edge_on.svg"))?;
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
    plot::ch3::xor_regions(
        &x,
        &y,
        &mut [
            ("linear (no hidden layer)", &mut linear),
            ("4 hidden tanh units", &mut hidden),
        ],
        &out.file("ch3_xor.svg"),
    )?;
    plot::ch3::activations(&out.file("ch3_activations.svg"))?;
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
    plot::ch2::curves(
        &r.fit.curve,
        "Chapter 2, 784 → 10",
        &out.file("ch2_curves.svg"),
    )?;
    plot::ch2::weight_templates(&r, &out.file("ch2_weights.svg"))?;

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
    plot::ch3::fitting(&runs, &out.file("ch3_fitting.svg"))?;

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
        plot::ch2::curves(&r.curve, &format!("Chapter 3, {name}"), &out.file(file))?;
    }
    Ok(())
}

fn run(dir: &Path) -> zerodl::Result<Vec<PathBuf>> {
    std::fs::create_dir_all(dir).map_err(|e| zerodl::Error::io(dir, e))?;
    let mut out = Out {
        dir: dir.to_path_buf(),
        written: Vec::new(),
    };
    chapter1(&mut out)?;
    chapter3_no_data(&mut out)?;
    match mnist::load() {
        Ok(data) => with_mnist(&mut out, &data)?,
        Err(e @ zerodl::Error::MissingData { .. }) => {
            eprintln!("skipped the chapter 2 and 3 MNIST figures: {e}");
        }
        Err(e) => return Err(e),
    }
    Ok(out.written)
}

fn main() -> ExitCode {
    match run(Path::new("plots")) {
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
