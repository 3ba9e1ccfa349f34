//! Human output: aligned tables, bars, numbers.
//!
//! Tables are laid out by `comfy-table`, which measures text in terminal
//! cells (a CJK character or an emoji takes two), with no borders: two
//! spaces between columns, no trailing spaces. Clipping a long cell to its
//! column (ending it in `…`) and keeping a row on one line are done here,
//! in the same cells.

use comfy_table::{presets, CellAlignment, ColumnConstraint, Width};
use unicode_width::{UnicodeWidthChar as _, UnicodeWidthStr as _};

/// Spaces between two columns.
const GAP: u16 = 2;

/// Columns, each left- or right-aligned, optionally capped in width (longer
/// cells end in `…`).
pub struct Table {
    columns: Vec<Column>,
    rows: Vec<Vec<String>>,
}

struct Column {
    header: String,
    right: bool,
    max: Option<usize>,
    fixed: bool,
}

impl Table {
    pub fn new() -> Self {
        Table {
            columns: Vec::new(),
            rows: Vec::new(),
        }
    }

    pub fn left(mut self, header: &str) -> Self {
        self.columns.push(Column {
            header: header.to_owned(),
            right: false,
            max: None,
            fixed: false,
        });
        self
    }

    pub fn right(mut self, header: &str) -> Self {
        self.columns.push(Column {
            header: header.to_owned(),
            right: true,
            max: None,
            fixed: false,
        });
        self
    }

    /// Caps the width of the last column added, in terminal cells.
    pub fn max(mut self, width: usize) -> Self {
        if let Some(column) = self.columns.last_mut() {
            column.max = Some(width.max(2));
        }
        self
    }

    /// Makes the last column added exactly `width` cells wide (clipped,
    /// padded), so rows printed at different times line up.
    pub fn fixed(mut self, width: usize) -> Self {
        if let Some(column) = self.columns.last_mut() {
            column.max = Some(width.max(2));
            column.fixed = true;
        }
        self
    }

    pub fn row<S: Into<String>>(&mut self, cells: impl IntoIterator<Item = S>) {
        self.rows.push(cells.into_iter().map(Into::into).collect());
    }

    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// The table as lines, two spaces between columns, no trailing spaces.
    pub fn render(&self) -> String {
        self.lines(true)
    }

    /// The rows only, without the header line.
    pub fn render_rows(&self) -> String {
        self.lines(false)
    }

    fn lines(&self, header: bool) -> String {
        let mut table = comfy_table::Table::new();
        table.load_preset(presets::NOTHING);
        if header {
            table.set_header(self.columns.iter().map(|c| clean(&c.header)));
        }
        for row in &self.rows {
            table.add_row(self.columns.iter().enumerate().map(|(i, column)| {
                let cell = row.get(i).map(String::as_str).unwrap_or("");
                clip(&clean(cell), column.max)
            }));
        }
        let last = self.columns.len().saturating_sub(1);
        for (i, (spec, column)) in self.columns.iter().zip(table.column_iter_mut()).enumerate() {
            let gap = if i == last { 0 } else { GAP };
            column.set_padding((0, gap));
            column.set_cell_alignment(if spec.right {
                CellAlignment::Right
            } else {
                CellAlignment::Left
            });
            if let (true, Some(width)) = (spec.fixed, spec.max) {
                let width = u16::try_from(width).unwrap_or(u16::MAX).saturating_add(gap);
                column.set_constraint(ColumnConstraint::Absolute(Width::Fixed(width)));
            }
        }
        let mut out = String::new();
        for line in table.lines() {
            out.push_str(line.trim_end());
            out.push('\n');
        }
        out
    }
}

