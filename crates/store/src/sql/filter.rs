//! A resolved filter lowered to a SQL condition over `users u`, by one total match over the
//! AST. Indexed columns serve `userName`, `externalId`, `id`, `active`, `meta.created`,
//! `meta.lastModified` and `emails.value`; every other attribute is read from the case-folded
//! search copy with the dialect's JSON functions. Comparisons stay plain so indexes serve them;
//! negation is `(..) IS NOT TRUE`, which reads SQL's NULL (an absent value) as "no match", so
//! `not` and `ne` mean exactly what the in-memory evaluator means.

use super::{Dialect, Params, SqlValue};
use scim::datetime;
use scim::filter::{CompValue, CompareOp, ElementFilter, ResolvedFilter, fold_case};
use scim::schema::{AttrType, Attribute, Container, Resolved};

pub(crate) struct Lowering<'p> {
    pub dialect: Dialect,
    pub params: &'p mut Params,
    /// The placeholder holding the tenant id, for side-table lookups that use their own index.
    pub tenant: String,
}

/// Where a compared value lives.
enum Source {
    /// An indexed column of `users`.
    Column(&'static str, ColumnKind),
    /// The `user_emails` side table.
    Emails,
    /// A scalar in the search copy.
    Json(Vec<&'static str>),
    /// Scalars inside the elements of a JSON array: `(array path, field or None for scalars)`.
    JsonElements(Vec<&'static str>, Option<&'static str>),
    /// `meta.resourceType`: the same for every row.
    ResourceType,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum ColumnKind {
    Text,
    Bool,
    Millis,
}

const SEARCH_DOCUMENT: &str = "u.resource_ci";

impl Lowering<'_> {
    pub fn condition(&mut self, filter: &ResolvedFilter) -> Result<String, scim::Error> {
        Ok(match filter {
            ResolvedFilter::And(operands) => joined(self.all(operands)?, " AND "),
            ResolvedFilter::Or(operands) => joined(self.all(operands)?, " OR "),
            ResolvedFilter::Not(inner) => not(&self.condition(inner)?),
            ResolvedFilter::Present(path) => self.present(path)?,
            ResolvedFilter::Compare(path, CompareOp::Ne, value) => {
                not(&self.compare(path, CompareOp::Eq, value)?)
            }
            ResolvedFilter::Compare(path, op, value) => self.compare(path, *op, value)?,
            ResolvedFilter::ValuePath(path, inner) => self.value_path(path, inner),
        })
    }

    fn all(&mut self, operands: &[ResolvedFilter]) -> Result<Vec<String>, scim::Error> {
        operands
            .iter()
            .map(|operand| self.condition(operand))
            .collect()
    }

    fn present(&mut self, resolved: &Resolved) -> Result<String, scim::Error> {
        let dialect = self.dialect;
        Ok(match source(resolved)? {
            Source::Column("user_name_ci" | "scim_id", _)
            | Source::Column(_, ColumnKind::Bool | ColumnKind::Millis) => "1 = 1".to_owned(),
            Source::Column(column, ColumnKind::Text) => {
                format!("u.{column} <> ''")
            }
            Source::Emails => self.email_match("e.value_ci <> ''"),
            Source::Json(path) => {
                format!("{} <> ''", dialect.json_scalar(SEARCH_DOCUMENT, &path))
            }
            Source::JsonElements(path, field) => {
                let value = field.map_or_else(
                    || dialect.element_scalar().to_owned(),
                    |f| dialect.element_field(f),
                );
                format!(
                    "EXISTS (SELECT 1 FROM {} WHERE {value} <> '')",
                    dialect.json_elements(SEARCH_DOCUMENT, &path)
                )
            }
            Source::ResourceType => "1 = 1".to_owned(),
        })
    }

    /// `eq null` is absence; `ne` arrives here as `eq` under a `NOT`.
    fn compare(
        &mut self,
        resolved: &Resolved,
        op: CompareOp,
        value: &CompValue,
    ) -> Result<String, scim::Error> {
        if *value == CompValue::Null {
            return Ok(not(&self.present(resolved)?));
        }
        let target = resolved.target();
        let dialect = self.dialect;
        Ok(match source(resolved)? {
            Source::Column(column, ColumnKind::Bool) => {
                let CompValue::Bool(expected) = value else {
                    return Ok("1 = 0".into());
                };
                format!(
                    "u.{column} = {}",
                    self.params.push(SqlValue::Bool(*expected))
                )
            }
            Source::Column(column, ColumnKind::Millis) => {
                let millis = match value {
                    CompValue::String(text) => datetime::parse(text).map(|t| t.as_millis()),
                    CompValue::Null | CompValue::Bool(_) | CompValue::Number(_) => None,
                };
                let Some(millis) = millis else {
                    return Ok("1 = 0".into());
                };
                let placeholder = self.params.int(millis);
                format!("u.{column} {} {placeholder}", ordering_operator(op))
            }
            Source::Column(column, ColumnKind::Text) => {
                let expression = format!("u.{column}");
                self.text(&expression, target, op, value)
            }
            Source::Emails => {
                let test = self.text("e.value_ci", target, op, value);
                self.email_match(&test)
            }
            Source::Json(path) => {
                let expression = dialect.json_scalar(SEARCH_DOCUMENT, &path);
                self.typed(&expression, target, op, value)
            }
            Source::JsonElements(path, field) => {
                let expression = field.map_or_else(
                    || dialect.element_scalar().to_owned(),
                    |f| dialect.element_field(f),
                );
                let test = self.typed(&expression, target, op, value);
                format!(
                    "EXISTS (SELECT 1 FROM {} WHERE {test})",
                    dialect.json_elements(SEARCH_DOCUMENT, &path)
                )
            }
            Source::ResourceType => {
                let matches = matches!(value, CompValue::String(text) if op == CompareOp::Eq && text == "User");
                if matches {
                    "1 = 1".into()
                } else {
                    "1 = 0".into()
                }
            }
        })
    }

    /// Users with an email satisfying `test`, found through the `(tenant_id, value_ci)` index of
    /// `user_emails` rather than by probing every user of the tenant.
    fn email_match(&self, test: &str) -> String {
        format!(
            "u.pk IN (SELECT e.user_pk FROM user_emails e WHERE e.tenant_id = {} AND {test})",
            self.tenant
        )
    }

    /// `attr[inner]`: some element of a multi-valued attribute (or the single complex value)
    /// satisfies `inner`, whose names are sub-attributes.
    fn value_path(&mut self, resolved: &Resolved, inner: &ElementFilter) -> String {
        let path = json_path(resolved.container, resolved.attribute, None);
        let dialect = self.dialect;
        let mut scoped = ElementScope {
            lowering: self,
            base: None,
        };
        if resolved.attribute.multi_valued {
            let test = scoped.condition(inner);
            format!(
                "EXISTS (SELECT 1 FROM {} WHERE {test})",
                dialect.json_elements(SEARCH_DOCUMENT, &path)
            )
        } else {
            scoped.base = Some(path);
            scoped.condition(inner)
        }
    }

    /// A comparison by the attribute's type, on a scalar read from JSON.
    fn typed(
        &mut self,
        expression: &str,
        target: &Attribute,
        op: CompareOp,
        value: &CompValue,
    ) -> String {
        match (target.ty, value) {
            (AttrType::Boolean, CompValue::Bool(expected)) => {
                let placeholder = self.params.push(self.dialect.json_bool(*expected));
                format!("{expression} = {placeholder}")
            }
            (AttrType::Integer | AttrType::Decimal, CompValue::Number(number)) => {
                let placeholder = self
                    .params
                    .push(SqlValue::Real(number.as_f64().unwrap_or(f64::NAN)));
                let number = self.dialect.json_number(expression);
                format!("{number} {} {placeholder}", ordering_operator(op))
            }
            _ => self.text(expression, target, op, value),
        }
    }

    /// A text comparison; caseExact=false values are folded like the search copy.
    fn text(
        &mut self,
        expression: &str,
        target: &Attribute,
        op: CompareOp,
        value: &CompValue,
    ) -> String {
        let text = match value {
            CompValue::String(text) => text.clone(),
            CompValue::Number(number) => number.to_string(),
            CompValue::Bool(b) => b.to_string(),
            CompValue::Null => String::new(),
        };
        let text = if target.case_exact {
            text
        } else {
            fold_case(&text)
        };
        let placeholder = self.params.text(text);
        let dialect = self.dialect;
        let test = match op {
            CompareOp::Eq | CompareOp::Ne => format!("{expression} = {placeholder}"),
            CompareOp::Co => dialect.contains(expression, &placeholder),
            CompareOp::Sw => {
                format!("substr({expression}, 1, length({placeholder})) = {placeholder}")
            }
            CompareOp::Ew => dialect.ends_with(expression, &placeholder),
            CompareOp::Gt | CompareOp::Ge | CompareOp::Lt | CompareOp::Le => format!(
                "{} {} {}",
                dialect.ordered_text(expression),
                ordering_operator(op),
                dialect.ordered_text(&placeholder)
            ),
        };
        format!("({test})")
    }
}

/// Lowers the inside of `attr[...]`: sub-attributes read from the current array element
/// (`base` is `None`) or from the single complex value at `base`.
struct ElementScope<'l, 'p> {
    lowering: &'l mut Lowering<'p>,
    base: Option<Vec<&'static str>>,
}

impl ElementScope<'_, '_> {
    fn condition(&mut self, filter: &ElementFilter) -> String {
        match filter {
            ElementFilter::And(operands) => joined(
                operands
                    .iter()
                    .map(|o| self.condition(o))
                    .collect::<Vec<_>>(),
                " AND ",
            ),
            ElementFilter::Or(operands) => joined(
                operands
                    .iter()
                    .map(|o| self.condition(o))
                    .collect::<Vec<_>>(),
                " OR ",
            ),
            ElementFilter::Not(inner) => not(&self.condition(inner)),
            ElementFilter::Present(sub) => format!("{} <> ''", self.field(sub)),
            ElementFilter::Compare(sub, op, value) => {
                let expression = self.field(sub);
                match (op, value) {
                    (_, CompValue::Null) => {
                        let present = format!("{expression} <> ''");
                        if *op == CompareOp::Ne {
                            present
                        } else {
                            not(&present)
                        }
                    }
                    (CompareOp::Ne, _) => {
                        not(&self.lowering.typed(&expression, sub, CompareOp::Eq, value))
                    }
                    _ => self.lowering.typed(&expression, sub, *op, value),
                }
            }
        }
    }

    fn field(&self, sub: &'static Attribute) -> String {
        let dialect = self.lowering.dialect;
        match &self.base {
            None => dialect.element_field(sub.name),
            Some(base) => {
                let mut path = base.clone();
                path.push(sub.name);
                dialect.json_scalar(SEARCH_DOCUMENT, &path)
            }
        }
    }
}

/// Whether the filter pins at most one user through a unique index: `userName eq "…"` or
/// `id eq "…"` alone, the lookup IdPs make before every create. Its count and page are point
/// reads.
pub(crate) fn pins_one_user(filter: &ResolvedFilter) -> bool {
    let ResolvedFilter::Compare(path, CompareOp::Eq, CompValue::String(_)) = filter else {
        return false;
    };
    matches!(indexed_column(path), Some("user_name_ci" | "scim_id"))
}

/// The value of `active` the filter asks for, when it asks for nothing else (`active eq true`,
/// `active ne false`, ...): those listings are counted in the tenant's user counts.
pub(crate) fn active_only(filter: &ResolvedFilter) -> Option<bool> {
    let ResolvedFilter::Compare(path, op, CompValue::Bool(value)) = filter else {
        return None;
    };
    let is_active = indexed_column(path) == Some("active");
    match op {
        CompareOp::Eq if is_active => Some(*value),
        CompareOp::Ne if is_active => Some(!*value),
        _ => None,
    }
}

/// Whether a `sortBy` path is `userName`: unique in the tenant and never null, so a page
/// sorted by it may continue after the previous page's last name, through an index.
pub(crate) fn sorts_by_user_name(resolved: &Resolved) -> bool {
    indexed_column(resolved) == Some("user_name_ci")
}

/// The indexed column of `users` that holds the path, if one does.
fn indexed_column(resolved: &Resolved) -> Option<&'static str> {
    match source(resolved) {
        Ok(Source::Column(column, _)) => Some(column),
        _ => None,
    }
}

/// The column or JSON location of a resolved path.
fn source(resolved: &Resolved) -> Result<Source, scim::Error> {
    let sub = resolved.sub_attribute.map(|sub| sub.name);
    Ok(match (resolved.container, resolved.attribute.name, sub) {
        (Container::Root, "userName", None) => Source::Column("user_name_ci", ColumnKind::Text),
        (Container::Root, "externalId", None) => Source::Column("external_id", ColumnKind::Text),
        (Container::Root, "id", None) => Source::Column("scim_id", ColumnKind::Text),
        (Container::Root, "active", None) => Source::Column("active", ColumnKind::Bool),
        (Container::Root, "meta", Some("created")) => {
            Source::Column("created_at", ColumnKind::Millis)
        }
        (Container::Root, "meta", Some("lastModified")) => {
            Source::Column("updated_at", ColumnKind::Millis)
        }
        (Container::Root, "meta", Some("resourceType")) => Source::ResourceType,
        (Container::Root, "meta", _) => {
            return Err(scim::Error::invalid_filter(format!(
                "filtering on '{}' is not supported; use meta.created or meta.lastModified",
                resolved.canonical_path()
            )));
        }
        (Container::Root, "emails", Some("value")) => Source::Emails,
        (container, _, sub) if resolved.attribute.multi_valued => {
            Source::JsonElements(json_path(container, resolved.attribute, None), sub)
        }
        (container, _, sub) => Source::Json(json_path(container, resolved.attribute, sub)),
    })
}

fn json_path(
    container: Container,
    attribute: &'static Attribute,
    sub: Option<&'static str>,
) -> Vec<&'static str> {
    let mut path = Vec::with_capacity(3);
    if let Container::Extension(urn) = container {
        path.push(urn);
    }
    path.push(attribute.name);
    path.extend(sub);
    path
}

