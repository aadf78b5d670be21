//! Sweeps over Arrow data a caller holds (the Python package's `sweep_arrow`, a Spark
//! `mapInArrow` task): a record batch of listings in, columns by field name as a Parquet
//! catalog's rows are read; one batch of results out, judged by the sweep's [`Checker`], so that
//! the results are those `relist sweep` writes for the same listings and options.
//!
//! The batch is read where it lies (the caller's buffers, through the Arrow C data interface):
//! only each row's own fields are copied, into the listing the matcher needs.

use std::sync::Arc;

use arrow_array::{Float32Array, RecordBatch, StringArray};
use arrow_schema::{DataType, Field, Schema, SchemaRef};
use rayon::prelude::*;
use serde_json::Value;

use crate::error::{Error, Result};
use crate::model::{CheckResult, Listing};
use crate::pipeline::stream::Checker;

/// What to do with a row that is not a listing (or that could not be checked).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BadRows {
    /// Fail the batch with the first such row's error (its row number and field).
    Fail,
    /// Give it a row of its own with `error` set and no decision, and go on, as `relist sweep`
    /// goes on after a bad line.
    Keep,
}

/// The columns of a results batch: the listing's id, decision and score, the best match's banned
/// id, the result as the JSON line `relist sweep` writes, and the error of a bad row.
pub fn results_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("listing_id", DataType::Utf8, true),
        Field::new("decision", DataType::Utf8, true),
        Field::new("score", DataType::Float32, true),
        Field::new("banned_id", DataType::Utf8, true),
        Field::new("result", DataType::Utf8, true),
        Field::new("error", DataType::Utf8, true),
    ]))
}

/// One output row.
enum Row {
    Result(CheckResult, String),
    Bad {
        listing_id: Option<String>,
        error: String,
    },
}

/// Sweeps one batch of listings on the current rayon pool (callers install theirs). Rows are
/// numbered from `first_row` in messages ("row 7: field `title` is missing or empty"); results
/// come in input order, those the sweep keeps only (review and block, or all with `all`).
pub fn sweep_batch(
    checker: &Checker,
    batch: &RecordBatch,
    first_row: u64,
    bad: BadRows,
) -> Result<RecordBatch> {
    let rows: Vec<Option<Row>> = (0..batch.num_rows())
        .into_par_iter()
        .map(|i| {
            let n = first_row + i as u64;
            let object = crate::feeds::row_object(batch, i);
            let listing_id = object.get("id").and_then(Value::as_str).map(str::to_string);
            let judged = Listing::from_value(object)
                .map_err(|reason| format!("row {n}: {reason}"))
                .and_then(|l| {
                    checker
                        .check(&l)
                        .map_err(|e| format!("row {n} (listing '{}'): {e}", l.id))
                });
            match judged {
                Ok(res) if checker.keeps(&res) => {
                    let line = serde_json::to_string(&res).expect("results serialise");
                    Some(Row::Result(res, line))
                }
                Ok(_) => None,
                Err(error) => Some(Row::Bad { listing_id, error }),
            }
        })
        .collect();
    let rows: Vec<Row> = rows.into_iter().flatten().collect();
    if bad == BadRows::Fail
        && let Some(Row::Bad { error, .. }) = rows.iter().find(|r| matches!(r, Row::Bad { .. }))
    {
        return Err(Error::Invalid(error.clone()));
    }
    results_batch(&rows)
}

