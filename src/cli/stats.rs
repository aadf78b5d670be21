//! `relist stats`: what the index holds.

use clap::Args;
use relist::Result;

use super::{Global, Outcome};

#[derive(Args)]
pub struct StatsArgs {
    /// Print as JSON.
    #[arg(long)]
    json: bool,
}

pub fn run(g: &Global, a: StatsArgs) -> Result<Outcome> {
    let s = relist::pipeline::index::stats(&g.index)?;
    let v = serde_json::json!({
        "index": g.index.display().to_string(),
        "format_version": s.format_version,
        "records": s.records, "products": s.products, "terms": s.terms,
        "by_source": s.by_source,
        "segments": s.segments,
        "disk_bytes": s.disk_bytes,
        "updated_at": s.updated_at,
    });
    if a.json {
        println!("{v}");
    } else {
        println!("index      {}", g.index.display());
        println!(
            "records    {} ({} products, {} term rules)",
            s.records, s.products, s.terms
        );
        for (source, n) in &s.by_source {
            println!("  {source:<14} {n}");
        }
        println!("segments   {}", s.segments);
        println!(
            "disk       {:.1} MiB",
            s.disk_bytes as f64 / (1 << 20) as f64
        );
    }
    Ok(Outcome::Clean)
}