/// Control characters (a provider's event name may carry a newline) shown
/// as spaces, so a row stays one line.
fn clean(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

/// `text` in at most `max` cells: cut where it would not fit, and `…`.
fn clip(text: &str, max: Option<usize>) -> String {
    let Some(max) = max.filter(|max| text.width() > *max) else {
        return text.to_owned();
    };
    let room = max.saturating_sub(1);
    let mut cells = 0;
    let mut out: String = text
        .chars()
        .take_while(|c| {
            cells += c.width().unwrap_or(0);
            cells <= room
        })
        .collect();
    // A sequence (an emoji and its variation selector) can be wider than
    // its characters one by one.
    while out.width() > room {
        out.pop();
    }
    out.push('…');
    out
}

/// A horizontal bar `count/max` of `width` cells, in eighths of a cell;
/// any non-zero count gets at least a sliver.
pub fn bar(count: u64, max: u64, width: usize) -> String {
    const PARTS: [char; 8] = [' ', '▏', '▎', '▍', '▌', '▋', '▊', '▉'];
    if count == 0 || max == 0 || width == 0 {
        return String::new();
    }
    let eighths = ((count as f64 / max as f64) * (width * 8) as f64).round() as usize;
    let eighths = eighths.clamp(1, width * 8);
    let mut out = "█".repeat(eighths / 8);
    if eighths % 8 > 0 {
        out.push(PARTS[eighths % 8]);
    }
    out
}

/// `1 event`, `2,000 events`.
pub fn count(n: u64, one: &str, many: &str) -> String {
    format!("{} {}", thousands(n), if n == 1 { one } else { many })
}

/// `1234567` as `1,234,567`.
pub fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_align_and_numbers_go_right() {
        let mut table = Table::new().left("PROVIDER").left("TYPE").right("COUNT");
        table.row(["flashy", "email.opened", "12"]);
        table.row(["sendpulse", "unknown", "3"]);
        assert_eq!(
            table.render(),
            "PROVIDER   TYPE          COUNT\n\
             flashy     email.opened     12\n\
             sendpulse  unknown           3\n"
        );
    }

    #[test]
    fn long_cells_are_clipped_and_control_characters_removed() {
        let mut table = Table::new().left("EVENT").max(8).left("ID");
        table.row(["message\nopened by user", "x"]);
        table.row(["сообщение", "y"]);
        assert_eq!(table.render(), "EVENT     ID\nmessage…  x\nсообщен…  y\n");
    }

    #[test]
    fn fixed_columns_line_up_across_separate_prints() {
        let mut a = Table::new().left("WHEN").fixed(6).left("WHAT");
        a.row(["today", "x"]);
        let mut b = Table::new().left("WHEN").fixed(6).left("WHAT");
        b.row(["yesterday", "y"]);
        assert_eq!(a.render(), "WHEN    WHAT\ntoday   x\n");
        assert_eq!(b.render_rows(), "yeste…  y\n");
    }

    #[test]
    fn double_width_text_is_measured_in_cells() {
        let mut table = Table::new().left("EVENT").max(8).left("ID");
        table.row(["イベント", "x"]);
        table.row(["イベント名前", "y"]);
        table.row(["ab😀", "z"]);
        assert_eq!(
            table.render(),
            "EVENT     ID\n\
             イベント  x\n\
             イベン…   y\n\
             ab😀      z\n"
        );
        let mut fixed = Table::new().left("E").fixed(5).left("ID");
        fixed.row(["日本語です", "x"]);
        assert_eq!(fixed.render_rows(), "日本…  x\n");
    }

    #[test]
    fn missing_cells_are_blank_and_lines_have_no_trailing_spaces() {
        let mut table = Table::new().left("A").left("B");
        table.row(["1"]);
        assert_eq!(table.render(), "A  B\n1\n");
    }

    #[test]
    fn bars_scale_to_the_largest_count() {
        assert_eq!(bar(10, 10, 4), "████");
        assert_eq!(bar(5, 10, 4), "██");
        assert_eq!(bar(1, 16, 4), "▎");
        assert_eq!(bar(1, 1_000_000, 4), "▏");
        assert_eq!(bar(0, 10, 4), "");
    }

    #[test]
    fn counted_nouns() {
        assert_eq!(count(1, "event", "events"), "1 event");
        assert_eq!(count(0, "event", "events"), "0 events");
        assert_eq!(count(2500, "body", "bodies"), "2,500 bodies");
    }

    #[test]
    fn thousands_separators() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1000), "1,000");
        assert_eq!(thousands(1234567), "1,234,567");
    }
}
