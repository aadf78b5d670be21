//! Parquet catalogs: each row becomes a record object, columns by field name.

use std::fs::File;
use std::path::Path;

use arrow_array::cast::AsArray;
use arrow_array::{Array, RecordBatch};
use arrow_schema::DataType;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use serde_json::{Map, Value};

use crate::error::{Error, Result};

/// Rows read at once: bounds memory whatever the file's size.
const BATCH_ROWS: usize = 4096;

/// One cell as JSON: strings, numbers, booleans, and lists and structs of those; other types are
/// left out.
fn cell(col: &dyn Array, row: usize) -> Option<Value> {
    if col.is_null(row) {
        return None;
    }
    use arrow_array::types::*;
    Some(match col.data_type() {
        DataType::Utf8 => Value::from(col.as_string::<i32>().value(row)),
        DataType::LargeUtf8 => Value::from(col.as_string::<i64>().value(row)),
        DataType::Utf8View => Value::from(col.as_string_view().value(row)),
        DataType::Boolean => Value::from(col.as_boolean().value(row)),
        DataType::Int8 => Value::from(col.as_primitive::<Int8Type>().value(row)),
        DataType::Int16 => Value::from(col.as_primitive::<Int16Type>().value(row)),
        DataType::Int32 => Value::from(col.as_primitive::<Int32Type>().value(row)),
        DataType::Int64 => Value::from(col.as_primitive::<Int64Type>().value(row)),
        DataType::UInt8 => Value::from(col.as_primitive::<UInt8Type>().value(row)),
        DataType::UInt16 => Value::from(col.as_primitive::<UInt16Type>().value(row)),
        DataType::UInt32 => Value::from(col.as_primitive::<UInt32Type>().value(row)),
        DataType::UInt64 => Value::from(col.as_primitive::<UInt64Type>().value(row)),
        DataType::Float32 => Value::from(col.as_primitive::<Float32Type>().value(row) as f64),
        DataType::Float64 => Value::from(col.as_primitive::<Float64Type>().value(row)),
        DataType::List(_) => {
            let list = col.as_list::<i32>().value(row);
            Value::Array(
                (0..list.len())
                    .filter_map(|i| cell(list.as_ref(), i))
                    .collect(),
            )
        }
        DataType::LargeList(_) => {
            let list = col.as_list::<i64>().value(row);
            Value::Array(
                (0..list.len())
                    .filter_map(|i| cell(list.as_ref(), i))
                    .collect(),
            )
        }
        // Nested records (`image_hashes: [{algo, hash}]`), as Spark and pyarrow read JSON.
        DataType::Struct(fields) => {
            let s = col.as_struct();
            let mut o = Map::new();
            for (i, f) in fields.iter().enumerate() {
                if let Some(v) = cell(s.column(i).as_ref(), row) {
                    o.insert(f.name().clone(), v);
                }
            }
            Value::Object(o)
        }
        _ => return None,
    })
}

fn objects(batch: &RecordBatch) -> Vec<Value> {
    (0..batch.num_rows())
        .map(|row| row_object(batch, row))
        .collect()
}

/// One row of a record batch as a record object, columns by field name (null cells and columns
/// of other types left out): what a Parquet catalog's rows become, and Arrow data a caller
/// holds ([`crate::pipeline::arrow`]).
pub fn row_object(batch: &RecordBatch, row: usize) -> Value {
    let schema = batch.schema_ref();
    let mut o = Map::new();
    for (i, field) in schema.fields().iter().enumerate() {
        if let Some(v) = cell(batch.column(i).as_ref(), row) {
            o.insert(field.name().clone(), v);
        }
    }
    Value::Object(o)
}

/// Runs a step of the Parquet reader, turning a panic into an error naming the file. The
/// parquet crate panics on some malformed metadata (found by fuzzing: "column start and length
/// should not be negative"), and one bad file must not take the whole command down.
fn guarded<T>(path: &Path, step: impl FnOnce() -> Result<T>) -> Result<T> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(step)).unwrap_or_else(|_| {
        Err(Error::Invalid(format!(
            "{}: Parquet: corrupt file (the reader failed on its metadata or data)",
            path.display()
        )))
    })
}

/// Longest the Parquet reader may go without producing a batch (or an error). The parquet
/// crate skips unknown Thrift fields element by element, and a footer of a few KiB can declare
/// nested lists of billions of zero-byte elements (found by fuzzing: 2 KiB, one CPU-second;
/// nesting multiplies the declared counts). Such a file is refused instead of hanging the command.
const STEP_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

