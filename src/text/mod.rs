//! The shared vocabulary of matching and the index: normal forms of text ([`normalize`]),
//! identifiers (model numbers, GTINs: [`ident`]), words of one meaning across languages
//! ([`lexicon`]) and similarities between token lists and
//! n-gram sets (built on strsim).

pub mod ident;
pub mod lexicon;
pub mod normalize;
mod similarity;

pub use similarity::{
    colours_of, covers, gram_containment, gram_overlap, token_close, weighted_coverage,
    weighted_coverage_coloured,
};
