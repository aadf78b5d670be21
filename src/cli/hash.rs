//! `relist hash`: the perceptual hashes of photos, one JSON line per photo, in argument order.

use std::io::Write;
use std::path::PathBuf;

use clap::Args;
use rayon::prelude::*;
use relist::pipeline::photos::{PhotoHasher, hash_file};
use relist::{Error, Result};
use serde_json::{Value, json};

use super::{Global, Outcome};

#[derive(Args)]
pub struct HashArgs {
    /// Photos (JPEG, PNG, GIF, WebP, BMP).
    #[arg(required = true)]
    images: Vec<PathBuf>,
}

/// Prints `{"path", "dhash", "phash", "pdq", "pdq_quality"}` per photo, or `{"path", "error"}`
/// for a photo that cannot be decoded or is too flat to be evidence; every photo gets its line,
/// then the exit code says whether any could not be decoded. Photos are hashed on all cores.
pub fn run(_g: &Global, a: HashArgs) -> Result<Outcome> {
    let hasher = PhotoHasher::new();
    let lines: Vec<(Value, bool)> = a
        .images
        .par_iter()
        .map(|path| {
            let shown = path.display().to_string();
            match hash_file(&hasher, path) {
                Ok(h) => {
                    let mut line = serde_json::Map::new();
                    line.insert("path".into(), Value::from(shown));
                    line.extend(h.fields());
                    (Value::Object(line), true)
                }
                Err(e) => (json!({"path": shown, "error": e.to_string()}), false),
            }
        })
        .collect();
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    for (line, _) in &lines {
        writeln!(out, "{line}").map_err(|e| Error::io("<stdout>", e))?;
    }
    out.flush().map_err(|e| Error::io("<stdout>", e))?;
    let failed = lines.iter().filter(|(_, ok)| !ok).count();
    if failed > 0 {
        return Err(Error::Invalid(format!(
            "{failed} of {} images could not be hashed",
            a.images.len()
        )));
    }
    Ok(Outcome::Clean)
}