/// Lowered operands, bracketed and joined by `AND` or `OR`.
fn joined(parts: impl IntoIterator<Item = String>, separator: &str) -> String {
    let bracketed: Vec<String> = parts.into_iter().map(|sql| format!("({sql})")).collect();
    bracketed.join(separator)
}

/// Two-valued negation: NULL (unknown because a value is absent) is "not matched", so its
/// negation matches, as in the in-memory evaluator.
fn not(condition: &str) -> String {
    format!("({condition}) IS NOT TRUE")
}

fn ordering_operator(op: CompareOp) -> &'static str {
    match op {
        CompareOp::Eq | CompareOp::Co | CompareOp::Sw | CompareOp::Ew => "=",
        CompareOp::Ne => "<>",
        CompareOp::Gt => ">",
        CompareOp::Ge => ">=",
        CompareOp::Lt => "<",
        CompareOp::Le => "<=",
    }
}

/// The `ORDER BY` expression for a resolved `sortBy` path (multi-valued: the first value).
pub(crate) fn sort_expression(
    dialect: Dialect,
    resolved: &Resolved,
) -> Result<String, scim::Error> {
    Ok(match source(resolved)? {
        Source::Column(column, ColumnKind::Text) => dialect.ordered_text(&format!("u.{column}")),
        Source::Column(column, ColumnKind::Bool | ColumnKind::Millis) => format!("u.{column}"),
        Source::Emails => {
            dialect.ordered_text(&dialect.json_scalar(SEARCH_DOCUMENT, &["emails", "0", "value"]))
        }
        Source::Json(path) => dialect.ordered_text(&dialect.json_scalar(SEARCH_DOCUMENT, &path)),
        Source::JsonElements(mut path, field) => {
            path.push("0");
            path.extend(field);
            dialect.ordered_text(&dialect.json_scalar(SEARCH_DOCUMENT, &path))
        }
        Source::ResourceType => "u.pk".to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use scim::Filter;
    use scim::schema::USER;

    fn pins(text: &str) -> bool {
        pins_one_user(&Filter::parse_for(text, &USER).unwrap())
    }

    #[test]
    fn only_an_equality_on_a_unique_key_pins_one_user() {
        assert!(pins(r#"userName eq "a@b.co""#));
        assert!(pins(r#"USERNAME eq "a@b.co""#));
        assert!(pins(r#"id eq "2819c223""#));
        assert!(pins(
            r#"urn:ietf:params:scim:schemas:core:2.0:User:userName eq "a@b.co""#
        ));
        for many in [
            r#"userName sw "a""#,
            r#"userName ne "a@b.co""#,
            r#"externalId eq "x""#,
            r#"emails.value eq "a@b.co""#,
            r#"userName eq "a@b.co" or userName eq "c@d.co""#,
            r#"not (userName eq "a@b.co")"#,
            "userName pr",
        ] {
            assert!(!pins(many), "{many}");
        }
    }
}
