//! The tantivy schema: retrieval fields built from the prepared record, plus the record itself.

use tantivy::schema::{FAST, Field, INDEXED};
use tantivy::schema::{IndexRecordOption, STORED, STRING, Schema, TextFieldIndexing, TextOptions};

/// Handles to the schema's fields.
#[derive(Clone, Copy, Debug)]
pub struct Fields {
    pub id: Field,
    pub kind: Field,
    pub source: Field,
    pub jurisdiction: Field,
    /// Leet-keyed words of title and brand (BM25).
    pub words: Field,
    /// Character n-grams of title (BM25).
    pub grams: Field,
    /// Model-number keys and GTIN-14s.
    pub ids: Field,
    /// The banned record as JSON.
    pub record: Field,
    /// Unix seconds of the ingest that wrote the record (incremental sweeps).
    pub added: Field,
    /// "1" on products with photo hashes: the records the photo index is built from.
    pub photo: Field,
}

impl Fields {
    pub fn schema() -> (Schema, Fields) {
        let mut b = Schema::builder();
        // Tokens are made by `normalize`; tantivy only splits them on spaces.
        let tokens = |opt: IndexRecordOption| {
            TextOptions::default().set_indexing_options(
                TextFieldIndexing::default()
                    .set_tokenizer("whitespace")
                    .set_index_option(opt),
            )
        };
        let fields = Fields {
            id: b.add_text_field("id", STRING | STORED),
            kind: b.add_text_field("kind", STRING),
            source: b.add_text_field("source", STRING),
            jurisdiction: b.add_text_field("jurisdiction", STRING),
            words: b.add_text_field("words", tokens(IndexRecordOption::WithFreqs)),
            grams: b.add_text_field("grams", tokens(IndexRecordOption::WithFreqs)),
            ids: b.add_text_field("ids", tokens(IndexRecordOption::Basic)),
            record: b.add_text_field("record", STORED),
            added: b.add_u64_field("added", INDEXED | FAST),
            photo: b.add_text_field("photo", STRING),
        };
        (b.build(), fields)
    }

    pub fn from_schema(schema: &Schema) -> tantivy::Result<Fields> {
        let f = |name: &str| schema.get_field(name);
        Ok(Fields {
            id: f("id")?,
            kind: f("kind")?,
            source: f("source")?,
            jurisdiction: f("jurisdiction")?,
            words: f("words")?,
            grams: f("grams")?,
            ids: f("ids")?,
            record: f("record")?,
            added: f("added")?,
            photo: f("photo")?,
        })
    }
}
