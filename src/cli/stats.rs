//! `relist stats`: what the index holds.

use std::collections::BTreeMap;

use clap::Args;
use relist::store::{Manifest, Store};
use relist::{Error, Result};

use super::{Global, Outcome};

#[derive(Args)]
pub struct StatsArgs {
    /// Print as JSON.
    #[arg(long)]
    json: bool,
}

pub fn run(g: &Global, a: StatsArgs) -> Result<Outcome> {
    let store = Store::open(&g.index)?;
    let manifest = Manifest::read(&g.index)?;
    let (records, products, terms) = store.counts();
    let snap = store.snapshot()?;
    let mut by_source: BTreeMap<String, u64> = BTreeMap::new();
    for addr in snap.all_addresses() {
        let r = snap.record(addr).map_err(|e| Error::index(&g.index, e))?;
        *by_source
            .entry(r.source.unwrap_or_else(|| "-".into()))
            .or_default() += 1;
    }
    let v = serde_json::json!({
        "index": g.index.display().to_string(),
        "format_version": relist::store::FORMAT_VERSION,
        "records": records, "products": products, "terms": terms,
        "by_source": by_source,
        "segments": store.segments(),
        "disk_bytes": store.disk_size(),
        "updated_at": manifest.map(|m| m.updated_at),
    });
    if a.json {
        println!("{v}");
    } else {
        println!("index      {}", g.index.display());
        println!("records    {records} ({products} products, {terms} term rules)");
        for (s, n) in &by_source {
            println!("  {s:<14} {n}");
        }
        println!("segments   {}", store.segments());
        println!(
            "disk       {:.1} MiB",
            store.disk_size() as f64 / (1 << 20) as f64
        );
    }
    Ok(Outcome::Clean)
}
