//! Listing photos sent with a check: inline base64 in the listing JSON or multipart parts,
//! limited in number and bytes, decoded with `imghash`'s bounded decoder and hashed in their 8
//! rotations and flips. Photos are bytes in the request, never an address: the server fetches
//! nothing a caller names.

use axum::extract::Multipart;
use axum::extract::multipart::Field;
use base64::Engine as _;
use serde_json::{Map, Value};

use super::error::ApiError;
use super::state::ServerConfig;
use crate::engine::{CheckOptions, Engine};
use crate::model::{CheckResult, Listing};
use crate::pipeline::photos::{PhotoHasher, QueryPhotos};

/// A photo as received, before decoding.
pub struct Photo {
    /// The part's file name or the inline `name`; only for messages.
    pub name: String,
    pub bytes: Vec<u8>,
    /// Bytes it took in the request (its base64 when inline).
    pub sent_bytes: usize,
}

/// An inline photo in a listing: `{"name": "front.jpg", "data": "<base64>"}` (for the
/// OpenAPI document; parsing is [`take_inline`]'s).
#[derive(serde::Deserialize, utoipa::ToSchema)]
#[allow(dead_code)]
pub struct InlinePhoto {
    /// Shown in error messages only.
    name: Option<String>,
    /// The image file (JPEG, PNG, GIF, WebP or BMP) in standard base64; a `data:` URL prefix
    /// is allowed.
    data: String,
}

/// A listing for `POST /v1/check`: a listing record, and its photos inline.
#[derive(serde::Deserialize, utoipa::ToSchema)]
#[allow(dead_code)]
pub struct CheckRequest {
    #[serde(flatten)]
    listing: Listing,
    /// At most `--max-photos`, each at most `--max-photo-bytes` once decoded from base64.
    #[serde(default)]
    photos: Vec<InlinePhoto>,
}

/// `POST /v1/check` as `multipart/form-data`.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
pub struct CheckForm {
    /// The listing record, JSON.
    listing: String,
    /// Photo files, one part each, in order (`photo` parts; any part with a file name).
    #[schema(value_type = Vec<String>, format = Binary)]
    photo: Vec<Vec<u8>>,
}

fn too_many(cfg: &ServerConfig) -> ApiError {
    ApiError::PayloadTooLarge(format!(
        "more than {} photos in one listing",
        cfg.max_photos
    ))
}

fn too_big(label: &str, bytes: usize, cfg: &ServerConfig) -> ApiError {
    ApiError::PayloadTooLarge(format!(
        "{label}: {bytes} bytes, over the limit of {} per photo",
        cfg.max_photo_bytes
    ))
}

/// Takes the `photos` field out of a listing object (so its base64 is not kept as an unknown
/// field) and decodes it. `already` photos came in other parts of the same request.
pub fn take_inline(
    obj: &mut Map<String, Value>,
    cfg: &ServerConfig,
    already: usize,
) -> Result<Vec<Photo>, ApiError> {
    let items = match obj.remove("photos") {
        None | Some(Value::Null) => return Ok(Vec::new()),
        Some(Value::Array(items)) => items,
        Some(_) => {
            return Err(ApiError::InvalidRecord(
                "field `photos`: expected a list of {\"name\", \"data\"} objects".into(),
                Vec::new(),
            ));
        }
    };
    if already + items.len() > cfg.max_photos {
        return Err(too_many(cfg));
    }
    let mut out = Vec::with_capacity(items.len());
    for (i, item) in items.into_iter().enumerate() {
        let label = format!("photos[{i}]");
        let (name, data) = match item {
            Value::Object(mut o) => {
                let name = match o.remove("name") {
                    Some(Value::String(s)) => s,
                    _ => format!("photo {}", already + i + 1),
                };
                match o.remove("data") {
                    Some(Value::String(d)) => (name, d),
                    _ => {
                        return Err(ApiError::InvalidRecord(
                            format!("field `{label}.data`: expected a base64 string"),
                            Vec::new(),
                        ));
                    }
                }
            }
            _ => {
                return Err(ApiError::InvalidRecord(
                    format!("field `{label}`: expected an object {{\"name\", \"data\"}}"),
                    Vec::new(),
                ));
            }
        };
        out.push(Photo {
            bytes: decode_base64(&data, &format!("{label} ({name})"), cfg)?,
            name,
            sent_bytes: data.len(),
        });
    }
    Ok(out)
}

