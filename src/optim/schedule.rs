//! Learning-rate schedules, separate from the optimizers: any optimizer takes any schedule.

use crate::error::{Error, Result};

#[derive(Clone, Debug, PartialEq)]
pub enum Schedule {
    Constant(f64),
    /// `base · decay^epoch`.
    Exponential {
        base: f64,
        decay: f64,
    },
    /// `base · gamma^⌊epoch / every⌋`.
    Step {
        base: f64,
        gamma: f64,
        every: usize,
    },
    /// The book's per-epoch table: keys are 1-based epochs; epoch `e` (0-based) uses the value of the largest
    /// key `≤ e + 1`. Keys must be increasing and the first must be 1.
    Table(Vec<(usize, f64)>),
}

impl Schedule {
    /// The learning rate of epoch `epoch` (0-based).
    pub fn lr(&self, epoch: usize) -> f64 {
        match self {
            Schedule::Constant(lr) => *lr,
            Schedule::Exponential { base, decay } => base * decay.powi(epoch as i32),
            Schedule::Step { base, gamma, every } => {
                base * gamma.powi((epoch / (*every).max(1)) as i32)
            }
            Schedule::Table(t) => t
                .iter()
                .rev()
                .find(|(k, _)| *k <= epoch + 1)
                .or(t.first())
                .map_or(0.0, |(_, v)| *v),
        }
    }

    pub fn validate(&self) -> Result<()> {
        let ok = |v: f64| v.is_finite() && v > 0.0;
        let fine = match self {
            Schedule::Constant(lr) => ok(*lr),
            Schedule::Exponential { base, decay } => ok(*base) && ok(*decay),
            Schedule::Step { base, gamma, every } => ok(*base) && ok(*gamma) && *every > 0,
            Schedule::Table(t) => {
                !t.is_empty()
                    && t[0].0 == 1
                    && t.windows(2).all(|w| w[0].0 < w[1].0)
                    && t.iter().all(|(_, v)| ok(*v))
            }
        };
        if fine {
            Ok(())
        } else {
            Err(Error::Config(format!(
                "learning-rate schedule {self:?}: rates and factors must be positive numbers, a table's keys increasing from 1"
            )))
        }
    }
}
