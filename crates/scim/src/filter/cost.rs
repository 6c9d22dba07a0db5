//! What a filter costs per user it is tested against, so that one request cannot ask the
//! database for unbounded work: a term on a single value costs 1, a term that must read every
//! value of a multi-valued attribute (`emails co "x"`, `emails[type eq "work"]`) costs
//! [`MAX_VALUES`], the most values an attribute may hold.

use super::resolved::{ElementFilter, ResolvedFilter};
use crate::error::{Error, Result};
use crate::normalise::MAX_VALUES;
use crate::schema::Resolved;

/// The most a filter may cost per user: ten terms over multi-valued attributes, or a thousand
/// over single values. IdPs send one or two terms.
pub const MAX_COST: usize = 1_000;

/// Refuses a resolved filter whose cost is over [`MAX_COST`] with 400 `invalidFilter`.
pub(crate) fn check(filter: &ResolvedFilter) -> Result<()> {
    let cost = cost(filter);
    if cost > MAX_COST {
        return Err(Error::invalid_filter(format!(
            "the filter would compare up to {cost} values per user; the limit is {MAX_COST} \
             (a term on a multi-valued attribute such as emails counts {MAX_VALUES}): use fewer terms"
        )));
    }
    Ok(())
}

fn cost(filter: &ResolvedFilter) -> usize {
    let fan_out = |path: &Resolved| {
        if path.attribute.multi_valued {
            MAX_VALUES
        } else {
            1
        }
    };
    match filter {
        ResolvedFilter::Present(path) | ResolvedFilter::Compare(path, _, _) => fan_out(path),
        // The inner terms are tested on each element: one per element.
        ResolvedFilter::ValuePath(path, inner) => fan_out(path).saturating_mul(terms(inner)),
        ResolvedFilter::Not(inner) => cost(inner),
        ResolvedFilter::And(operands) | ResolvedFilter::Or(operands) => {
            operands.iter().map(cost).fold(0, usize::saturating_add)
        }
    }
}

fn terms(filter: &ElementFilter) -> usize {
    match filter {
        ElementFilter::Present(_) | ElementFilter::Compare(..) => 1,
        ElementFilter::Not(inner) => terms(inner),
        ElementFilter::And(operands) | ElementFilter::Or(operands) => {
            operands.iter().map(terms).sum()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::filter::Filter;
    use crate::schema::USER;

    fn cost_of(text: &str) -> usize {
        cost(&Filter::parse_for(text, &USER).unwrap())
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
