//! String similarity between token lists and n-gram sets, built on strsim.

mod similarity;

pub use similarity::{covers, gram_containment, token_close, weighted_coverage};