fn results_batch(rows: &[Row]) -> Result<RecordBatch> {
    let text = |f: &dyn Fn(&Row) -> Option<&str>| -> Arc<StringArray> {
        Arc::new(rows.iter().map(f).collect::<StringArray>())
    };
    let columns: Vec<arrow_array::ArrayRef> = vec![
        text(&|r| match r {
            Row::Result(res, _) => Some(res.listing_id.as_str()),
            Row::Bad { listing_id, .. } => listing_id.as_deref(),
        }),
        text(&|r| match r {
            Row::Result(res, _) => Some(res.decision.as_str()),
            Row::Bad { .. } => None,
        }),
        Arc::new(
            rows.iter()
                .map(|r| match r {
                    Row::Result(res, _) => Some(res.score),
                    Row::Bad { .. } => None,
                })
                .collect::<Float32Array>(),
        ),
        text(&|r| match r {
            Row::Result(res, _) => res.matches.first().map(|m| m.banned_id.as_str()),
            Row::Bad { .. } => None,
        }),
        text(&|r| match r {
            Row::Result(_, line) => Some(line.as_str()),
            Row::Bad { .. } => None,
        }),
        text(&|r| match r {
            Row::Result(res, _) => res.error.as_deref(),
            Row::Bad { error, .. } => Some(error.as_str()),
        }),
    ];
    RecordBatch::try_new(results_schema(), columns)
        .map_err(|e| Error::Invalid(format!("results batch: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;
    use crate::engine::Engine;
    use crate::model::BannedRecord;
    use crate::pipeline::stream::SweepOptions;
    use arrow_array::cast::AsArray;
    use arrow_array::{Array, ArrayRef, ListArray, types::Int32Type};
    use serde_json::json;

    fn engine() -> Engine {
        let r =
            BannedRecord::from_value(json!({"id": "B-1", "title": "VoltMax HB-2210X power bank",
                                                "brand": "VoltMax", "models": ["HB-2210X"]}))
            .unwrap()
            .record;
        Engine::in_memory(vec![r], Config::default()).unwrap()
    }

    fn batch(ids: &[Option<&str>], titles: &[Option<&str>]) -> RecordBatch {
        let models = ListArray::from_iter_primitive::<Int32Type, _, _>(
            ids.iter().map(|_| Some(Vec::<Option<i32>>::new())),
        );
        RecordBatch::try_from_iter(vec![
            ("id", Arc::new(StringArray::from(ids.to_vec())) as ArrayRef),
            (
                "title",
                Arc::new(StringArray::from(titles.to_vec())) as ArrayRef,
            ),
            (
                "price",
                Arc::new(Float32Array::from(vec![Some(9.5); ids.len()])) as ArrayRef,
            ),
            ("unused_list", Arc::new(models) as ArrayRef),
        ])
        .unwrap()
    }

    #[test]
    fn rows_are_checked_as_a_sweep_checks_them_and_bad_rows_named() {
        let e = engine();
        let checker = Checker::new(&e, &SweepOptions::default()).unwrap();
        let b = batch(
            &[Some("L-1"), Some("L-2"), Some("L-3")],
            &[Some("voltmax hb 2210x charger"), Some("garden hose"), None],
        );
        let out = sweep_batch(&checker, &b, 1, BadRows::Keep).unwrap();
        // The allowed garden hose is not written; the row without a title is, with its error.
        assert_eq!(out.num_rows(), 2);
        let col = |name: &str| out.column_by_name(name).unwrap().as_string::<i32>().clone();
        assert_eq!(col("listing_id").value(0), "L-1");
        assert_eq!(col("decision").value(0), "block");
        assert_eq!(col("banned_id").value(0), "B-1");
        let line = e
            .check(
                &Listing::from_value(json!({"id": "L-1", "title": "voltmax hb 2210x charger",
                                            "price": 9.5}))
                .unwrap(),
                crate::engine::CheckOptions::top(5),
            )
            .unwrap();
        assert_eq!(
            col("result").value(0),
            serde_json::to_string(&line).unwrap()
        );
        assert!(col("error").is_null(0));
        assert_eq!(col("listing_id").value(1), "L-3");
        assert!(col("decision").is_null(1));
        assert_eq!(
            col("error").value(1),
            "row 3: field `title` is missing or empty"
        );
        let e = sweep_batch(&checker, &b, 11, BadRows::Fail).unwrap_err();
        assert_eq!(e.to_string(), "row 13: field `title` is missing or empty");
    }

    #[test]
    fn nested_columns_are_read_as_a_sweep_reads_json() {
        // `image_hashes` as pyarrow and Spark read it from JSON: a list of structs.
        let d = "0f0f0f0f0f0f0f0f";
        let r = BannedRecord::from_value(json!({"id": "B-2", "title": "AquaBoil kettle",
            "image_hashes": [{"algo": "dhash", "hash": d}, {"algo": "phash", "hash": d}]}))
        .unwrap()
        .record;
        let e = Engine::in_memory(vec![r], Config::default()).unwrap();
        let checker = Checker::new(&e, &SweepOptions::default()).unwrap();
        use arrow_array::builder::{ListBuilder, StringBuilder, StructBuilder};
        let fields = vec![
            Field::new("algo", DataType::Utf8, true),
            Field::new("hash", DataType::Utf8, true),
        ];
        let mut list = ListBuilder::new(StructBuilder::from_fields(fields, 2));
        for algo in ["dhash", "phash"] {
            let s = list.values();
            s.field_builder::<StringBuilder>(0)
                .unwrap()
                .append_value(algo);
            s.field_builder::<StringBuilder>(1).unwrap().append_value(d);
            s.append(true);
        }
        list.append(true);
        let list = list.finish();
        let b = RecordBatch::try_from_iter(vec![
            ("id", Arc::new(StringArray::from(vec!["L"])) as ArrayRef),
            (
                "title",
                Arc::new(StringArray::from(vec!["cute bedroom decor"])) as ArrayRef,
            ),
            ("image_hashes", Arc::new(list) as ArrayRef),
        ])
        .unwrap();
        let out = sweep_batch(&checker, &b, 1, BadRows::Fail).unwrap();
        assert_eq!(out.num_rows(), 1);
        let banned = out.column_by_name("banned_id").unwrap().as_string::<i32>();
        assert_eq!(banned.value(0), "B-2");
    }

    #[test]
    fn all_keeps_every_result() {
        let e = engine();
        let opts = SweepOptions {
            all: true,
            ..SweepOptions::default()
        };
        let checker = Checker::new(&e, &opts).unwrap();
        let b = batch(
            &[Some("a"), Some("b")],
            &[Some("garden hose"), Some("kettle")],
        );
        let out = sweep_batch(&checker, &b, 1, BadRows::Fail).unwrap();
        assert_eq!(out.num_rows(), 2);
        assert_eq!(out.schema(), results_schema());
    }
}
