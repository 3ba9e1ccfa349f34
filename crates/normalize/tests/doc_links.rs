//! GIVEN the project's Markdown (README.md, SECURITY.md, docs/*.md) WHEN
//! every relative link in it is followed THEN it names a file or directory
//! of the repository, and its `#anchor`, if any, a heading of that file.
//! No link or path in them leaves the repository (a clone stands alone; web
//! links are fine), and README's "Where the rest lives" lists every docs/*.md.
//! Lives here because `make test` runs every workspace test and this crate
//! already reads docs/ (mapping.rs); it needs nothing but std.

use std::collections::HashSet;
use std::path::{Component, Path, PathBuf};

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// README.md, SECURITY.md and every docs/*.md, as paths from the root.
fn documents() -> Vec<PathBuf> {
    let root = repo_root();
    let mut files = vec![PathBuf::from("README.md"), PathBuf::from("SECURITY.md")];
    let mut docs: Vec<PathBuf> = std::fs::read_dir(root.join("docs"))
        .expect("docs/")
        .map(|e| e.expect("docs/ entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "md"))
        .map(|p| Path::new("docs").join(p.file_name().expect("file name")))
        .collect();
    docs.sort();
    files.extend(docs);
    files
}

/// The text outside fenced code blocks and code spans.
fn prose(markdown: &str) -> String {
    let mut text = String::new();
    let mut fenced = false;
    for line in markdown.lines() {
        if line.trim_start().starts_with("```") {
            fenced = !fenced;
            continue;
        }
        if !fenced {
            text.push_str(line);
            text.push('\n');
        }
    }
    // A code span opens with a run of n backticks and closes with the next
    // run of exactly n (it may span lines).
    let mut out = String::with_capacity(text.len());
    let mut rest = text.as_str();
    while let Some(i) = rest.find('`') {
        out.push_str(&rest[..i]);
        let run = rest[i..].len() - rest[i..].trim_start_matches('`').len();
        let after = &rest[i + run..];
        let mut close = None;
        let mut from = 0;
        while let Some(j) = after[from..].find('`') {
            let at = from + j;
            let n = after[at..].len() - after[at..].trim_start_matches('`').len();
            if n == run {
                close = Some(at + n);
                break;
            }
            from = at + n;
        }
        match close {
            Some(end) => rest = &after[end..],
            None => {
                out.push_str(&rest[i..i + run]);
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

/// Link targets: inline `[text](target)` and reference `[label]: target`.
fn targets(markdown: &str) -> Vec<String> {
    let text = prose(markdown);
    let mut found = Vec::new();
    let mut rest = text.as_str();
    while let Some(i) = rest.find("](") {
        rest = &rest[i + 2..];
        if let Some(end) = rest.find(')') {
            let target = rest[..end].split_whitespace().next().unwrap_or("");
            found.push(target.trim_matches(['<', '>']).to_owned());
        }
    }
    for line in text.lines() {
        let line = line.trim_start();
        let label_end = line.strip_prefix('[').and_then(|l| l.find(']'));
        if let Some(k) = label_end.filter(|k| line[k + 1..].starts_with("]:")) {
            let target = line[k + 3..].split_whitespace().next();
            found.extend(target.map(str::to_owned));
        }
    }
    found
}

/// The anchor GitHub gives a heading: lower case, only letters, digits,
/// `-`, `_` and spaces kept, spaces as `-`.
fn slug(heading: &str) -> String {
    heading
        .trim()
        .to_lowercase()
        .chars()
        .filter(|c| c.is_alphanumeric() || matches!(c, '-' | '_' | ' '))
        .map(|c| if c == ' ' { '-' } else { c })
        .collect()
}

/// The anchors of a Markdown file's headings (repeats get -1, -2, ...).
fn anchors(markdown: &str) -> HashSet<String> {
    let mut seen = HashSet::new();
    let mut fenced = false;
    for line in markdown.lines() {
        if line.trim_start().starts_with("```") {
            fenced = !fenced;
        }
        let Some(heading) = line.strip_prefix('#') else {
            continue;
        };
        let heading = heading.trim_start_matches('#');
        if fenced || !heading.starts_with(' ') {
            continue;
        }
        let base = slug(heading.trim_end_matches('#'));
        let mut anchor = base.clone();
        let mut n = 0;
        while !seen.insert(anchor.clone()) {
            n += 1;
            anchor = format!("{base}-{n}");
        }
    }
    seen
}

/// `path` with `.` and `..` taken away, or None if it leaves the repository.
fn inside_repo(path: &Path) -> Option<PathBuf> {
    let mut parts = Vec::new();
    for component in path.components() {
        match component {
            Component::Normal(part) => parts.push(part),
            Component::CurDir => {}
            Component::ParentDir => {
                parts.pop()?;
            }
            _ => return None,
        }
    }
    Some(parts.iter().collect())
}

#[test]
fn slugs_are_githubs() {
    assert_eq!(
        slug(" Rotate a token (no downtime)"),
        "rotate-a-token-no-downtime"
    );
    assert_eq!(slug("How `raw` is stored"), "how-raw-is-stored");
    assert_eq!(
        slug("After a normalizer upgrade: `reprocess`"),
        "after-a-normalizer-upgrade-reprocess"
    );
    let a = anchors("# A\n```\n# not a heading\n```\n## A\n#nope\n");
    assert_eq!(a, HashSet::from(["a".to_owned(), "a-1".to_owned()]));
    assert_eq!(
        targets("[x](a.md#b) `[y](no.md)` [`z`](c/) [r]: d.md\n[s]: e.md\n"),
        ["a.md#b", "c/", "e.md"]
    );
}

#[test]
fn every_relative_link_resolves() {
    let root = repo_root();
    let mut checked = 0;
    let mut broken = Vec::new();
    for doc in documents() {
        let text = std::fs::read_to_string(root.join(&doc)).expect("readable");
        for target in targets(&text) {
            if is_web(&target) {
                continue;
            }
            checked += 1;
            let (path, anchor) = match target.split_once('#') {
                Some((path, anchor)) => (path, Some(anchor)),
                None => (target.as_str(), None),
            };
            let file = if path.is_empty() {
                Some(doc.clone())
            } else {
                inside_repo(&doc.parent().expect("in a directory").join(path))
            };
            let Some(file) = file.filter(|f| root.join(f).exists()) else {
                broken.push(format!(
                    "{}: {target}: no such file in the repository",
                    doc.display()
                ));
                continue;
            };
            if let Some(anchor) = anchor.filter(|_| file.extension().is_some_and(|x| x == "md")) {
                let linked = std::fs::read_to_string(root.join(&file)).expect("readable");
                if !anchors(&linked).contains(anchor) {
                    broken.push(format!(
                        "{}: {target}: no heading #{anchor} in {}",
                        doc.display(),
                        file.display()
                    ));
                }
            }
        }
    }
    assert!(broken.is_empty(), "broken links:\n{}", broken.join("\n"));
    assert!(checked >= 20, "only {checked} relative links found");
}

/// A link to the web (or an e-mail address): not checked here.
fn is_web(target: &str) -> bool {
    ["https://", "http://", "mailto:"]
        .iter()
        .any(|scheme| target.starts_with(scheme))
}

/// Absolute paths of the machine a document was written on.
const HOST_PATHS: [&str; 7] = [
    "/work/",
    "/home/",
    "/Users/",
    "/root/",
    "/tmp/",
    "/mnt/",
    "/private/",
];

/// Whether `token` names a Markdown file the repository has: beside `dir`,
/// from the root, or in docs/ (prose names a doc by its file name alone).
fn names_a_repo_doc(dir: &Path, token: &str) -> bool {
    let name = token.split('#').next().unwrap_or("");
    let root = repo_root();
    [
        dir.join(name),
        PathBuf::from(name),
        Path::new("docs").join(name),
    ]
    .iter()
    .any(|candidate| root.join(candidate).is_file())
}

/// Why each link or path of `markdown` (a file at `doc`, a path from the
/// root) leaves the repository: link targets that are not web links and
/// do not stay inside, `../` paths anywhere in the text (code included)
/// that climb out of it, a Markdown file the repository does not have
/// (a contract kept elsewhere), and [`HOST_PATHS`].
fn leaving(doc: &Path, markdown: &str) -> Vec<String> {
    let dir = doc.parent().unwrap_or(Path::new(""));
    let mut found = Vec::new();
    for target in targets(markdown) {
        if is_web(&target) || target.starts_with('#') {
            continue;
        }
        let path = target.split('#').next().unwrap_or("");
        if target.contains(':') || inside_repo(&dir.join(path)).is_none() {
            found.push(format!("link {target}"));
        }
    }
    let separators = |c: char| c.is_whitespace() || "`'\"()[]<>{},;=".contains(c);
    for token in markdown.split(separators) {
        if token.starts_with("http://") || token.starts_with("https://") {
            continue;
        }
        if token.contains("../") && inside_repo(&dir.join(token)).is_none() {
            found.push(format!("path {token}"));
        }
        if let Some(mention) = HOST_PATHS.iter().find(|m| token.contains(*m)) {
            found.push(format!("{mention} in {token}"));
        }
        let md = token.trim_end_matches(['.', ':']);
        // A pattern (`docs/*.md`) names no one file.
        let pattern = md.contains(['*', '<']);
        if md.ends_with(".md") && !pattern && !md.contains("://") && !names_a_repo_doc(dir, md) {
            found.push(format!("no such document in the repository: {md}"));
        }
    }
    found
}

#[test]
fn leaving_the_repository_is_seen() {
    let readme = Path::new("README.md");
    let doc = Path::new("docs/x.md");
    let inside = "[a](docs/design.md) [b](https://example.com/x/../../y) `crates/x/` /dev/null";
    assert_eq!(leaving(readme, inside), Vec::<String>::new());
    assert_eq!(
        leaving(doc, "[r](../README.md) `../target/lambda/`"),
        Vec::<String>::new()
    );
    for outside in [
        "[d](../team/CONTRACT.md)",
        "see `../team/providers.md`",
        "[a](/etc/hosts)",
        "[f](file:///srv/x.md)",
        "the contract is CONTRACT.md",
        "in /work/team/notes/flashy.txt",
        "```\ncat ../../other/file\n```",
    ] {
        assert!(!leaving(readme, outside).is_empty(), "{outside}");
    }
    assert!(!leaving(doc, "[x](../../x.md)").is_empty());
}

#[test]
fn no_link_or_path_leaves_the_repository() {
    let root = repo_root();
    let mut found = Vec::new();
    for doc in documents() {
        let text = std::fs::read_to_string(root.join(&doc)).expect("readable");
        for what in leaving(&doc, &text) {
            found.push(format!("{}: {what}", doc.display()));
        }
    }
    assert!(
        found.is_empty(),
        "links or paths that leave the repository:\n{}",
        found.join("\n")
    );
}

#[test]
fn readme_lists_every_document() {
    let root = repo_root();
    let readme = std::fs::read_to_string(root.join("README.md")).expect("readable");
    let heading = "## Where the rest lives";
    let start = readme
        .find(heading)
        .expect("README has \"Where the rest lives\"");
    let section = &readme[start + heading.len()..];
    let section = section.find("\n## ").map_or(section, |end| &section[..end]);
    let listed: HashSet<String> = targets(section)
        .into_iter()
        .map(|t| t.split('#').next().unwrap_or("").to_owned())
        .collect();
    let missing: Vec<String> = documents()
        .into_iter()
        .filter(|d| d.starts_with("docs"))
        .map(|d| d.display().to_string())
        .filter(|d| !listed.contains(d))
        .collect();
    assert!(
        missing.is_empty(),
        "not in README's \"Where the rest lives\": {}",
        missing.join(", ")
    );
}
