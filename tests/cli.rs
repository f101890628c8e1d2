//! The `zerodl` binary as a user drives it: `--save`, Ctrl-C, `--resume`, `eval` and `predict`, and the flags
//! it refuses. Chapter 7 makes its own data, so these need no download.

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

fn zerodl(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_zerodl"))
        .args(args)
        .output()
        .expect("the zerodl binary runs")
}

fn json(o: &Output) -> serde_json::Value {
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let mut v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("one JSON line");
    // Wall time is the one field that may differ between two runs of the same settings.
    v.as_object_mut().unwrap().remove("seconds");
    v
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn ctrl_c_saves_and_resume_finishes_the_same_run() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_str().unwrap();
    let flags = ["--epochs", "6", "--hidden", "12"];
    let full = json(&zerodl(&[&["run", "ch7", "--quiet"][..], &flags].concat()));
    let child = Command::new(env!("CARGO_BIN_EXE_zerodl"))
        .args(
            [
                &["run", "ch7", "--quiet", "--save", d, "--save-every", "50"][..],
                &flags,
            ]
            .concat(),
        )
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // The first periodic checkpoint shows the run (and its Ctrl-C handler) has started.
    let file = dir.path().join("checkpoint.safetensors");
    let start = Instant::now();
    while !file.exists() {
        assert!(
            start.elapsed() < Duration::from_secs(120),
            "no checkpoint appeared"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    let sent = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(sent.success());
    let out = child.wait_with_output().unwrap();
    let err = stderr(&out);
    if out.status.success() {
        // The run finished before the signal arrived: nothing to resume, and it must match.
        assert_eq!(json(&out), full);
        return;
    }
    assert_eq!(out.status.code(), Some(130), "{err}");
    assert!(
        err.contains("interrupted after step") && err.contains("--resume"),
        "{err}"
    );
    let resumed = json(&zerodl(&["run", "ch7", "--quiet", "--resume", d]));
    assert_eq!(resumed, full);
    // Flags other than the saved ones are refused with --resume.
    let o = zerodl(&["run", "ch7", "--resume", d, "--hidden", "13"]);
    assert!(!o.status.success());
    assert!(stderr(&o).contains("its own flags"), "{}", stderr(&o));
    // eval reports the same fields from the saved model.
    let e = json(&zerodl(&["eval", d]));
    assert_eq!(e, full);
}

#[test]
fn checkpoint_flags_are_refused_where_they_cannot_work() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_str().unwrap();
    let o = zerodl(&["run", "ch1", "--save", d]);
    assert!(!o.status.success());
    assert!(stderr(&o).contains("work for ch2"), "{}", stderr(&o));
    let o = zerodl(&["run", "ch8", "--detect-anomaly"]);
    assert!(
        stderr(&o).contains("ch8 takes none of them"),
        "{}",
        stderr(&o)
    );
    let o = zerodl(&["run", "ch7", "--save", d, "--save-every", "0"]);
    assert!(stderr(&o).contains("--save-every"), "{}", stderr(&o));
    // Nothing saved there: resume, eval and predict say what is missing and how to make it.
    for args in [
        vec!["run", "ch7", "--resume", d],
        vec!["eval", d],
        vec!["predict", d, "x.png"],
    ] {
        let o = zerodl(&args);
        assert!(!o.status.success());
        assert!(
            stderr(&o).contains("checkpoint not found"),
            "{args:?}: {}",
            stderr(&o)
        );
    }
    // A chapter 7 checkpoint cannot predict digits, and cannot be resumed as another chapter.
    json(&zerodl(&[
        "run", "ch7", "--quiet", "--epochs", "1", "--save", d,
    ]));
    let o = zerodl(&["predict", d, "x.png"]);
    assert!(stderr(&o).contains("ch7 has no predict"), "{}", stderr(&o));
    let o = zerodl(&["run", "ch2", "--resume", d]);
    assert!(stderr(&o).contains("holds a ch7 run"), "{}", stderr(&o));
}

/// A chapter 2 checkpoint of an untrained network, as `zerodl run ch2 --save` would write it.
fn ch2_checkpoint(dir: &Path) {
    use zerodl::chapters::ch2;
    let mut tape = zerodl::Tape::new();
    let model = ch2::model(&mut tape, &ch2::Settings::default());
    let mut c = zerodl::train::Checkpoint::new();
    c.put_model(&tape, &model).unwrap();
    c.meta.insert("zerodl.chapter".into(), "ch2".into());
    c.meta.insert("zerodl.args".into(), "[]".into());
    c.save(dir).unwrap();
}

#[test]
fn predict_reads_a_png_and_prints_ten_probabilities() {
    let dir = tempfile::tempdir().unwrap();
    ch2_checkpoint(dir.path());
    // A dark bar on white, 60 x 90, colour: not MNIST's format at all.
    let png = dir.path().join("digit.png");
    let (w, h) = (60u32, 90u32);
    let mut rgb = vec![255u8; (w * h * 3) as usize];
    for y in 10..80 {
        for x in 25..35 {
            let i = ((y * w + x) * 3) as usize;
            rgb[i..i + 3].copy_from_slice(&[20, 20, 40]);
        }
    }
    let mut enc = png::Encoder::new(std::fs::File::create(&png).unwrap(), w, h);
    enc.set_color(png::ColorType::Rgb);
    enc.set_depth(png::BitDepth::Eight);
    enc.write_header().unwrap().write_image_data(&rgb).unwrap();
    let o = zerodl(&[
        "predict",
        dir.path().to_str().unwrap(),
        png.to_str().unwrap(),
    ]);
    let v = json(&o);
    let p: Vec<f64> = v["probabilities"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap())
        .collect();
    assert_eq!(p.len(), 10);
    assert!((p.iter().sum::<f64>() - 1.0).abs() < 1e-9);
    let class = v["class"].as_u64().unwrap() as usize;
    assert!(p.iter().all(|&q| q <= p[class]));
    // Not a PNG: an error naming the file.
    let junk = dir.path().join("junk.png");
    std::fs::write(&junk, b"GIF89a").unwrap();
    let o = zerodl(&[
        "predict",
        dir.path().to_str().unwrap(),
        junk.to_str().unwrap(),
    ]);
    assert!(!o.status.success());
    assert!(
        stderr(&o).contains("junk.png") && stderr(&o).contains("not a readable PNG"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn blow_ups_and_impossible_settings_fail_loudly() {
    // A finite blow-up (no NaN ever appears) used to finish with exit 0 and a test MSE of 1e5.
    let o = zerodl(&["run", "ch7", "--quiet", "--no-clip", "--lr", "50"]);
    assert!(!o.status.success());
    assert!(
        stderr(&o).contains("diverged at step") && stderr(&o).contains("100 times"),
        "{}",
        stderr(&o)
    );
    // A negative value reaches the flag's own check, which says what is accepted.
    let o = zerodl(&["run", "ch7", "--lr", "-1"]);
    assert!(
        stderr(&o).contains("'-1' for '--lr") && stderr(&o).contains("positive finite"),
        "{}",
        stderr(&o)
    );
    // A rate AdaDelta would ignore is refused before any data is read.
    for ch in ["ch2", "ch3", "ch5"] {
        let o = zerodl(&["run", ch, "--optimizer", "adadelta", "--lr", "5"]);
        assert!(
            stderr(&o).contains("AdaDelta has no learning rate"),
            "{ch}: {}",
            stderr(&o)
        );
    }
    let o = zerodl(&["run", "ch7", "--quiet", "--batch", "100000"]);
    assert!(
        stderr(&o).contains("batch of 100000 is larger than the 9991 training windows"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn detect_anomaly_names_the_op_that_first_made_a_non_finite_value() {
    let plain = zerodl(&["run", "ch7", "--quiet", "--no-clip", "--lr", "1e38"]);
    assert!(
        stderr(&plain).contains("diverged at step 2: the loss is NaN"),
        "{}",
        stderr(&plain)
    );
    let o = zerodl(&[
        "run",
        "ch7",
        "--quiet",
        "--no-clip",
        "--lr",
        "1e38",
        "--detect-anomaly",
    ]);
    assert!(!o.status.success());
    assert!(
        stderr(&o).contains("diverged at step 2: the output of recurrent_layer (op #3, forward)"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn ctrl_c_during_a_stalled_download_removes_the_partial_file() {
    use std::io::{Read, Write};
    let server = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = server.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for stream in server.incoming().take(4) {
            let Ok(mut s) = stream else { continue };
            let mut req = [0u8; 1024];
            let _ = s.read(&mut req);
            let _ = s.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 1000000\r\n\r\n");
            let _ = s.write_all(&[0x1f; 1000]);
            let _ = s.flush();
            // Stall: the client is left waiting in a read.
            std::thread::sleep(Duration::from_secs(20));
        }
    });
    let root = tempfile::tempdir().unwrap();
    let child = Command::new(env!("CARGO_BIN_EXE_zerodl"))
        .args([
            "data",
            "mnist",
            "--base-url",
            &format!("http://127.0.0.1:{port}/"),
        ])
        .env("ZERODL_DATA", root.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let dir = root.path().join("mnist");
    let part = || {
        std::fs::read_dir(&dir)
            .map(|d| {
                d.filter_map(|e| e.ok())
                    .any(|e| e.file_name().to_string_lossy().contains(".part"))
            })
            .unwrap_or(false)
    };
    let start = Instant::now();
    while !part() {
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "no partial file appeared"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    std::thread::sleep(Duration::from_millis(100));
    Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(130), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("removed the partial download"),
        "{}",
        stderr(&out)
    );
    assert!(
        start.elapsed() < Duration::from_secs(15),
        "Ctrl-C waited for the stalled read"
    );
    assert!(!part(), "the .part file is still there");
}

#[test]
fn a_flag_of_another_experiment_is_refused_saying_where_it_belongs() {
    let o = zerodl(&["run", "ch2", "--l2", "5"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("--l2 is a flag of ch3 only"),
        "{}",
        stderr(&o)
    );
    let o = zerodl(&["run", "ch7", "--optimizer", "sgd"]);
    assert!(
        stderr(&o).contains("--optimizer is a flag of ch2, ch3, ch4, ch5, ch6 only"),
        "{}",
        stderr(&o)
    );
    let o = zerodl(&["run", "ch4", "--steps-per-batch", "3"]);
    assert!(
        stderr(&o).contains("--steps-per-batch is a flag of ch2, ch3 only"),
        "{}",
        stderr(&o)
    );
    let o = zerodl(&["run", "ch1", "--bogus"]);
    assert!(
        stderr(&o).contains("no experiment takes --bogus"),
        "{}",
        stderr(&o)
    );
}
