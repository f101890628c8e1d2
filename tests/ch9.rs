//! Chapter 9's model and yardsticks on a synthetic sentiment task: reviews of random length made of neutral
//! words and a few words that carry the label. The GRU, the bag of words and the mean vector all learn it; the
//! split is used as chapter 9 uses it (choices on validation, the test once).

use nalgebra::DMatrix;
use rand::Rng as _;
use zerodl::chapters::ch9::baselines::{bag_of_words, mean_vector};
use zerodl::chapters::ch9::{run, Corpus, Encoded, Head, Settings};
use zerodl::rng::seeded;

const VOCAB: usize = 40;
const STEPS: usize = 12;

/// Token 2 is "good", 3 is "bad"; the rest (4..) neutral; 0 is padding. A review's label is which of the two it
/// holds more of.
fn reviews(n: usize, seed: u64) -> Encoded {
    let mut rng = seeded(seed);
    let mut e = Encoded::default();
    while e.len() < n {
        let len = rng.random_range(3..=STEPS);
        let ids: Vec<u32> = (0..len)
            .map(|_| match rng.random_range(0..10) {
                0 => 2,
                1 => 3,
                _ => rng.random_range(4..VOCAB as u32),
            })
            .collect();
        let (good, bad) = (
            ids.iter().filter(|&&k| k == 2).count(),
            ids.iter().filter(|&&k| k == 3).count(),
        );
        if good == bad {
            continue;
        }
        let mut padded = ids.clone();
        padded.resize(STEPS, 0);
        e.ids.push(padded);
        e.lengths.push(len);
        e.labels.push(usize::from(good > bad));
    }
    e
}

fn corpus() -> Corpus {
    let mut rng = seeded(4);
    let mut vectors = DMatrix::from_fn(VOCAB, 6, |_, _| rng.random_range(-0.5..0.5f32));
    vectors.row_mut(0).fill(0.0);
    Corpus {
        train: reviews(600, 1),
        val: reviews(200, 2),
        test: reviews(200, 3),
        vectors,
    }
}

fn small() -> Settings {
    Settings {
        steps: STEPS,
        hidden: 8,
        batch: 16,
        epochs: 6,
        eval_every: 50,
        ..Settings::default()
    }
}

#[test]
fn the_gru_learns_the_synthetic_sentiment_and_reports_on_every_split() {
    let c = corpus();
    let s = Settings {
        schedule: zerodl::optim::Schedule::Constant(0.01),
        ..small()
    };
    let (r, _, _) = run(&c, &s, &mut |_| {}).unwrap();
    assert!(r.test_acc > 0.9, "test accuracy {}", r.test_acc);
    assert!(r.val_acc > 0.9, "validation accuracy {}", r.val_acc);
    assert_eq!(r.by_length.len(), 200);
    assert_eq!(r.epoch_seconds.len(), 6);
    assert!(r.curve.iter().all(|p| p.3.is_finite()));
}

#[test]
fn the_book_head_reads_every_step_and_also_runs() {
    let c = corpus();
    let s = Settings {
        head: Head::Flatten,
        mask: false,
        layers: 2,
        merge: zerodl::by_hand::recurrent::Merge::Book,
        epochs: 2,
        ..small()
    };
    let (r, _, _) = run(&c, &s, &mut |_| {}).unwrap();
    assert!(r.test_acc.is_finite() && r.steps == 2 * 600usize.div_ceil(16));
}

#[test]
fn both_yardsticks_learn_the_counting_rule() {
    let c = corpus();
    let bow = bag_of_words(&c, VOCAB, 5).unwrap();
    assert!(bow.test_acc > 0.9, "bag of words {}", bow.test_acc);
    let mv = mean_vector(&c, 5).unwrap();
    assert!(mv.test_acc > 0.6, "mean vector {}", mv.test_acc);
}

#[test]
fn reviews_of_the_wrong_length_and_empty_splits_are_errors() {
    let mut c = corpus();
    let s = Settings {
        steps: STEPS + 1,
        ..small()
    };
    assert!(run(&c, &s, &mut |_| {}).is_err());
    c.val = Encoded::default();
    assert!(run(&c, &small(), &mut |_| {}).is_err());
}

