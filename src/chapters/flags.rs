//! What the chapters' command-line flags share: the optimizer names, and checks that refuse a value the run
//! could not use before any work starts.

use crate::error::{Error, Result};
use crate::optim::Kind;
use clap::{ArgMatches, FromArgMatches};

#[derive(Clone, Copy, clap::ValueEnum)]
pub enum Optimizer {
    Sgd,
    Momentum,
    Nag,
    Adagrad,
    Rmsprop,
    Adadelta,
    Adam,
}

impl Optimizer {
    pub fn kind(self) -> Kind {
        match self {
            Optimizer::Sgd => Kind::Sgd,
            Optimizer::Momentum => Kind::Momentum,
            Optimizer::Nag => Kind::Nag,
            Optimizer::Adagrad => Kind::Adagrad,
            Optimizer::Rmsprop => Kind::RmsProp,
            Optimizer::Adadelta => Kind::AdaDelta,
            Optimizer::Adam => Kind::Adam,
        }
    }
}

/// `--init`: how the weights of chapters 3 to 6 start.
#[derive(Clone, Copy, clap::ValueEnum)]
pub enum InitArg {
    /// He et al. (2015), N(0, 2/fan_in): ours, for ReLU layers.
    He,
    /// Glorot and Bengio (2010), U(±√(6/(fan_in + fan_out))).
    Xavier,
    /// The original's code: 0.01·N(0, 1) for every weight.
    Book,
}

impl InitArg {
    pub fn init(self) -> crate::nn::Init {
        match self {
            InitArg::He => crate::nn::Init::He,
            InitArg::Xavier => crate::nn::Init::Xavier,
            InitArg::Book => crate::nn::Init::Normal { std: 0.01 },
        }
    }
}

/// AdaDelta has no learning rate (Zeiler's method, and the original's code): a `--lr` given with it would be
/// ignored, so it is refused.
pub fn check_rate(optimizer: Option<Optimizer>, lr: Option<f64>) -> crate::error::Result<()> {
    if let (Some(Optimizer::Adadelta), Some(lr)) = (optimizer, lr) {
        return Err(Error::Config(format!(
            "--lr {lr} with --optimizer adadelta: AdaDelta has no learning rate (drop --lr)"
        )));
    }
    Ok(())
}

/// `--small`: the first 5,000 training and 1,000 test images, so that an exercise takes seconds.
pub const SMALL: (usize, usize) = (5_000, 1_000);

/// The splits a run uses: all of MNIST, or the first `(train, test)` images of each split.
pub fn subset(
    data: &crate::data::mnist::Mnist,
    small: Option<(usize, usize)>,
) -> (crate::data::mnist::Split, crate::data::mnist::Split) {
    match small {
        None => (data.train.clone(), data.test.clone()),
        Some((train, test)) => (data.train.head(train), data.test.head(test)),
    }
}

/// A flag given on the command line replaces the experiment's default.
pub fn set<T>(slot: &mut T, flag: Option<T>) {
    if let Some(v) = flag {
        *slot = v;
    }
}

/// A chapter's flags out of the matches of its command.
pub fn parse<F: FromArgMatches>(m: &ArgMatches) -> Result<F> {
    F::from_arg_matches(m).map_err(|e| Error::Config(e.to_string()))
}

fn number(s: &str) -> std::result::Result<f64, String> {
    s.parse::<f64>().map_err(|e| format!("{e}"))
}

/// A learning rate, a clipping threshold: a positive finite number.
pub fn positive(s: &str) -> std::result::Result<f64, String> {
    let v = number(s)?;
    if v.is_finite() && v > 0.0 {
        Ok(v)
    } else {
        Err("expected a positive finite number".into())
    }
}

/// A value that may be any sign (an initial bias): a finite number.
pub fn finite(s: &str) -> std::result::Result<f64, String> {
    let v = number(s)?;
    if v.is_finite() {
        Ok(v)
    } else {
        Err("expected a finite number".into())
    }
}

/// A regularisation strength: a finite number, zero or more.
pub fn non_negative(s: &str) -> std::result::Result<f64, String> {
    let v = number(s)?;
    if v.is_finite() && v >= 0.0 {
        Ok(v)
    } else {
        Err("expected a finite number, zero or more".into())
    }
}

/// A factor applied to the rate every epoch: in `(0, 1]`.
pub fn factor(s: &str) -> std::result::Result<f64, String> {
    let v = number(s)?;
    if v > 0.0 && v <= 1.0 {
        Ok(v)
    } else {
        Err("expected a number in (0, 1]".into())
    }
}

/// A batch size, a number of epochs, units or layers: at least 1.
pub fn count(s: &str) -> std::result::Result<usize, String> {
    match s.parse::<usize>() {
        Ok(0) => Err("expected a whole number of at least 1".into()),
        Ok(v) => Ok(v),
        Err(e) => Err(format!("expected a whole number of at least 1 ({e})")),
    }
}
