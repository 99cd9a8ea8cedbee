//! Search filters and paging, turned into one parameterised SQL condition
//! that both backends run (SQLite numbers its parameters `?N`, PostgreSQL
//! `$N`; the condition is written once).

use serde::Serialize;

/// Largest page a search returns.
pub const MAX_PAGE: u32 = 1000;

/// Which items a search returns; every field that is set must match.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Filter {
    /// Tenant reference.
    pub tenant_ref: Option<String>,
    /// Report kind or package type.
    pub kind: Option<String>,
    /// Format name.
    pub format: Option<String>,
    /// Classification.
    pub classification: Option<String>,
    /// Created at or after (Unix seconds).
    pub from: Option<i64>,
    /// Created before (Unix seconds).
    pub until: Option<i64>,
    /// `sha256:` digest of the bytes.
    pub sha256: Option<String>,
    /// Package id.
    pub package: Option<String>,
    /// Only held (`true`) or only unheld (`false`) items.
    pub held: Option<bool>,
    /// Include items whose bytes were deleted (default: only retained ones).
    pub include_deleted: bool,
}

/// A page of results: at most `limit` items after the cursor.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Page {
    /// Items per page (1..=[`MAX_PAGE`]).
    pub limit: u32,
    /// The cursor of the last item of the previous page ([`Cursor::of`]).
    pub after: Option<Cursor>,
}

impl Default for Page {
    fn default() -> Self {
        Page { limit: 100, after: None }
    }
}

/// A position in the search order (`created_at`, then `id`), written as
/// `<created_at>:<id>`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Cursor {
    /// Unix seconds of the item's `created_at`.
    pub created_at: i64,
    /// Its id.
    pub id: String,
}

impl Cursor {
    /// The cursor just after `item`.
    pub fn of(item: &crate::Item) -> Cursor {
        Cursor { created_at: item.created_at, id: item.id.clone() }
    }
}

impl std::fmt::Display for Cursor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.created_at, self.id)
    }
}

impl std::str::FromStr for Cursor {
    type Err = String;
    fn from_str(s: &str) -> Result<Cursor, String> {
        let (t, id) = s.split_once(':').ok_or("a cursor is `<created_at>:<id>`, as a search prints it")?;
        let created_at = t.parse().map_err(|_| format!("`{t}` is not a number of seconds"))?;
        if !id.starts_with(crate::model::ITEM_ID_PREFIX) || id.len() > 64 {
            return Err(format!("`{id}` is not an item id"));
        }
        Ok(Cursor { created_at, id: id.to_string() })
    }
}

/// A bound parameter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Param {
    Text(String),
    Int(i64),
}

/// A `WHERE` condition and its parameters, numbered `?1…`.
#[derive(Debug, Clone, Default)]
pub(crate) struct Condition {
    pub sql: String,
    pub params: Vec<Param>,
}

impl Condition {
    fn and(&mut self, template: &str, values: Vec<Param>) {
        let mut clause = template.to_string();
        for v in values {
            self.params.push(v);
            clause = clause.replacen("{}", &format!("?{}", self.params.len()), 1);
        }
        if !self.sql.is_empty() {
            self.sql.push_str(" AND ");
        }
        self.sql.push_str(&clause);
    }

    /// The condition for `filter`, after `after`.
    pub fn of(filter: &Filter, after: Option<&Cursor>) -> Condition {
        let mut c = Condition::default();
        let text = |v: &Option<String>| v.clone().map(Param::Text);
        for (column, value) in [
            ("tenant_ref", text(&filter.tenant_ref)),
            ("kind", text(&filter.kind)),
            ("format", text(&filter.format)),
            ("classification", text(&filter.classification)),
            ("sha256", text(&filter.sha256)),
            ("package", text(&filter.package)),
        ] {
            if let Some(v) = value {
                c.and(&format!("{column} = {{}}"), vec![v]);
            }
        }
        if let Some(t) = filter.from {
            c.and("created_at >= {}", vec![Param::Int(t)]);
        }
        if let Some(t) = filter.until {
            c.and("created_at < {}", vec![Param::Int(t)]);
        }
        match filter.held {
            Some(true) => c.and("hold_reason IS NOT NULL", vec![]),
            Some(false) => c.and("hold_reason IS NULL", vec![]),
            None => {}
        }
        if !filter.include_deleted {
            c.and("state = 'retained'", vec![]);
        }
        if let Some(cur) = after {
            c.and(
                "(created_at > {} OR (created_at = {} AND id > {}))",
                vec![Param::Int(cur.created_at), Param::Int(cur.created_at), Param::Text(cur.id.clone())],
            );
        }
        if c.sql.is_empty() {
            c.sql.push_str("1 = 1");
        }
        c
    }
}

/// `sql` with SQLite's `?N` parameters written as PostgreSQL's `$N`.
pub(crate) fn dollar(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len());
    let mut chars = sql.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '?' && chars.peek().is_some_and(char::is_ascii_digit) {
            out.push('$');
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_filter_becomes_one_numbered_condition() {
        let f = Filter {
            tenant_ref: Some("tenant:a".into()),
            format: Some("pdf".into()),
            held: Some(true),
            from: Some(10),
            ..Filter::default()
        };
        let after = Cursor { created_at: 5, id: "itm-1".into() };
        let c = Condition::of(&f, Some(&after));
        assert_eq!(
            c.sql,
            "tenant_ref = ?1 AND format = ?2 AND created_at >= ?3 AND hold_reason IS NOT NULL AND state = 'retained' \
             AND (created_at > ?4 OR (created_at = ?5 AND id > ?6))"
        );
        assert_eq!(c.params.len(), 6);
        assert_eq!(dollar(&c.sql).matches('$').count(), 6);
        assert!(!dollar(&c.sql).contains('?'));
        assert_eq!(Condition::of(&Filter { include_deleted: true, ..Filter::default() }, None).sql, "1 = 1");
    }

    #[test]
    fn cursors_round_trip_and_refuse_junk() {
        let c: Cursor = "1800000000:itm-abc".parse().unwrap();
        assert_eq!(c.to_string(), "1800000000:itm-abc");
        assert!("x:itm-abc".parse::<Cursor>().is_err());
        assert!("1:abc".parse::<Cursor>().is_err());
        assert!("1".parse::<Cursor>().is_err());
    }
}
