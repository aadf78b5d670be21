//! Python objects to the JSON values the library reads (listings, records, ids) and JSON values
//! back to Python objects, with the limits every other reader of relist applies: a listing
//! holds at most 4 MiB of text (a JSON Lines line's limit) nested at most 128 levels, checked
//! before anything is copied, and every refusal names the item and the field.

use std::path::PathBuf;

use pyo3::prelude::*;
use pyo3::types::{
    PyBool, PyDict, PyFloat, PyInt, PyList, PyMapping, PySequence, PyString, PyTuple,
};
use serde_json::{Map, Number, Value};

use crate::InputError;

/// Deepest nesting of a listing or record, as serde_json reads a line.
const MAX_DEPTH: usize = 128;
/// Most text in one listing or record: a JSON Lines line's limit.
const MAX_BYTES: usize = relist::feeds::MAX_LINE_BYTES;

/// A Python object's type name, for messages.
pub fn type_name(obj: &Bound<'_, PyAny>) -> String {
    obj.get_type()
        .name()
        .map(|n| n.to_string())
        .unwrap_or_else(|_| "an unknown type".into())
}

/// Where a value sits, for messages: `item 3: field `images[1]``.
struct Place<'a> {
    item: Option<usize>,
    field: &'a str,
}

impl Place<'_> {
    fn err(&self, what: impl std::fmt::Display) -> PyErr {
        let item = self.item.map_or(String::new(), |i| format!("item {i}: "));
        if self.field.is_empty() {
            InputError::new_err(format!("{item}{what}"))
        } else {
            InputError::new_err(format!("{item}field `{}`: {what}", self.field))
        }
    }
}

/// One listing (or record: `what`) object: a dict, or any mapping, with str keys. `item` is
/// its position in a batch, named in messages.
pub fn object_value(obj: &Bound<'_, PyAny>, item: Option<usize>, what: &str) -> PyResult<Value> {
    if !(obj.is_instance_of::<PyDict>() || obj.cast::<PyMapping>().is_ok()) {
        return Err(Place { item, field: "" }.err(format_args!(
            "expected a {what} object (a dict), got {}",
            type_name(obj)
        )));
    }
    let mut budget = MAX_BYTES;
    value(obj, &Place { item, field: "" }, 0, &mut budget)
}

/// [`object_value`] of a listing.
pub fn listing_value(obj: &Bound<'_, PyAny>, item: Option<usize>) -> PyResult<Value> {
    object_value(obj, item, "listing")
}

fn value(
    obj: &Bound<'_, PyAny>,
    at: &Place<'_>,
    depth: usize,
    budget: &mut usize,
) -> PyResult<Value> {
    if depth > MAX_DEPTH {
        return Err(at.err(format_args!("nested deeper than {MAX_DEPTH} levels")));
    }
    if obj.is_none() {
        return Ok(Value::Null);
    }
    if let Ok(s) = obj.cast::<PyString>() {
        let s = s.to_str()?;
        take(budget, s.len(), at)?;
        return Ok(Value::String(s.to_string()));
    }
    if let Ok(b) = obj.cast::<PyBool>() {
        return Ok(Value::Bool(b.is_true()));
    }
    if obj.is_instance_of::<PyInt>() {
        if let Ok(n) = obj.extract::<i64>() {
            return Ok(Value::from(n));
        }
        if let Ok(n) = obj.extract::<u64>() {
            return Ok(Value::from(n));
        }
        return Err(at.err("an integer too large for JSON (64 bits)"));
    }
    if let Ok(f) = obj.cast::<PyFloat>() {
        // NaN and the infinities have no JSON form; a data frame's NaN means "missing".
        return Ok(Number::from_f64(f.value()).map_or(Value::Null, Value::Number));
    }
    if let Ok(d) = obj.cast::<PyDict>() {
        return object(d.iter(), at, depth, budget);
    }
    if obj.is_instance_of::<PyList>() || obj.is_instance_of::<PyTuple>() {
        let seq = obj.cast::<PySequence>()?;
        let n = seq.len()?;
        let mut out = Vec::with_capacity(n.min(1024));
        for (i, x) in seq.try_iter()?.enumerate() {
            let field = format!("{}[{i}]", at.field);
            let inner = Place {
                item: at.item,
                field: &field,
            };
            out.push(value(&x?, &inner, depth + 1, budget)?);
        }
        return Ok(Value::Array(out));
    }
    if let Ok(m) = obj.cast::<PyMapping>() {
        let items = m.items()?;
        let pairs: Vec<(Bound<'_, PyAny>, Bound<'_, PyAny>)> = items
            .iter()
            .map(|kv| kv.extract())
            .collect::<PyResult<_>>()?;
        return object(pairs.into_iter(), at, depth, budget);
    }
    Err(at.err(format_args!(
        "expected a JSON value (str, int, float, bool, None, list or dict), got {}",
        type_name(obj)
    )))
}

