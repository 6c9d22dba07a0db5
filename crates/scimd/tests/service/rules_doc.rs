//! Every rule the code cites as `R-nn` is explained in `docs/rules.md`, so a reader of the
//! repository can resolve it.

use std::collections::BTreeSet;
use std::path::Path;

fn cited_in(dir: &Path, rules: &mut BTreeSet<String>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            cited_in(&path, rules);
        } else if path.extension().is_some_and(|ext| ext == "rs") {
            let text = std::fs::read_to_string(&path).unwrap();
            for (at, _) in text.match_indices("R-") {
                let rest = &text[at + 2..];
                let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
                if digits.len() != 2 {
                    continue;
                }
                let suffix = rest[2..].chars().next().filter(char::is_ascii_lowercase);
                let before = text[..at].chars().next_back();
                if before.is_some_and(|c| c.is_ascii_alphanumeric()) {
                    continue;
                }
                rules.insert(format!(
                    "R-{digits}{}",
                    suffix.map(String::from).unwrap_or_default()
                ));
            }
        }
    }
}

#[test]
fn every_cited_rule_is_explained() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let explained = std::fs::read_to_string(root.join("docs/rules.md")).unwrap();
    let mut cited = BTreeSet::new();
    cited_in(&root.join("crates"), &mut cited);
    assert!(cited.len() > 20, "{cited:?}");
    let missing: Vec<&String> = cited
        .iter()
        .filter(|rule| !explained.contains(&format!("**{rule}**")))
        .collect();
    assert!(
        missing.is_empty(),
        "cited but not in docs/rules.md: {missing:?}"
    );
}
