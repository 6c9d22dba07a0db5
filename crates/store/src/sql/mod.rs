//! SQL shared by both backends: the statements, the filter lowering, and the few places where
//! SQLite and PostgreSQL spell things differently ([`Dialect`]). Values are always bound
//! parameters; only names from the schema registry are ever written into SQL text.

pub(crate) mod counted;
pub(crate) mod filter;
pub(crate) mod name_anchors;
pub(crate) mod users;

/// `LIMIT n`, with the number in the statement's text and never a parameter: SQLite's planner
/// reads a LIMIT's value, so a statement whose LIMIT is bound is compiled again on every run,
/// and compiling a user query cost more than running it (callgrind: 160k of a filter request's
/// 400k instructions). Limits are page sizes scimd computed and take few distinct values, so
/// the statement cache keeps one statement for each.
pub(crate) fn limit(rows: impl Into<u64>) -> String {
    format!("LIMIT {}", rows.into())
}

/// A bound parameter. Nulls are typed so PostgreSQL can infer the parameter's type.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum SqlValue {
    Text(String),
    OptText(Option<String>),
    Int(i64),
    OptInt(Option<i64>),
    Real(f64),
    Bool(bool),
    Bytes(Vec<u8>),
}

/// Collects parameters and hands out their placeholders (`$1`, `$2`, ...), which both
/// backends accept.
#[derive(Debug, Default, Clone)]
pub(crate) struct Params(pub Vec<SqlValue>);

impl Params {
    pub fn push(&mut self, value: SqlValue) -> String {
        self.0.push(value);
        format!("${}", self.0.len())
    }

    pub fn text(&mut self, value: impl Into<String>) -> String {
        self.push(SqlValue::Text(value.into()))
    }

    pub fn int(&mut self, value: i64) -> String {
        self.push(SqlValue::Int(value))
    }
}

/// A statement and its parameters.
#[derive(Debug, Clone)]
pub(crate) struct Statement {
    pub sql: String,
    pub params: Params,
}