/// Standard base64, padded or not, wrapped or not, with or without a `data:...;base64,` prefix.
fn decode_base64(data: &str, label: &str, cfg: &ServerConfig) -> Result<Vec<u8>, ApiError> {
    let data = match data.strip_prefix("data:") {
        Some(rest) => match rest.split_once(',') {
            Some((meta, payload)) if meta.ends_with(";base64") => payload,
            _ => {
                return Err(ApiError::InvalidImage(format!(
                    "{label}: a data: URL must be base64 (data:image/jpeg;base64,...)"
                )));
            }
        },
        None => data,
    };
    // Refused by its length before anything is decoded: 4 base64 characters per 3 bytes.
    let approx = data.len() / 4 * 3;
    if approx > cfg.max_photo_bytes + 3 {
        return Err(too_big(label, approx, cfg));
    }
    let compact: Vec<u8> = data.bytes().filter(|b| !b.is_ascii_whitespace()).collect();
    let engine = base64::engine::GeneralPurpose::new(
        &base64::alphabet::STANDARD,
        base64::engine::GeneralPurposeConfig::new()
            .with_decode_padding_mode(base64::engine::DecodePaddingMode::Indifferent),
    );
    let bytes = engine
        .decode(&compact)
        .map_err(|e| ApiError::InvalidImage(format!("{label}: not valid base64 ({e})")))?;
    if bytes.len() > cfg.max_photo_bytes {
        return Err(too_big(label, bytes.len(), cfg));
    }
    Ok(bytes)
}

/// Reads one part whole, refusing it past `limit` bytes without reading further.
async fn read_part(
    mut field: Field<'_>,
    limit: usize,
    over: impl Fn(usize) -> ApiError,
) -> Result<Vec<u8>, ApiError> {
    let mut out = Vec::new();
    while let Some(chunk) = field.chunk().await? {
        if out.len() + chunk.len() > limit {
            return Err(over(out.len() + chunk.len()));
        }
        out.extend_from_slice(&chunk);
    }
    Ok(out)
}

/// A multipart check: one `listing` part (JSON) and photo parts (`photo`, or any part with a
/// file name), in order.
pub async fn read_multipart(
    mut form: Multipart,
    cfg: &ServerConfig,
) -> Result<(Value, Vec<Photo>), ApiError> {
    let mut listing = None;
    let mut photos = Vec::new();
    while let Some(field) = form.next_field().await? {
        let part = field.name().unwrap_or_default().to_string();
        let file = field.file_name().map(str::to_string);
        if part == "listing" && listing.is_none() {
            let limit = cfg.max_body_bytes;
            let bytes = read_part(field, limit, |n| {
                ApiError::PayloadTooLarge(format!(
                    "part `listing`: over {n} bytes, the limit is {limit}"
                ))
            })
            .await?;
            listing =
                Some(serde_json::from_slice::<Value>(&bytes).map_err(|e| {
                    ApiError::BadRequest(format!("part `listing`: invalid JSON: {e}"))
                })?);
        } else if matches!(part.as_str(), "photo" | "photos" | "photo[]") || file.is_some() {
            if photos.len() == cfg.max_photos {
                return Err(too_many(cfg));
            }
            let name = file.unwrap_or_else(|| format!("photo {}", photos.len() + 1));
            let label = format!("part `{part}` ({name})");
            let bytes = read_part(field, cfg.max_photo_bytes, |n| too_big(&label, n, cfg)).await?;
            photos.push(Photo {
                name,
                sent_bytes: bytes.len(),
                bytes,
            });
        } else {
            return Err(ApiError::BadRequest(format!(
                "unexpected part `{part}`: send one `listing` part (JSON) and `photo` parts"
            )));
        }
    }
    let listing = listing.ok_or_else(|| {
        ApiError::BadRequest("no `listing` part: send the listing JSON in a part so named".into())
    })?;
    Ok((listing, photos))
}

