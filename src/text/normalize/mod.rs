//! Text normalisation that defeats the usual evasions, and the tokens the index is built from.

mod fold;
mod leet;
mod tokens;

pub use fold::{fold, is_cjk};
pub use leet::{leet_char, leet_key};
pub use tokens::{TextKeys, char_grams, key_tokens, plain_tokens};
