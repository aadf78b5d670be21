//! The normaliser and identifier extraction on arbitrary text: folding, tokens, character
//! grams, leetspeak keys, model numbers and GTINs.
#![no_main]

use libfuzzer_sys::fuzz_target;
use relist::text::{ident, normalize};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let folded = normalize::fold(&text);
    let _ = normalize::plain_tokens(&folded);
    for t in normalize::key_tokens(&folded) {
        let _ = normalize::leet_key(&t);
    }
    let spaceless: String = folded.chars().filter(|c| !c.is_whitespace()).collect();
    normalize::char_grams(&spaceless, |_| {});
    let keys = normalize::TextKeys::new(&text);
    let _ = keys.index_words();
    let _ = keys.gram_strings();
    let _ = ident::model_key(&text);
    let _ = ident::extract_models(&text);
    let _ = ident::gtin14(&text);
    let _ = ident::extract_gtins(&text);
});
