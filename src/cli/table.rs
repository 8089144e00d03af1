//! Aligned text tables for human output: columns padded by display width (a CJK character
//! takes two columns), the last column wrapped to the terminal width when stdout is one.

use unicode_width::{UnicodeWidthChar, UnicodeWidthStr};

/// One cell: its text and the style it is shown in (applied after padding, so colour never
/// shifts a column).
#[derive(Debug, Clone, Default)]
pub struct Cell {
    text: String,
    style: anstyle::Style,
}

impl Cell {
    /// A cell in `style`.
    pub fn styled(text: impl Into<String>, style: anstyle::Style) -> Self {
        Cell {
            text: text.into(),
            style,
        }
    }
}

impl From<String> for Cell {
    fn from(text: String) -> Self {
        Cell {
            text,
            style: anstyle::Style::new(),
        }
    }
}

impl From<&str> for Cell {
    fn from(text: &str) -> Self {
        Cell::from(text.to_string())
    }
}

/// A table being built.
#[derive(Debug, Default)]
pub struct Table {
    rows: Vec<Vec<Cell>>,
    right: Vec<usize>,
    indent: usize,
    width: Option<usize>,
}

/// The terminal's width when stdout is a terminal (or `COLUMNS` says), else none: piped
/// output is never wrapped.
pub fn terminal_width() -> Option<usize> {
    use std::io::IsTerminal;
    if !std::io::stdout().is_terminal() {
        return None;
    }
    if let Some((terminal_size::Width(w), _)) = terminal_size::terminal_size() {
        return Some(w as usize);
    }
    std::env::var("COLUMNS").ok().and_then(|c| c.parse().ok())
}

impl Table {
    /// A table indented by `indent` spaces, wrapped to the terminal.
    pub fn new(indent: usize) -> Self {
        Table {
            indent,
            width: terminal_width(),
            ..Default::default()
        }
    }

    /// Right-aligns column `i` (numbers).
    pub fn right(mut self, i: usize) -> Self {
        self.right.push(i);
        self
    }

    /// Wraps the last column to `width` columns in all (`None`: never).
    #[cfg(test)]
    pub fn wrap_at(mut self, width: Option<usize>) -> Self {
        self.width = width;
        self
    }

    /// Adds a row.
    pub fn row(&mut self, cells: Vec<Cell>) {
        self.rows.push(cells);
    }

    /// The table as lines of text.
    pub fn render(&self) -> String {
        let cols = self.rows.iter().map(Vec::len).max().unwrap_or(0);
        let mut widths = vec![0usize; cols];
        for r in &self.rows {
            // The last cell of a row does not widen its column (it may be long and wraps),
            // unless it is right-aligned.
            for (i, c) in r.iter().enumerate() {
                if i + 1 < r.len() || self.right.contains(&i) {
                    widths[i] = widths[i].max(c.text.width());
                }
            }
        }
        let mut o = String::new();
        for r in &self.rows {
            let mut line = " ".repeat(self.indent);
            let mut used = self.indent;
            for (i, c) in r.iter().enumerate() {
                let last = i + 1 == r.len() && !self.right.contains(&i);
                let w = c.text.width();
                if last {
                    let start = used;
                    let room = self.width.map(|t| t.saturating_sub(start)).filter(|&r| r >= 20);
                    let pieces = match room {
                        Some(room) if w > room => wrap(&c.text, room),
                        _ => vec![c.text.clone()],
                    };
                    for (k, p) in pieces.iter().enumerate() {
                        if k > 0 {
                            line.push('\n');
                            line.push_str(&" ".repeat(start));
                        }
                        line.push_str(&paint(c, p));
                    }
                } else {
                    let pad = widths[i].saturating_sub(w);
                    if self.right.contains(&i) {
                        line.push_str(&" ".repeat(pad));
                        line.push_str(&paint(c, &c.text));
                    } else {
                        line.push_str(&paint(c, &c.text));
                        line.push_str(&" ".repeat(pad));
                    }
                    line.push_str("  ");
                    used += widths[i] + 2;
                }
            }
            o.push_str(line.trim_end());
            o.push('\n');
        }
        o
    }
}

fn paint(c: &Cell, text: &str) -> String {
    if c.style == anstyle::Style::new() || text.is_empty() {
        text.to_string()
    } else {
        format!("{}{text}{:#}", c.style, c.style)
    }
}

/// Splits `s` into pieces of at most `room` display columns, preferring to break after a
/// space or `/`.
fn wrap(s: &str, room: usize) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut w = 0;
    let mut last_break: Option<usize> = None; // byte index in `cur` after a break char
    for ch in s.chars() {
        let cw = ch.width().unwrap_or(0);
        if w + cw > room && !cur.is_empty() {
            match last_break.filter(|&b| b > 0 && b < cur.len()) {
                Some(b) => {
                    let rest = cur.split_off(b);
                    out.push(cur.trim_end().to_string());
                    cur = rest;
                }
                None => out.push(std::mem::take(&mut cur)),
            }
            w = cur.width();
            last_break = None;
        }
        cur.push(ch);
        w += cw;
        if ch == ' ' || ch == '/' {
            last_break = Some(cur.len());
        }
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_align_by_display_width() {
        let mut t = Table::new(2).wrap_at(None);
        t.row(vec!["注文を同期".into(), "recipe".into(), "a".into()]);
        t.row(vec!["sync".into(), "connection".into(), "b".into()]);
        let text = t.render();
        let lines: Vec<&str> = text.lines().collect();
        // "a" and "b" start at the same display column.
        let col = |l: &str, needle: char| l[..l.find(needle).unwrap()].width();
        assert_eq!(col(lines[0], 'a'), col(lines[1], 'b'), "{text}");
    }

    #[test]
    fn the_last_column_wraps_to_the_width() {
        let mut t = Table::new(0).wrap_at(Some(40));
        t.row(vec![
            "update".into(),
            "orders/very/long/path/to/a/recipe/that/goes/on/and/on.recipe.json".into(),
        ]);
        let text = t.render();
        assert!(text.lines().count() > 1, "{text}");
        assert!(text.lines().all(|l| l.width() <= 40), "{text}");
        // Continuation lines start under the column.
        assert!(text.lines().skip(1).all(|l| l.starts_with("        ")), "{text}");
    }

    #[test]
    fn wide_characters_wrap_without_splitting() {
        let pieces = wrap(&"注".repeat(30), 21);
        assert!(pieces.iter().all(|p| p.width() <= 21));
        assert_eq!(pieces.concat(), "注".repeat(30));
    }
}
