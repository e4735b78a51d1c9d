//! What a report may contain: the v1 schema, plus the one rule the schema
//! cannot say, enforced at ingest the same whatever the database.
//!
//! reports/report.schema.json is the contract probes, scripts and this
//! server share; it is compiled into the binary and every uploaded report
//! is checked against it ([`check`]), so the server accepts exactly what the
//! schema accepts (port 0, a `report_id` that is not a UUID, an unknown
//! property, a time with an offset other than `Z` are refused), and a test
//! feeds the same documents to both. On top of it, no text of a report may
//! hold a NUL character ([`find_nul`]): PostgreSQL cannot store one and
//! SQLite can, and a report must not be storable on one database only.
//!
//! Offending fields are named as the API names them: `results[0].port`,
//! `reports[3].probe.merchant` ([`join_field`]).

use std::sync::LazyLock;

use jsonschema::error::ValidationErrorKind;
use jsonschema::paths::LocationSegment;
use serde_json::Value;

/// The v1 schema, as published in reports/.
const SCHEMA_JSON: &str = include_str!("../../../reports/report.schema.json");

/// The compiled schema, or why it does not compile (a build defect, caught
/// by this module's tests).
static VALIDATOR: LazyLock<Result<jsonschema::Validator, String>> = LazyLock::new(|| {
    let schema: Value = serde_json::from_str(SCHEMA_JSON).map_err(|e| e.to_string())?;
    jsonschema::draft202012::options()
        .should_validate_formats(true)
        .build(&schema)
        .map_err(|e| e.to_string())
});

/// A field that breaks the contract, and what is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    /// The field, with the caller's prefix (`reports[2].`).
    pub field: String,
    /// What is wrong, in the schema's words.
    pub message: String,
}

/// One step of a field path.
pub enum FieldStep<'a> {
    /// A property of an object.
    Key(&'a str),
    /// An item of an array.
    Index(usize),
}

/// `prefix` followed by one step: `.name` (no dot at the start or after a
/// prefix ending in `.`) or `[i]`, the spelling of `field` in errors.
pub fn join_field(prefix: &str, step: FieldStep<'_>) -> String {
    match step {
        FieldStep::Key(k) if prefix.is_empty() || prefix.ends_with('.') => format!("{prefix}{k}"),
        FieldStep::Key(k) => format!("{prefix}.{k}"),
        FieldStep::Index(i) => format!("{}[{i}]", prefix.trim_end_matches('.')),
    }
}

/// Checks `report` against reports/report.schema.json: `Ok(None)` when it
/// follows it, the first violation otherwise (fields named under `prefix`);
/// `Err` only when the compiled-in schema is broken.
pub fn check(prefix: &str, report: &Value) -> Result<Option<Violation>, String> {
    let validator = VALIDATOR.as_ref().map_err(|e| {
        format!("the built-in report schema does not compile ({e}); this build is broken")
    })?;
    // `is_valid` stops at the first failure and builds no error: the
    // errors are collected only for a report that breaks the contract.
    if validator.is_valid(report) {
        return Ok(None);
    }
    let Some(e) = validator.iter_errors(report).next() else {
        return Ok(None);
    };
    let mut field = prefix.to_string();
    for segment in e.instance_path().segments() {
        field = match segment {
            LocationSegment::Property(k) => join_field(&field, FieldStep::Key(&k)),
            LocationSegment::Index(i) => join_field(&field, FieldStep::Index(i)),
        };
    }
    // A missing or unexpected property: name it, not its object.
    let named = match e.kind() {
        ValidationErrorKind::AdditionalProperties { unexpected } => unexpected.first().cloned(),
        ValidationErrorKind::Required { property } => property.as_str().map(String::from),
        _ => None,
    };
    if let Some(name) = named {
        field = join_field(&field, FieldStep::Key(&name));
    }
    let field = field.trim_end_matches('.').to_string();
    Ok(Some(Violation {
        message: format!(
            "{e} (at {}); the report must follow {} (reports/report.schema.json)",
            if field.is_empty() { "the top" } else { &field },
            stca2_report::SCHEMA
        ),
        field,
    }))
}

