//! Publishing a JSON Schema generated from a Rust type: the one way every
//! generated contract in `schemas/` is written.

/// The pretty-printed JSON Schema (draft 2020-12) of `T`, with its `$id`
/// (`https://cavra.example/schemas/<file>`) and title, ending in a newline.
///
/// ```
/// #[derive(schemars::JsonSchema)]
/// #[allow(dead_code)]
/// struct Point { x: i64 }
/// let text = cavra_model::schema::publish::<Point>("point.v1.schema.json", "cavra.point.v1");
/// assert!(text.contains("\"$id\": \"https://cavra.example/schemas/point.v1.schema.json\""));
/// ```
pub fn publish<T: schemars::JsonSchema>(file: &str, title: &str) -> String {
    let mut schema = schemars::schema_for!(T);
    schema.insert("$id".into(), format!("https://cavra.example/schemas/{file}").into());
    schema.insert("title".into(), title.into());
    let mut text = serde_json::to_string_pretty(&schema).unwrap_or_default();
    text.push('\n');
    text
}
