//! SECURITY.md's "shown by" column names, for each control, the tests that
//! show it: a file, then test names, each in a code span. Every file named
//! there must exist and hold every test named after it, as a test (not
//! merely a function of that name), so the document cannot cite a test that
//! is not in the repository. Any lower-case name in that column is taken for
//! a test, however short: code that is not a test belongs in "where".

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

/// A span naming code: lower-case snake case from a letter on, as Rust test
/// functions and Python `test_` methods are. Every such span after a file
/// must be a test of that file, however short; status codes, `GET`,
/// `DynamoTable` or `make fuzz` are not names.
fn is_name(span: &str) -> bool {
    span.starts_with(|c: char| c.is_ascii_lowercase())
        && span
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

/// Whether the file at `path`, holding `text`, defines a test `name`: in
/// Python a `def name(` with `name` starting `test_`; in Rust a `fn name(`
/// with `#[test]` or `#[tokio::test]` (arguments allowed) among the
/// attribute lines (and comments) right above it.
fn defines_test(path: &str, text: &str, name: &str) -> bool {
    if path.ends_with(".py") {
        let def = format!("def {name}(");
        return name.starts_with("test_") && text.lines().any(|l| l.trim_start().starts_with(&def));
    }
    let signature = format!("fn {name}(");
    let lines: Vec<&str> = text.lines().map(str::trim).collect();
    lines.iter().enumerate().any(|(i, line)| {
        let line = line.strip_prefix("pub ").unwrap_or(line);
        let line = line.strip_prefix("async ").unwrap_or(line);
        line.starts_with(&signature)
            && lines[..i]
                .iter()
                .rev()
                .take_while(|l| l.starts_with("#[") || l.starts_with("//"))
                .any(|l| is_test_attribute(l))
    })
}

fn is_test_attribute(line: &str) -> bool {
    line == "#[test]" || line == "#[tokio::test]" || line.starts_with("#[tokio::test(")
}

#[test]
fn every_test_security_md_cites_exists() {
    let rows = shown_by();
    assert!(rows.len() >= 15, "only {} controls read", rows.len());
    let mut cited = 0;
    let mut missing = Vec::new();
    for (control, cell) in rows {
        let mut file: Option<(String, String)> = None;
        let mut tests = 0;
        for span in spans(&cell) {
            if span.ends_with(".rs") || span.ends_with(".py") {
                let path = repo_root().join(span);
                assert!(path.is_file(), "{control}: {span} does not exist");
                file = Some((span.to_owned(), read(span)));
            } else if is_name(span) {
                let (name, text) = file
                    .as_ref()
                    .unwrap_or_else(|| panic!("{control}: {span} is named before any file"));
                if !defines_test(name, text, span) {
                    missing.push(format!("{control}: {span} is not a test in {name}"));
                }
                tests += 1;
            }
        }
        assert!(tests > 0, "{control}: no test named");
        cited += tests;
    }
    assert!(missing.is_empty(), "{}", missing.join("\n"));
    assert!(cited > 50, "only {cited} tests cited");
}

#[test]
fn the_check_tells_names_from_other_code() {
    assert!(is_name("a_token_in_the_wrong_place_gets_401"));
    assert!(is_name("test_environment"));
    assert!(is_name("ct_eq"));
    assert!(is_name("matches"));
    assert!(!is_name("401"));
    assert!(!is_name("GET"));
    assert!(!is_name("make fuzz"));
    assert!(!is_name("Authenticator::verify"));
}

#[test]
fn only_a_test_counts_not_a_function_of_that_name() {
    let rust = "\
/// A helper.
fn helper_of_the_tests(x: u8) {}

#[test]
fn plain_test() {}

/// Against the local DynamoDB.
#[tokio::test(flavor = \"multi_thread\")]
#[ignore = \"needs dynoxide\"]
async fn ignored_async_test() {}

#[tokio::test]
// why
pub async fn commented_test() {}

#[test]
fn before() {}
fn after_a_test() {}
";
    for name in [
        "plain_test",
        "ignored_async_test",
        "commented_test",
        "before",
    ] {
        assert!(defines_test("t.rs", rust, name), "{name}");
    }
    for name in ["helper_of_the_tests", "after_a_test", "plain", "missing"] {
        assert!(!defines_test("t.rs", rust, name), "{name}");
    }
    let python = "class T:\n    def test_environment(self):\n        pass\n    def environment(self):\n        pass\n";
    assert!(defines_test("t.py", python, "test_environment"));
    assert!(!defines_test("t.py", python, "environment"));
    assert!(!defines_test("t.py", python, "test_other"));
}