/// The first field (key or text) of `v` that holds a NUL character, named
/// under `prefix`; `text` must be `v` as JSON (parsed from it or written
/// from it: `Value::to_string`).
///
/// JSON can carry a NUL only as the escape `\u0000` (a raw control
/// character in a string is not JSON), so a text without that escape holds
/// none and `v` is not walked; names are built only when there is one:
/// every upload passes here, and almost none holds a NUL.
pub fn find_nul(text: &str, v: &Value, prefix: &str) -> Option<String> {
    if !text.contains("\\u0000") {
        return None;
    }
    holds_nul(v).then(|| named_nul(v, prefix)).flatten()
}

fn holds_nul(v: &Value) -> bool {
    match v {
        Value::String(s) => s.contains('\0'),
        Value::Array(items) => items.iter().any(holds_nul),
        Value::Object(m) => m
            .iter()
            .any(|(k, item)| k.contains('\0') || holds_nul(item)),
        _ => false,
    }
}

fn named_nul(v: &Value, prefix: &str) -> Option<String> {
    match v {
        Value::String(s) if s.contains('\0') => Some(prefix.trim_end_matches('.').to_string()),
        Value::Array(items) => items
            .iter()
            .enumerate()
            .find_map(|(i, item)| named_nul(item, &join_field(prefix, FieldStep::Index(i)))),
        Value::Object(m) => m.iter().find_map(|(k, item)| {
            let field = join_field(prefix, FieldStep::Key(k));
            if k.contains('\0') {
                Some(field)
            } else {
                named_nul(item, &field)
            }
        }),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn example() -> Value {
        let text = include_str!("../../../reports/example-report.json");
        serde_json::from_str(text).unwrap()
    }

    #[test]
    fn the_built_in_schema_compiles_and_takes_the_example() {
        assert_eq!(check("", &example()), Ok(None));
    }

    #[test]
    fn violations_name_the_field() {
        let mut r = example();
        r["results"][0]["port"] = json!(0);
        let v = check("reports[2].", &r).unwrap().unwrap();
        assert_eq!(v.field, "reports[2].results[0].port", "{v:?}");
        let mut r = example();
        r["probe"]["extra"] = json!(1);
        assert_eq!(check("", &r).unwrap().unwrap().field, "probe.extra");
        let mut r = example();
        r["probe"].as_object_mut().unwrap().remove("id");
        assert_eq!(check("", &r).unwrap().unwrap().field, "probe.id");
        let mut r = example();
        r["surprise"] = json!(true);
        assert_eq!(
            check("reports[0].", &r).unwrap().unwrap().field,
            "reports[0].surprise"
        );
    }

    #[test]
    fn nul_characters_are_found_in_keys_and_text() {
        let nul = |v: &Value, prefix: &str| find_nul(&v.to_string(), v, prefix);
        let v = json!({"a": [1, {"b": "x\u{0}"}]});
        assert_eq!(nul(&v, "reports[1]."), Some("reports[1].a[1].b".into()));
        assert_eq!(nul(&json!({"k\u{0}": 1}), ""), Some("k\u{0}".into()));
        assert_eq!(nul(&json!({"k": "fine"}), ""), None);
        // The escape spelled in the text is what is looked for, whatever
        // else the text holds; a backslash before it is not a NUL.
        let text = r#"{"k": "a\u0000b"}"#;
        let v: Value = serde_json::from_str(text).unwrap();
        assert_eq!(find_nul(text, &v, ""), Some("k".into()));
        let text = r#"{"k": "a\\u0000b"}"#;
        let v: Value = serde_json::from_str(text).unwrap();
        assert_eq!(find_nul(text, &v, ""), None);
    }
}
