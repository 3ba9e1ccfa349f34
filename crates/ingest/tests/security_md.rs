//! SECURITY.md's "shown by" column names, for each control, the tests that
//! show it: a file, then test names, each in a code span. Every file named
//! there must exist and hold every test named after it, so the document
//! cannot cite a test that is not in the repository.

use test_support::{read, repo_root};

/// The "shown by" cell of each row of SECURITY.md's Controls table.
fn shown_by() -> Vec<(String, String)> {
    let text = read("SECURITY.md");
    let controls = text
        .split("\n## Controls")
        .nth(1)
        .expect("SECURITY.md has a Controls section");
    let controls = controls.split("\n## ").next().unwrap_or(controls);
    controls
        .lines()
        .filter(|l| l.starts_with("| ") && !l.starts_with("| control"))
        .map(|row| {
            let cells: Vec<&str> = row.trim_matches('|').split(" | ").map(str::trim).collect();
            assert_eq!(cells.len(), 4, "a row of four cells: {row}");
            (cells[0].to_owned(), cells[3].to_owned())
        })
        .collect()
}

fn spans(cell: &str) -> impl Iterator<Item = &str> {
    cell.split('`').skip(1).step_by(2)
}

/// A span naming a test: a Rust test name (snake case, several words) or a
/// Python `test_` method.
fn is_test_name(span: &str) -> bool {
    span.chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        && (span.matches('_').count() >= 2 || span.starts_with("test_"))
}

#[test]
fn every_test_security_md_cites_exists() {
    let rows = shown_by();
    assert!(rows.len() >= 15, "only {} controls read", rows.len());
    let mut cited = 0;
    for (control, cell) in rows {
        let mut file: Option<(String, String)> = None;
        let mut tests = 0;
        for span in spans(&cell) {
            if span.ends_with(".rs") || span.ends_with(".py") {
                let path = repo_root().join(span);
                assert!(path.is_file(), "{control}: {span} does not exist");
                file = Some((span.to_owned(), read(span)));
            } else if is_test_name(span) {
                let (name, text) = file
                    .as_ref()
                    .unwrap_or_else(|| panic!("{control}: {span} is named before any file"));
                let defined =
                    text.contains(&format!("fn {span}(")) || text.contains(&format!("def {span}("));
                assert!(defined, "{control}: no test {span} in {name}");
                tests += 1;
            }
        }
        assert!(tests > 0, "{control}: no test named");
        cited += tests;
    }
    assert!(cited > 50, "only {cited} tests cited");
}

#[test]
fn the_check_tells_test_names_from_other_code() {
    assert!(is_test_name("a_token_in_the_wrong_place_gets_401"));
    assert!(is_test_name("test_environment"));
    assert!(!is_test_name("ct_eq"));
    assert!(!is_test_name("make fuzz"));
    assert!(!is_test_name("Authenticator::verify"));
}