fn object<'py>(
    pairs: impl Iterator<Item = (Bound<'py, PyAny>, Bound<'py, PyAny>)>,
    at: &Place<'_>,
    depth: usize,
    budget: &mut usize,
) -> PyResult<Value> {
    let mut o = Map::new();
    for (k, v) in pairs {
        let key = match k.cast::<PyString>() {
            Ok(s) => s.to_str()?.to_string(),
            Err(_) => {
                return Err(at.err(format_args!("keys must be str, got {}", type_name(&k))));
            }
        };
        take(budget, key.len(), at)?;
        let field = if at.field.is_empty() {
            key.clone()
        } else {
            format!("{}.{key}", at.field)
        };
        let inner = Place {
            item: at.item,
            field: &field,
        };
        let v = value(&v, &inner, depth + 1, budget)?;
        o.insert(key, v);
    }
    Ok(Value::Object(o))
}

fn take(budget: &mut usize, n: usize, at: &Place<'_>) -> PyResult<()> {
    match budget.checked_sub(n) {
        Some(left) => {
            *budget = left;
            Ok(())
        }
        None => {
            let item = at.item.map_or(String::new(), |i| format!("item {i}: "));
            Err(InputError::new_err(format!(
                "{item}more than {} MiB of text in one object (the limit of a JSON Lines line), \
                 at field `{}`",
                MAX_BYTES >> 20,
                at.field
            )))
        }
    }
}

/// A JSON document with its objects' keys in the order they were written: a result read back
/// from the JSON `relist check` prints, so that its dict lists `listing_id`, `decision`, `score`,
/// `matches` in that order, as the line does.
pub enum Json {
    Null,
    Bool(bool),
    Number(Number),
    String(String),
    Array(Vec<Json>),
    Object(Vec<(String, Json)>),
}

impl Json {
    /// What `x` serialises to, read back: each number the decimal the command line prints
    /// (a score of 0.923, not the f32 widened to 0.92299997…).
    pub fn printed<T: serde::Serialize>(x: &T) -> Json {
        let text = serde_json::to_string(x).expect("results serialise");
        serde_json::from_str(&text).expect("JSON reads back")
    }
}

impl<'de> serde::Deserialize<'de> for Json {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Json, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = Json;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("JSON")
            }
            fn visit_unit<E>(self) -> Result<Json, E> {
                Ok(Json::Null)
            }
            fn visit_bool<E>(self, b: bool) -> Result<Json, E> {
                Ok(Json::Bool(b))
            }
            fn visit_i64<E>(self, n: i64) -> Result<Json, E> {
                Ok(Json::Number(n.into()))
            }
            fn visit_u64<E>(self, n: u64) -> Result<Json, E> {
                Ok(Json::Number(n.into()))
            }
            fn visit_f64<E>(self, f: f64) -> Result<Json, E> {
                Ok(Number::from_f64(f).map_or(Json::Null, Json::Number))
            }
            fn visit_str<E>(self, s: &str) -> Result<Json, E> {
                Ok(Json::String(s.to_string()))
            }
            fn visit_string<E>(self, s: String) -> Result<Json, E> {
                Ok(Json::String(s))
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut a: A) -> Result<Json, A::Error> {
                let mut out = Vec::new();
                while let Some(x) = a.next_element()? {
                    out.push(x);
                }
                Ok(Json::Array(out))
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(self, mut a: A) -> Result<Json, A::Error> {
                let mut out = Vec::new();
                while let Some(kv) = a.next_entry()? {
                    out.push(kv);
                }
                Ok(Json::Object(out))
            }
        }
        d.deserialize_any(V)
    }
}

