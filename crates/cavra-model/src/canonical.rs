//! RFC 8785 JSON Canonicalization Scheme (JCS): one byte sequence per JSON
//! value, for digests and signatures that do not depend on key order or
//! number spelling.
//!
//! Object members are sorted by their keys' UTF-16 code units; strings use
//! the minimal JSON escaping (which is what `serde_json` writes); numbers use
//! the ECMAScript `Number.prototype.toString` form; there is no whitespace.

use serde::Serialize;
use serde_json::Value;
use sha2::{Digest, Sha256};

/// Canonical JSON text of `value`.
///
/// ```
/// use cavra_model::canonical::to_canonical_string;
/// let v = serde_json::json!({"b": [1.0, 2.5, 1e21], "a": "é\n"});
/// assert_eq!(to_canonical_string(&v), r#"{"a":"é\n","b":[1,2.5,1e+21]}"#);
/// ```
pub fn to_canonical_string(value: &Value) -> String {
    let mut out = String::new();
    write_value(value, &mut out);
    out
}

/// Canonical JSON of any serialisable value.
///
/// # Errors
/// When `value` cannot be represented as JSON (e.g. a map with non-string keys).
pub fn canonical_json<T: Serialize>(value: &T) -> Result<String, serde_json::Error> {
    Ok(to_canonical_string(&serde_json::to_value(value)?))
}

/// `sha256:<hex>` of a value's canonical JSON.
///
/// # Errors
/// As [`canonical_json`].
pub fn canonical_sha256<T: Serialize>(value: &T) -> Result<String, serde_json::Error> {
    Ok(format!("sha256:{:x}", Sha256::digest(canonical_json(value)?.as_bytes())))
}

fn write_value(value: &Value, out: &mut String) {
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => match (n.as_i64(), n.as_u64(), n.as_f64()) {
            (Some(i), _, _) => out.push_str(&i.to_string()),
            (None, Some(u), _) => out.push_str(&u.to_string()),
            (None, None, Some(f)) => out.push_str(&es_number(f)),
            (None, None, None) => out.push_str("null"),
        },
        Value::String(s) => write_string(s, out),
        Value::Array(items) => {
            out.push('[');
            for (i, v) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_value(v, out);
            }
            out.push(']');
        }
        Value::Object(map) => {
            let mut entries: Vec<(&String, &Value)> = map.iter().collect();
            entries.sort_by(|a, b| a.0.encode_utf16().cmp(b.0.encode_utf16()));
            out.push('{');
            for (i, (k, v)) in entries.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_string(k, out);
                out.push(':');
                write_value(v, out);
            }
            out.push('}');
        }
    }
}

fn write_string(s: &str, out: &mut String) {
    // serde_json escapes exactly what JCS requires: `"`, `\` and control
    // characters (as \b \f \n \r \t or \u00xx), nothing else.
    out.push_str(&serde_json::to_string(s).unwrap_or_default());
}

/// ECMAScript Number.prototype.toString for finite doubles.
fn es_number(x: f64) -> String {
    if !x.is_finite() {
        return "null".into();
    }
    if x == 0.0 {
        return "0".into();
    }
    let sign = if x < 0.0 { "-" } else { "" };
    // Shortest round-trip digits and exponent, e.g. "1.5e-7".
    let sci = format!("{:e}", x.abs());
    let (mantissa, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    let exp: i32 = exp.parse().unwrap_or(0);
    let k = digits.len() as i32;
    let n = exp + 1;
    let body = if k <= n && n <= 21 {
        format!("{digits}{}", "0".repeat((n - k) as usize))
    } else if 0 < n && n <= 21 {
        format!("{}.{}", &digits[..n as usize], &digits[n as usize..])
    } else if -6 < n && n <= 0 {
        format!("0.{}{digits}", "0".repeat((-n) as usize))
    } else {
        let e = n - 1;
        let esign = if e < 0 { "-" } else { "+" };
        let (first, rest) = digits.split_at(1);
        if rest.is_empty() {
            format!("{first}e{esign}{}", e.abs())
        } else {
            format!("{first}.{rest}e{esign}{}", e.abs())
        }
    };
    format!("{sign}{body}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_follow_ecmascript() {
        // Values from RFC 8785 appendix B and the ECMAScript rules.
        for (x, want) in [
            (0.0, "0"),
            (1.0, "1"),
            (-1.5, "-1.5"),
            (1e21, "1e+21"),
            (1e20, "100000000000000000000"),
            (1e-7, "1e-7"),
            (0.000001, "0.000001"),
            (123.456, "123.456"),
            (5e-324, "5e-324"),
            (1.7976931348623157e308, "1.7976931348623157e+308"),
            (9007199254740992.0, "9007199254740992"),
            (333333333.3333333, "333333333.3333333"),
        ] {
            assert_eq!(es_number(x), want, "{x}");
        }
    }

    #[test]
    fn keys_sort_by_utf16_units() {
        // RFC 8785 §3.2.3: "\u{20ac}" (U+20AC) sorts before "\u{1f600}" (a surrogate pair D83D…)
        // and after "\r" and "1"; plain ASCII sorts bytewise.
        let v = serde_json::json!({"\u{1f600}": 1, "\u{20ac}": 2, "1": 3, "\r": 4, "b": 5, "a": 6});
        assert_eq!(to_canonical_string(&v), "{\"\\r\":4,\"1\":3,\"a\":6,\"b\":5,\"\u{20ac}\":2,\"\u{1f600}\":1}");
    }

    #[test]
    fn strings_escape_minimally() {
        let v = serde_json::json!(["\u{7f}/\u{1}\"\\\t"]);
        assert_eq!(to_canonical_string(&v), "[\"\u{7f}/\\u0001\\\"\\\\\\t\"]");
    }
}
