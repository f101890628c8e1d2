//! Every random draw in zerodl comes from a seeded ChaCha8 generator: its output is specified by the
//! algorithm, not by the `rand` release (`StdRng` is documented as free to change between releases), so a
//! seed gives the same numbers on every machine and every build.

use rand::SeedableRng;
pub use rand_chacha::ChaCha8Rng as Rng;

pub fn seeded(seed: u64) -> Rng {
    Rng::seed_from_u64(seed)
}