/// A JSON document as Python objects: dicts, lists, str, int, float, bool and None.
pub fn to_py<'py>(py: Python<'py>, v: &Json) -> PyResult<Bound<'py, PyAny>> {
    Ok(match v {
        Json::Null => py.None().into_bound(py),
        Json::Bool(b) => PyBool::new(py, *b).to_owned().into_any(),
        Json::Number(n) => {
            if let Some(i) = n.as_i64() {
                i.into_pyobject(py)?.into_any()
            } else if let Some(u) = n.as_u64() {
                u.into_pyobject(py)?.into_any()
            } else {
                PyFloat::new(py, n.as_f64().unwrap_or(f64::NAN)).into_any()
            }
        }
        Json::String(s) => PyString::new(py, s).into_any(),
        Json::Array(items) => {
            let list = PyList::empty(py);
            for x in items {
                list.append(to_py(py, x)?)?;
            }
            list.into_any()
        }
        Json::Object(o) => {
            let d = PyDict::new(py);
            for (k, x) in o {
                d.set_item(PyString::new(py, k), to_py(py, x)?)?;
            }
            d.into_any()
        }
    })
}

/// `banned_since`: Unix seconds (int), a time as `relist sweep --banned-since` reads it (str),
/// or a `datetime` (its timestamp).
pub fn since(obj: &Bound<'_, PyAny>) -> PyResult<u64> {
    let bad = |why: String| InputError::new_err(format!("banned_since: {why}"));
    if obj.is_instance_of::<PyBool>() {
        return Err(bad(
            "expected Unix seconds, a date or a datetime, got bool".into()
        ));
    }
    if obj.is_instance_of::<PyInt>() {
        return obj
            .extract::<u64>()
            .map_err(|_| bad("Unix seconds must be 0 or more".into()));
    }
    if let Ok(s) = obj.cast::<PyString>() {
        return relist::dates::unix_seconds(s.to_str()?).map_err(bad);
    }
    if obj.hasattr("timestamp")? {
        let t: f64 = obj.call_method0("timestamp")?.extract()?;
        if t.is_finite() && t >= 0.0 {
            return Ok(t as u64);
        }
        return Err(bad(format!("{t} is before 1970")));
    }
    Err(bad(format!(
        "expected Unix seconds (int), a date (str) or a datetime, got {}",
        type_name(obj)
    )))
}

/// What `ingest` was given: files to read, or records.
pub enum Records {
    Files(Vec<PathBuf>),
    Values(Vec<Value>),
}

fn is_path(obj: &Bound<'_, PyAny>) -> bool {
    obj.is_instance_of::<PyString>() || obj.hasattr("__fspath__").unwrap_or(false)
}

/// `ingest`'s argument: a path, a list of paths, or an iterable of record dicts.
pub fn records_arg(obj: &Bound<'_, PyAny>) -> PyResult<Records> {
    if is_path(obj) {
        return Ok(Records::Files(vec![obj.extract()?]));
    }
    if obj.is_instance_of::<PyDict>() {
        return Err(InputError::new_err(
            "records: expected an iterable of record dicts or paths, got one dict (wrap it in a list)",
        ));
    }
    let items = obj.try_iter().map_err(|_| {
        InputError::new_err(format!(
            "records: expected an iterable of record dicts, a path or a list of paths, got {}",
            type_name(obj)
        ))
    })?;
    let items: Vec<Bound<'_, PyAny>> = items.collect::<PyResult<_>>()?;
    if !items.is_empty() && items.iter().all(is_path) {
        return items
            .iter()
            .map(|p| p.extract::<PathBuf>())
            .collect::<PyResult<_>>()
            .map(Records::Files);
    }
    items
        .iter()
        .enumerate()
        .map(|(i, r)| {
            if is_path(r) {
                return Err(InputError::new_err(format!(
                    "item {i}: a path among records (give only paths, or only record dicts)"
                )));
            }
            object_value(r, Some(i), "record")
        })
        .collect::<PyResult<_>>()
        .map(Records::Values)
}

/// `remove`'s argument: one id, or an iterable of ids.
pub fn ids_arg(obj: &Bound<'_, PyAny>) -> PyResult<Vec<String>> {
    if let Ok(s) = obj.cast::<PyString>() {
        return Ok(vec![s.to_str()?.to_string()]);
    }
    let bad = || {
        InputError::new_err(format!(
            "ids: expected an id (str) or an iterable of ids, got {}",
            type_name(obj)
        ))
    };
    let ids: Vec<String> = obj
        .try_iter()
        .map_err(|_| bad())?
        .enumerate()
        .map(|(i, x)| {
            let x = x?;
            x.extract::<String>().map_err(|_| {
                InputError::new_err(format!("ids[{i}]: expected a str, got {}", type_name(&x)))
            })
        })
        .collect::<PyResult<_>>()?;
    if ids.is_empty() {
        return Err(InputError::new_err("ids: no id given"));
    }
    Ok(ids)
}