impl Statement {
    pub fn new(sql: impl Into<String>, params: Vec<SqlValue>) -> Self {
        Self {
            sql: sql.into(),
            params: Params(params),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Dialect {
    Sqlite,
    Postgres,
}

impl Dialect {
    /// The text (or scalar) at a JSON path of a document column or element.
    pub fn json_scalar(self, document: &str, path: &[&str]) -> String {
        match self {
            Self::Sqlite => format!("json_extract({document}, '{}')", sqlite_path(path)),
            Self::Postgres => format!("({document} #>> '{}')", postgres_path(path)),
        }
    }

    /// A `FROM` item iterating the elements of a JSON array, aliased `el`.
    pub fn json_elements(self, document: &str, path: &[&str]) -> String {
        match self {
            Self::Sqlite => format!("json_each({document}, '{}') AS el", sqlite_path(path)),
            Self::Postgres => format!(
                "jsonb_array_elements(CASE WHEN jsonb_typeof({document} #> '{p}') = 'array' \
                 THEN {document} #> '{p}' ELSE '[]'::jsonb END) AS el(value)",
                p = postgres_path(path)
            ),
        }
    }

    /// The element itself, when the array holds scalars.
    pub fn element_scalar(self) -> &'static str {
        match self {
            Self::Sqlite => "el.value",
            Self::Postgres => "(el.value #>> '{}')",
        }
    }

    /// A field of the current element.
    pub fn element_field(self, name: &str) -> String {
        self.json_scalar("el.value", &[name])
    }

    /// How a JSON boolean reads back: SQLite's json_extract gives 1/0, PostgreSQL's #>> text.
    pub fn json_bool(self, value: bool) -> SqlValue {
        match self {
            Self::Sqlite => SqlValue::Int(i64::from(value)),
            Self::Postgres => SqlValue::Text(value.to_string()),
        }
    }

    /// A JSON number as a float, for ordering comparisons.
    pub fn json_number(self, expression: &str) -> String {
        match self {
            Self::Sqlite => expression.to_owned(),
            Self::Postgres => format!("({expression})::float8"),
        }
    }

    /// Text ordered by code point on both backends (SQLite's BINARY, PostgreSQL's "C").
    pub fn ordered_text(self, expression: &str) -> String {
        match self {
            Self::Sqlite => expression.to_owned(),
            Self::Postgres => format!("({expression}) COLLATE \"C\""),
        }
    }

    pub fn contains(self, haystack: &str, needle: &str) -> String {
        match self {
            Self::Sqlite => format!("instr({haystack}, {needle}) > 0"),
            Self::Postgres => format!("strpos({haystack}, {needle}) > 0"),
        }
    }

    pub fn ends_with(self, haystack: &str, needle: &str) -> String {
        match self {
            Self::Sqlite => {
                format!("(substr({haystack}, -length({needle})) = {needle} OR {needle} = '')")
            }
            Self::Postgres => format!("right({haystack}, length({needle})) = {needle}"),
        }
    }

    /// A `SELECT` that locks the rows it reads until the transaction ends. SQLite needs no lock:
    /// its write transactions are serialised (`BEGIN IMMEDIATE`, one writer).
    pub fn locking(self, select: &str) -> String {
        match self {
            Self::Sqlite => select.to_owned(),
            Self::Postgres => format!("{select} FOR UPDATE"),
        }
    }

    /// A `SELECT` of rows to claim (`alias`'s): rows another transaction claimed meanwhile are
    /// skipped rather than waited for (PostgreSQL); SQLite's single writer needs neither.
    pub fn claiming(self, select: &str, alias: &str) -> String {
        match self {
            Self::Sqlite => select.to_owned(),
            Self::Postgres => format!("{select} FOR UPDATE OF {alias} SKIP LOCKED"),
        }
    }

    /// A new account's place in profile `$1`, taken as its write's last step before its change
    /// event; a row back when it has one (none when the profile is full). A profile with a
    /// limit counts the account in the same statement, which is its capacity check; one without
    /// counts nothing (its count is taken when a limit is set) and is only share-locked on
    /// PostgreSQL, so that creates into it run side by side while a limit being set waits for
    /// them (and they for it). SQLite's single writer needs no lock.
    pub fn join_profile(self) -> &'static str {
        match self {
            Self::Sqlite => {
                "UPDATE profiles SET user_count = user_count + (max_users > 0) \
                 WHERE id = $1 AND (max_users = 0 OR user_count < max_users) RETURNING id"
            }
            Self::Postgres => {
                "WITH limited AS (UPDATE profiles SET user_count = user_count + 1 \
                   WHERE id = $1 AND max_users > 0 AND user_count < max_users RETURNING id), \
                 unlimited AS (SELECT id FROM profiles WHERE id = $1 AND max_users = 0 FOR SHARE) \
                 SELECT id FROM limited UNION ALL SELECT id FROM unlimited"
            }
        }
    }

    /// How the search copy is bound: text in SQLite, JSONB in PostgreSQL.
    pub fn search_document(self, placeholder: &str) -> String {
        match self {
            Self::Sqlite => placeholder.to_owned(),
            Self::Postgres => format!("{placeholder}::jsonb"),
        }
    }
}

/// `$."a"."b"`: keys quoted, since URNs hold ':' and '.'.
fn sqlite_path(path: &[&str]) -> String {
    let mut out = String::from("$");
    for key in path {
        match key.parse::<usize>() {
            Ok(index) => out.push_str(&format!("[{index}]")),
            Err(_) => out.push_str(&format!(".\"{}\"", checked_name(key))),
        }
    }
    out
}

/// `{"a","b"}`: a text array literal.
fn postgres_path(path: &[&str]) -> String {
    let keys: Vec<String> = path
        .iter()
        .map(|key| format!("\"{}\"", checked_name(key)))
        .collect();
    format!("{{{}}}", keys.join(","))
}

/// Names come from the schema registry, never from requests; this keeps it that way.
fn checked_name(name: &str) -> &str {
    debug_assert!(
        name.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, ':' | '.' | '$' | '-' | '_'))
    );
    if name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, ':' | '.' | '$' | '-' | '_'))
    {
        name
    } else {
        ""
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_paths_quote_keys_per_dialect() {
        let path = [
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User",
            "department",
        ];
        assert_eq!(
            Dialect::Sqlite.json_scalar("u.resource_ci", &path),
            "json_extract(u.resource_ci, '$.\"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User\".\"department\"')"
        );
        assert_eq!(
            Dialect::Postgres.json_scalar("u.resource_ci", &path),
            "(u.resource_ci #>> '{\"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User\",\"department\"}')"
        );
        assert_eq!(
            Dialect::Sqlite.json_scalar("d", &["emails", "0", "value"]),
            "json_extract(d, '$.\"emails\"[0].\"value\"')"
        );
    }
}
