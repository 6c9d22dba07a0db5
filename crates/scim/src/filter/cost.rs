//! What a filter costs per user it is tested against, so that one request cannot ask the
//! database for unbounded work: a term on a single value costs 1, a term that must read every
//! value of a multi-valued attribute (`emails co "x"`, `emails[type eq "work"]`) costs
//! [`MAX_VALUES`], the most values an attribute may hold.

use super::ast::Filter;
use crate::error::{Error, Result};
use crate::normalise::MAX_VALUES;
use crate::schema::ResourceType;

/// The most a filter may cost per user: ten terms over multi-valued attributes, or a thousand
/// over single values. IdPs send one or two terms.
pub const MAX_COST: usize = 1_000;

/// Refuses a resolved filter whose cost is over [`MAX_COST`] with 400 `invalidFilter`.
pub(crate) fn check(filter: &Filter, resource_type: &ResourceType) -> Result<()> {
    let cost = cost(filter, resource_type);
    if cost > MAX_COST {
        return Err(Error::invalid_filter(format!(
            "the filter would compare up to {cost} values per user; the limit is {MAX_COST} \
             (a term on a multi-valued attribute such as emails counts {MAX_VALUES}): use fewer terms"
        )));
    }
    Ok(())
}

fn cost(filter: &Filter, resource_type: &ResourceType) -> usize {
    let fan_out = |path| {
        resource_type
            .resolve(path)
            .filter(|resolved| resolved.attribute.multi_valued)
            .map_or(1, |_| MAX_VALUES)
    };
    match filter {
        Filter::Present(path) | Filter::Compare(path, _, _) => fan_out(path),
        // The inner terms are tested on each element: one per element.
        Filter::ValuePath(path, inner) => fan_out(path).saturating_mul(terms(inner)),
        Filter::Not(inner) => cost(inner, resource_type),
        Filter::And(operands) | Filter::Or(operands) => operands
            .iter()
            .map(|operand| cost(operand, resource_type))
            .fold(0, usize::saturating_add),
    }
}

fn terms(filter: &Filter) -> usize {
    match filter {
        Filter::Present(_) | Filter::Compare(..) => 1,
        Filter::ValuePath(_, inner) | Filter::Not(inner) => terms(inner),
        Filter::And(operands) | Filter::Or(operands) => operands.iter().map(terms).sum(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::USER;

    fn cost_of(text: &str) -> usize {
        let filter = Filter::parse(text).and_then(|f| f.resolve(&USER)).unwrap();
        cost(&filter, &USER)
    }

    #[test]
    fn single_values_cost_one_and_multi_valued_reads_cost_the_value_limit() {
        assert_eq!(cost_of(r#"userName eq "a@b.co""#), 1);
        assert_eq!(
            cost_of(r#"userName eq "a" or (title co "x" and not (active eq true))"#),
            3
        );
        assert_eq!(cost_of(r#"emails co "example.com""#), MAX_VALUES);
        assert_eq!(
            cost_of(r#"emails[type eq "work" and value co "x"]"#),
            2 * MAX_VALUES
        );
        assert_eq!(cost_of(r#"name[givenName eq "a"]"#), 1);
    }

    #[test]
    fn filters_over_the_limit_are_refused_and_ordinary_ones_pass() {
        let term = r#"emails[value co "x"]"#;
        let ten = [term; 10].join(" or ");
        assert!(Filter::parse_for(&ten, &USER).is_ok());
        let eleven = [term; 11].join(" or ");
        let error = Filter::parse_for(&eleven, &USER).unwrap_err();
        assert_eq!(error.scim_type, Some(crate::ScimType::InvalidFilter));
        assert!(
            error.detail.contains("the limit is 1000"),
            "{}",
            error.detail
        );
    }
}
