//! Listings read from files for `relist check`, `eval` and `calibrate`: the record contract's
//! listings (photo paths relative to the file that names them, as `sweep` and `catalog index`
//! read them), bad lines told and skipped; and listings a caller holds, checked in parallel.

use std::io::Read;
use std::path::{Path, PathBuf};

use rayon::prelude::*;
use serde_json::Value;

use super::Note;
use crate::engine::{CheckOptions, Engine};
use crate::error::{Error, Result};
use crate::feeds::{self, Format};
use crate::model::{CheckResult, Listing};
use crate::pipeline::eval::Labelled;

/// Larger inputs belong to `relist sweep`, which streams.
pub const MAX_CHECK_INPUT: u64 = 256 << 20;

/// The listings of a check input (`-` for stdin): one JSON object (possibly pretty-printed), a
/// JSON array of them, or JSON Lines. At least one listing must be usable.
pub fn read_check_input(path: &Path, mut note: impl FnMut(Note<'_>)) -> Result<Vec<Listing>> {
    let mut text = Vec::new();
    feeds::open(path)?
        .take(MAX_CHECK_INPUT + 1)
        .read_to_end(&mut text)
        .map_err(|e| Error::io(path, e))?;
    if text.len() as u64 > MAX_CHECK_INPUT {
        return Err(Error::io(
            path,
            std::io::Error::other("larger than 256 MiB; use `relist sweep` for catalogs"),
        ));
    }
    let mut listings = parse_values(path, &text, &mut note)?;
    note(Note::FileDone { path });
    if listings.is_empty() {
        return Err(Error::Invalid(format!(
            "{}: no listing to check",
            path.display()
        )));
    }
    for l in &mut listings {
        l.rebase_images(path);
    }
    Ok(listings)
}

fn parse_values(path: &Path, text: &[u8], note: &mut impl FnMut(Note<'_>)) -> Result<Vec<Listing>> {
    let one_line = |reason: String| Error::Record {
        path: path.to_path_buf(),
        line: 1,
        reason,
    };
    // A whole-document value first: one object or an array of them.
    if let Ok(v) = serde_json::from_slice::<Value>(text) {
        return match v {
            Value::Array(items) => {
                let mut out = Vec::new();
                for (i, item) in items.into_iter().enumerate() {
                    match Listing::from_value(item) {
                        Ok(l) => out.push(l),
                        Err(e) => note(Note::Rejected(&Error::Invalid(format!(
                            "{}: item {i}: {e}",
                            path.display()
                        )))),
                    }
                }
                Ok(out)
            }
            v => Listing::from_value(v).map(|l| vec![l]).map_err(one_line),
        };
    }
    let mut out = Vec::new();
    feeds::read_records(
        path,
        text,
        Format::Jsonl,
        Listing::from_value,
        |item| match item {
            Ok((_, l)) => out.push(l),
            Err(e) => note(Note::Rejected(&e)),
        },
    )?;
    Ok(out)
}

/// Listings a caller holds as JSON values (the Python package's `check_many`), each checked
/// as `relist check` checks it, on the current rayon pool (callers install theirs); `each` turns
/// a result into what the caller keeps, on the same worker. Results come in input order. Every
/// item is read first: one that is not a listing fails the whole call, before any is checked,
/// with its position counted from `first` ("item 3: field `title` is missing or empty", as
/// `relist check` names the items of an array).
pub fn check_values<T: Send>(
    engine: &Engine,
    values: Vec<Value>,
    opts: CheckOptions,
    first: usize,
    each: impl Fn(CheckResult) -> T + Sync,
) -> Result<Vec<T>> {
    let listings: Vec<Listing> = values
        .into_par_iter()
        .enumerate()
        .map(|(i, v)| {
            Listing::from_value(v).map_err(|e| Error::Invalid(format!("item {}: {e}", first + i)))
        })
        .collect::<Result<_>>()?;
    listings
        .par_iter()
        .map(|l| engine.check(l, opts).map(&each))
        .collect()
}

/// Labelled listings (the `eval` format) from files, in any listing format; photo paths are
/// relative to the file that names them.
pub fn read_labelled(paths: &[PathBuf], mut note: impl FnMut(Note<'_>)) -> Result<Vec<Labelled>> {
    let mut items = Vec::new();
    for path in paths {
        let input = feeds::open(path)?;
        feeds::read_records(
            path,
            input,
            Format::Auto,
            Labelled::from_value,
            |item| match item {
                Ok((_, mut l)) => {
                    l.listing.rebase_images(path);
                    items.push(l);
                }
                Err(e) => note(Note::Rejected(&e)),
            },
        )?;
        note(Note::FileDone { path });
    }
    Ok(items)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn check_inputs_in_three_shapes_with_photos_beside_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("in.json");
        let read = |text: &str| {
            std::fs::write(&f, text).unwrap();
            let mut bad = Vec::new();
            let r = read_check_input(&f, |n| {
                if let Note::Rejected(e) = n {
                    bad.push(e.to_string())
                }
            });
            (r, bad)
        };
        let (r, _) = read("{\n \"id\": \"a\", \"title\": \"x\", \"images\": [\"p/1.jpg\"]\n}");
        let l = r.unwrap();
        assert_eq!(
            l[0].images,
            vec![dir.path().join("p/1.jpg").display().to_string()]
        );
        let (r, bad) = read(r#"[{"id":"a","title":"x"},{"id":"b"}]"#);
        assert_eq!(r.unwrap().len(), 1);
        assert!(
            bad[0].ends_with("in.json: item 1: field `title` is missing or empty"),
            "{bad:?}"
        );
        let (r, bad) =
            read("{\"id\":\"a\",\"title\":\"x\"}\n{broken\n{\"id\":\"c\",\"title\":\"y\"}\n");
        assert_eq!(r.unwrap().len(), 2);
        assert!(bad[0].contains("in.json:2:"), "{bad:?}");
        let (r, _) = read("[]");
        assert!(
            r.unwrap_err()
                .to_string()
                .ends_with("in.json: no listing to check")
        );
    }

    #[test]
    fn values_are_checked_in_order_and_a_bad_item_fails_the_call_by_its_position() {
        let record = crate::model::BannedRecord::from_value(serde_json::json!(
            {"id": "B-1", "title": "VoltMax HB-2210X power bank", "models": ["HB-2210X"]}))
        .unwrap()
        .record;
        let engine = Engine::in_memory(vec![record], crate::config::Config::default()).unwrap();
        let items = |t: &str| {
            vec![
                serde_json::json!({"id": "a", "title": "garden hose"}),
                serde_json::json!({"id": "b", "title": t}),
            ]
        };
        let got = check_values(
            &engine,
            items("voltmax hb 2210x"),
            CheckOptions::top(5),
            0,
            |r| (r.listing_id, r.decision),
        )
        .unwrap();
        use crate::model::Decision;
        assert_eq!(
            got,
            vec![("a".into(), Decision::Allow), ("b".into(), Decision::Block)]
        );
        let e = check_values(&engine, items(""), CheckOptions::top(5), 10, |_| ()).unwrap_err();
        assert_eq!(e.to_string(), "item 11: field `title` is missing or empty");
    }

    #[test]
    fn labelled_listings_name_photos_relative_to_their_file() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("labels.jsonl");
        std::fs::write(
            &f,
            "{\"id\":\"a\",\"title\":\"x\",\"expected\":null,\"images\":[\"p/1.jpg\",\"https://x/2.jpg\"]}\n{\"id\":\"b\",\"title\":\"y\"}\n",
        )
        .unwrap();
        let mut rejected = 0;
        let items = read_labelled(std::slice::from_ref(&f), |n| {
            rejected += usize::from(matches!(n, Note::Rejected(_)))
        })
        .unwrap();
        assert_eq!((items.len(), rejected), (1, 1));
        assert_eq!(
            items[0].listing.images,
            vec![
                dir.path().join("p/1.jpg").display().to_string(),
                "https://x/2.jpg".to_string()
            ]
        );
    }
}