mod checkpoints {
    use super::*;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Arc;
    use zerodl::chapters::ch9::chapter::predict_review;
    use zerodl::chapters::ch9::run_with;
    use zerodl::train::{Checkpoint, Control, Progress};
    use zerodl::Error;

    fn saving(dir: &std::path::Path) -> Control {
        Control {
            save: Some(dir.to_path_buf()),
            interrupt: Some(Arc::new(AtomicBool::new(false))),
            ..Control::default()
        }
    }

    /// Dropout draws a mask every step: resuming must put its generator back where it was, or the masks (and
    /// every number after them) differ. Checked with trained and with frozen word vectors.
    #[test]
    fn a_resumed_run_draws_the_same_dropout_masks_and_ends_the_same() {
        let c = corpus();
        for train_embeddings in [true, false] {
            let s = Settings {
                epochs: 2,
                train_embeddings,
                ..small()
            };
            let whole = tempfile::tempdir().unwrap();
            let (full, _, _) = run_with(&c, &s, &mut |_| {}, &saving(whole.path())).unwrap();
            for stop in [5, 38, 60] {
                let dir = tempfile::tempdir().unwrap();
                let control = saving(dir.path());
                let flag = control.interrupt.clone().unwrap();
                let mut progress = |p: &Progress| {
                    if p.step == stop {
                        flag.store(true, Ordering::SeqCst);
                    }
                };
                let e = run_with(&c, &s, &mut progress, &control).err();
                assert!(
                    matches!(e, Some(Error::Interrupted { step, .. }) if step == stop),
                    "{e:?}"
                );
                let resume = Control {
                    resume: Some(Arc::new(Checkpoint::load(dir.path()).unwrap())),
                    ..saving(dir.path())
                };
                let (r, _, _) = run_with(&c, &s, &mut |_| {}, &resume).unwrap();
                assert_eq!(r.curve, full.curve, "stop at {stop}");
                assert_eq!(r.test_loss.to_bits(), full.test_loss.to_bits());
                assert_eq!(
                    Checkpoint::load(whole.path()).unwrap().tensors,
                    Checkpoint::load(dir.path()).unwrap().tensors
                );
            }
        }
    }

    #[test]
    fn predict_reads_a_review_with_the_saved_vocabulary_alone() {
        let c = corpus();
        let s = Settings {
            schedule: zerodl::optim::Schedule::Constant(0.01),
            train_embeddings: false,
            ..small()
        };
        let dir = tempfile::tempdir().unwrap();
        let mut control = saving(dir.path());
        let mut words = vec![
            "<pad>".to_string(),
            "<unk>".into(),
            "good".into(),
            "bad".into(),
        ];
        words.extend((4..VOCAB).map(|k| format!("w{k}")));
        control
            .meta
            .insert("zerodl.vocab".into(), serde_json::json!(words).to_string());
        let (r, _, _) = run_with(&c, &s, &mut |_| {}, &control).unwrap();
        assert!(r.test_acc > 0.9);
        let ckpt = Checkpoint::load(dir.path()).unwrap();
        let ask = |text: &str| {
            let f = dir.path().join("review.txt");
            std::fs::write(&f, text).unwrap();
            predict_review(&s, &ckpt, &f).unwrap()
        };
        let good = ask("w5 good w7 good w9 bad w11");
        let bad = ask("W5 bad, w7 bad! w9 good zebra");
        assert_eq!(good["verdict"], "positive", "{good}");
        assert_eq!(bad["verdict"], "negative", "{bad}");
        assert_eq!(bad["unknown_words"], 1, "{bad}");
        let f = dir.path().join("empty.txt");
        std::fs::write(&f, "  ... ").unwrap();
        let e = predict_review(&s, &ckpt, &f).unwrap_err().to_string();
        assert!(e.contains("empty.txt") && e.contains("no words"), "{e}");
    }
}
