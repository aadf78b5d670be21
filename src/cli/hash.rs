//! `relist hash`: the perceptual hashes of photos, one JSON line per photo, in argument order.

use std::io::Write;
use std::path::PathBuf;

use clap::Args;
use relist::imghash::{PhotoHasher, decode_file, hex64};
use relist::{Error, Result};
use serde_json::json;

use super::{Global, Outcome};

#[derive(Args)]
pub struct HashArgs {
    /// Photos (JPEG, PNG, GIF, WebP, BMP).
    #[arg(required = true)]
    images: Vec<PathBuf>,
}

/// Prints `{"path", "dhash", "phash"}` per photo, or `{"path", "error"}` for a photo that cannot
/// be decoded or is too flat to be evidence; every photo gets its line, then the exit code says
/// whether any could not be decoded.
pub fn run(_g: &Global, a: HashArgs) -> Result<Outcome> {
    let hasher = PhotoHasher::new();
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let mut failed = 0usize;
    for path in &a.images {
        let shown = path.display().to_string();
        let line = match decode_file(path) {
            Ok(img) => match hasher.hash(&img) {
                Some(h) => json!({"path": shown, "dhash": hex64(h.dhash), "phash": hex64(h.phash)}),
                // Not a failure: the photo is read, it just says nothing.
                None => json!({"path": shown,
                               "error": "no evidence: too flat to hash (blank or a single colour)"}),
            },
            Err(e) => {
                failed += 1;
                json!({"path": shown, "error": e.to_string()})
            }
        };
        writeln!(out, "{line}").map_err(|e| Error::io("<stdout>", e))?;
    }
    out.flush().map_err(|e| Error::io("<stdout>", e))?;
    if failed > 0 {
        return Err(Error::Invalid(format!(
            "{failed} of {} images could not be hashed",
            a.images.len()
        )));
    }
    Ok(Outcome::Clean)
}