/// A photo's hashes in its 8 rotations and flips, from its bytes (nothing for a photo too flat
/// to be evidence), through the photo pipeline.
fn hash_photo(
    hasher: &PhotoHasher,
    bytes: &[u8],
    label: &str,
    n: usize,
    out: &mut QueryPhotos,
) -> crate::Result<()> {
    crate::pipeline::photos::add_upload(hasher, bytes, label, n, out)
}

/// Checks a listing with its photos as extra evidence; a photo that cannot be decoded fails
/// the check (`invalid_image`) rather than being judged without it. The listing's own photo
/// evidence is its `image_hashes` only: the server never reads a path a caller names.
pub fn check_with_photos(
    engine: &Engine,
    listing: &Listing,
    photos: &[Photo],
    opts: CheckOptions,
) -> Result<CheckResult, ApiError> {
    let hashed = resolve(listing, photos)?;
    Ok(engine.check_with_photos(listing, hashed, opts)?)
}

/// A listing's photo evidence: its `image_hashes`, then the photos sent with it, hashed; a
/// photo that cannot be decoded is `invalid_image`.
pub fn resolve(listing: &Listing, photos: &[Photo]) -> Result<QueryPhotos, ApiError> {
    let mut hashed = QueryPhotos::from_hashes(&listing.image_hashes);
    // Numbered after the listing's precomputed hashes, for the reasons' "photo N".
    let first = hashed.next_number();
    let hasher = PhotoHasher::new();
    for (i, p) in photos.iter().enumerate() {
        let label = format!("photo {} ({})", i + 1, p.name);
        match hash_photo(&hasher, &p.bytes, &label, first + i, &mut hashed) {
            Ok(()) => {}
            Err(crate::Error::Image { path, reason }) => {
                return Err(ApiError::InvalidImage(format!(
                    "{}: {reason}",
                    path.display()
                )));
            }
            Err(e) => return Err(e.into()),
        }
    }
    Ok(hashed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn cfg() -> ServerConfig {
        ServerConfig {
            max_photos: 2,
            max_photo_bytes: 8,
            ..ServerConfig::default()
        }
    }

    fn take(v: Value) -> Result<Vec<Photo>, ApiError> {
        let Value::Object(mut o) = v else { panic!() };
        let out = take_inline(&mut o, &cfg(), 0);
        assert!(!o.contains_key("photos"));
        out
    }

    #[test]
    fn inline_photos_decode_in_every_spelling() {
        let p =
            take(json!({"photos": [{"name": "a.jpg", "data": "aGVsbG8="}, {"data": "aGVs\nbG8"}]}))
                .unwrap();
        assert_eq!(
            (p[0].name.as_str(), p[0].bytes.as_slice()),
            ("a.jpg", &b"hello"[..])
        );
        assert_eq!(
            (p[1].name.as_str(), p[1].bytes.as_slice()),
            ("photo 2", &b"hello"[..])
        );
        let p = take(json!({"photos": [{"data": "data:image/png;base64,aGVsbG8="}]})).unwrap();
        assert_eq!(p[0].bytes, b"hello");
        assert!(take(json!({})).unwrap().is_empty());
    }

    #[test]
    fn inline_photos_over_their_limits_or_malformed_are_refused() {
        let code = |v: Value| take(v).err().map(|e| e.status_and_code().1);
        let three = json!({"photos": [{"data": "YQ=="}, {"data": "YQ=="}, {"data": "YQ=="}]});
        assert_eq!(code(three), Some("payload_too_large"));
        // 12 bytes decoded, over 8: refused by length before decoding.
        let big = json!({"photos": [{"data": "aGVsbG8gd29ybGQh"}]});
        assert_eq!(code(big), Some("payload_too_large"));
        assert_eq!(
            code(json!({"photos": [{"data": "%%%%"}]})),
            Some("invalid_image")
        );
        assert_eq!(
            code(json!({"photos": [{"data": "data:text/plain,hello"}]})),
            Some("invalid_image")
        );
        assert_eq!(code(json!({"photos": "x"})), Some("invalid_record"));
        assert_eq!(
            code(json!({"photos": [{"name": "x"}]})),
            Some("invalid_record")
        );
        assert_eq!(
            code(json!({"photos": ["aGVsbG8="]})),
            Some("invalid_record")
        );
    }
}