/// Calls `each(row, object)` for every row (rows numbered from 1, reported as lines).
pub fn read(path: &Path, each: impl FnMut(u64, Result<Value, String>)) -> Result<()> {
    read_within(path, STEP_TIMEOUT, each)
}

/// [`read`] with the reader on its own thread, so that a step that never ends can be given up:
/// the command then fails with an error naming the file, and the thread ends with the process.
fn read_within(
    path: &Path,
    step_timeout: std::time::Duration,
    mut each: impl FnMut(u64, Result<Value, String>),
) -> Result<()> {
    use std::sync::mpsc::{RecvTimeoutError, sync_channel};
    if path.as_os_str() == "-" {
        return Err(Error::Invalid(
            "Parquet needs a file, not stdin (its index is at the end)".into(),
        ));
    }
    let f = File::open(path).map_err(|e| Error::io(path, e))?;
    // One batch in flight at a time: memory stays bounded by BATCH_ROWS.
    let (tx, rx) = sync_channel::<Result<Vec<Value>>>(1);
    let owned = path.to_path_buf();
    std::thread::spawn(move || {
        let path = owned.as_path();
        let bad =
            |e: &dyn std::fmt::Display| Error::Invalid(format!("{}: Parquet: {e}", path.display()));
        let reader = guarded(path, || {
            ParquetRecordBatchReaderBuilder::try_new(f)
                .map_err(|e| bad(&e))?
                .with_batch_size(BATCH_ROWS)
                .build()
                .map_err(|e| bad(&e))
        });
        let mut reader = match reader {
            Ok(r) => r,
            Err(e) => {
                let _ = tx.send(Err(e));
                return;
            }
        };
        loop {
            let step = guarded(path, || Ok(reader.next())).and_then(|b| match b {
                None => Ok(None),
                Some(Err(e)) => Err(bad(&e)),
                Some(Ok(batch)) => guarded(path, || Ok(objects(&batch))).map(Some),
            });
            let done = !matches!(step, Ok(Some(_)));
            match step {
                Ok(None) => return,
                Ok(Some(objs)) => {
                    if tx.send(Ok(objs)).is_err() {
                        return;
                    }
                }
                Err(e) => {
                    let _ = tx.send(Err(e));
                }
            }
            if done {
                return;
            }
        }
    });
    let mut row = 0u64;
    loop {
        match rx.recv_timeout(step_timeout) {
            Ok(Ok(objs)) => {
                for obj in objs {
                    row += 1;
                    each(row, Ok(obj));
                }
            }
            Ok(Err(e)) => return Err(e),
            Err(RecvTimeoutError::Disconnected) => return Ok(()),
            Err(RecvTimeoutError::Timeout) => {
                return Err(Error::Invalid(format!(
                    "{}: Parquet: the reader made no progress in {} s (a corrupt or hostile \
                     file); not read",
                    path.display(),
                    step_timeout.as_secs_f64()
                )));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// fuzz/artifacts/ingest_auto/crash-dafa4da8…: metadata with a negative column start made
    /// the parquet crate panic.
    #[test]
    fn a_corrupt_file_is_an_error_naming_it_not_a_panic() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("bad.parquet");
        std::fs::write(
            &p,
            include_bytes!(
                "../../fuzz/corpus/ingest_parquet/regression-negative-column-start.parquet"
            ),
        )
        .unwrap();
        let e = read(&p, |_, _| {}).unwrap_err().to_string();
        assert!(e.contains("bad.parquet: Parquet"), "{e}");
    }

    /// fuzz/artifacts/ingest_parquet/slow-unit-0f0e651c…: 2 KiB whose footer makes the parquet
    /// crate skip billions of zero-byte Thrift elements (a CPU-second here; nesting multiplies
    /// the counts). With a step timeout, the read gives up with an error naming the file.
    #[test]
    fn a_footer_that_never_ends_is_given_up() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("slow.parquet");
        std::fs::write(
            &p,
            include_bytes!("../../fuzz/corpus/ingest_parquet/regression-slow-thrift-skip.parquet"),
        )
        .unwrap();
        let started = std::time::Instant::now();
        let e = read_within(&p, std::time::Duration::from_millis(20), |_, _| {})
            .unwrap_err()
            .to_string();
        assert!(started.elapsed() < std::time::Duration::from_millis(500));
        assert!(
            e.contains("slow.parquet: Parquet: the reader made no progress"),
            "{e}"
        );
    }
}
