//! Workato's JSON style: reading any valid JSON, writing exactly what Workato writes.
//!
//! Workato serialises with Ruby's legacy `JSON.pretty_generate`: 2-space indent, an empty
//! object as `{\n<indent>}`, an empty array as `[\n\n<indent>]`, non-ASCII characters raw,
//! `<`, `>` and `&` unescaped, and no trailing newline. Object keys keep their order and
//! numbers keep their exact text (serde_json's `preserve_order` and `arbitrary_precision`),
//! so reading a Workato file and writing it back is byte-identical.

use std::io::{self, Write};

use serde::Serialize;
use serde_json::Value;
use serde_json::ser::Formatter;

use crate::error::{Error, Result};

/// Parses a JSON document; `origin` names the file or entry in errors.
///
/// Accepts a leading UTF-8 byte order mark and any valid formatting. Nesting deeper than
/// serde_json's recursion limit (128) is an error, never a stack overflow.
pub fn parse(origin: &str, bytes: &[u8]) -> Result<Value> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    serde_json::from_slice(bytes).map_err(|e| Error::json(origin, &e))
}

/// Serialises `value` in Workato's style (no trailing newline).
pub fn to_workato_vec<T: Serialize + ?Sized>(value: &T) -> Vec<u8> {
    let mut out = Vec::with_capacity(256);
    write_workato(&mut out, value).expect("writing JSON to a Vec cannot fail");
    out
}

/// Serialises `value` in Workato's style into `writer` (no trailing newline).
pub(crate) fn write_workato<W: Write, T: Serialize + ?Sized>(writer: W, value: &T) -> io::Result<()> {
    let style = Style::workato();
    let formatter = StyledFormatter {
        style: &style,
        indent: 0,
        has_value: false,
    };
    let mut ser = serde_json::Serializer::with_formatter(writer, formatter);
    value.serialize(&mut ser).map_err(io::Error::other)
}

/// Serialises a report or state document: 2-space indent, trailing newline (for humans and git).
pub fn to_pretty_vec<T: Serialize + ?Sized>(value: &T) -> Vec<u8> {
    let mut out = serde_json::to_vec_pretty(value).expect("serialising to a Vec cannot fail");
    out.push(b'\n');
    out
}

/// The JSON style of one file, detected from its bytes, so that a file rlcm must rewrite keeps
/// the style it had and a diff shows only what changed.
///
/// Three families occur in real trees: Workato's own files (Ruby's legacy `pretty_generate`:
/// `{\n}` / `[\n\n]` for empty containers, no trailing newline), files written by Go tools such
/// as `wk` (`json.MarshalIndent`: `{}` / `[]`, sorted keys, `<`, `>` and `&` as `\u003c`-style
/// escapes, a trailing newline), and other pretty printers (Python's `json.dumps(indent=...)`,
/// serde_json: `{}` / `[]`, optionally `\uXXXX` for every non-ASCII character).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Style {
    /// One level of indentation (two spaces, four, a tab).
    pub indent: Vec<u8>,
    /// Empty containers as Ruby's legacy generator writes them.
    pub ruby_empty: bool,
    /// `<`, `>` and `&` (and U+2028, U+2029) written as `\u003c`-style escapes.
    pub escape_html: bool,
    /// Every non-ASCII character written as `\uXXXX`.
    pub ascii_only: bool,
    /// A newline after the document.
    pub trailing_newline: bool,
}

impl Style {
    /// Workato's style (see the module documentation).
    pub fn workato() -> Style {
        Style {
            indent: b"  ".to_vec(),
            ruby_empty: true,
            escape_html: false,
            ascii_only: false,
            trailing_newline: false,
        }
    }

    /// Detects the style of `bytes` (a JSON document). What the bytes do not show (an empty
    /// container, a character that would be escaped) follows the style family the rest of the
    /// file shows; a file that shows nothing is taken as Workato's.
    pub(crate) fn detect(bytes: &[u8]) -> Style {
        let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
        let trailing_newline = bytes.ends_with(b"\n");
        let indent = bytes
            .iter()
            .position(|&b| b == b'\n')
            .map(|nl| {
                bytes[nl + 1..]
                    .iter()
                    .take_while(|&&b| b == b' ' || b == b'\t')
                    .copied()
                    .collect::<Vec<u8>>()
            })
            .filter(|i| !i.is_empty())
            .unwrap_or_else(|| b"  ".to_vec());
        let finder = |needle: &[u8]| memchr::memmem::find(bytes, needle).is_some();
        let compact_empty = finder(b"[]") || finder(b"{}");
        let ruby_empty = finder(b"[\n\n") || {
            // `{` at the end of a line, then only indentation before `}`.
            let mut found = false;
            for pos in memchr::memmem::find_iter(bytes, b"{\n") {
                let rest = &bytes[pos + 2..];
                let ws = rest.iter().take_while(|&&b| b == b' ' || b == b'\t').count();
                if rest.get(ws) == Some(&b'}') {
                    found = true;
                    break;
                }
            }
            found
        };
        let ruby_empty = if ruby_empty || compact_empty {
            ruby_empty && !compact_empty
        } else {
            // Nothing to go by: Workato's files have no trailing newline, other tools' do.
            !trailing_newline
        };
        let escaped_html = finder(b"\\u003c") || finder(b"\\u003e") || finder(b"\\u0026");
        let raw_html = bytes.iter().any(|&b| b == b'<' || b == b'>' || b == b'&');
        let escape_html = if escaped_html || raw_html {
            escaped_html && !raw_html
        } else {
            // Go's encoder escapes them; it also sorts keys and ends with a newline.
            !ruby_empty && trailing_newline
        };
        let raw_non_ascii = bytes.iter().any(|&b| b >= 0x80);
        let ascii_only = !raw_non_ascii && has_non_ascii_escape(bytes);
        Style {
            indent,
            ruby_empty,
            escape_html,
            ascii_only,
            trailing_newline,
        }
    }
}

/// True when the bytes hold a `\uXXXX` escape of a character above U+007F.
fn has_non_ascii_escape(bytes: &[u8]) -> bool {
    memchr::memmem::find_iter(bytes, b"\\u").any(|pos| {
        // An escaped backslash before it (`\\u`) is not an escape.
        let backslashes = bytes[..pos].iter().rev().take_while(|&&b| b == b'\\').count();
        backslashes % 2 == 0
            && bytes
                .get(pos + 2..pos + 6)
                .and_then(|h| std::str::from_utf8(h).ok())
                .and_then(|h| u32::from_str_radix(h, 16).ok())
                .is_some_and(|c| c > 0x7f)
    })
}

/// Serialises `value` in `style`.
pub(crate) fn to_styled_vec<T: Serialize + ?Sized>(value: &T, style: &Style) -> Vec<u8> {
    let mut out = Vec::with_capacity(256);
    let formatter = StyledFormatter {
        style,
        indent: 0,
        has_value: false,
    };
    let mut ser = serde_json::Serializer::with_formatter(&mut out, formatter);
    value
        .serialize(&mut ser)
        .expect("writing JSON to a Vec cannot fail");
    if style.trailing_newline {
        out.push(b'\n');
    }
    out
}

/// A pretty formatter for a [`Style`]: Workato's (Ruby's legacy `JSON.pretty_generate`) or
/// any detected one.
struct StyledFormatter<'s> {
    style: &'s Style,
    indent: usize,
    has_value: bool,
}

impl StyledFormatter<'_> {
    fn write_indent<W: ?Sized + Write>(&self, writer: &mut W) -> io::Result<()> {
        for _ in 0..self.indent {
            writer.write_all(&self.style.indent)?;
        }
        Ok(())
    }

    fn end_container<W: ?Sized + Write>(
        &mut self,
        writer: &mut W,
        close: &[u8],
        empty_ruby: &[u8],
    ) -> io::Result<()> {
        self.indent -= 1;
        if self.has_value {
            writer.write_all(b"\n")?;
            self.write_indent(writer)?;
        } else if self.style.ruby_empty {
            writer.write_all(empty_ruby)?;
            self.write_indent(writer)?;
        }
        self.has_value = true;
        writer.write_all(close)
    }
}

impl Formatter for StyledFormatter<'_> {
    fn begin_array<W: ?Sized + Write>(&mut self, writer: &mut W) -> io::Result<()> {
        self.indent += 1;
        self.has_value = false;
        writer.write_all(b"[")
    }

    fn end_array<W: ?Sized + Write>(&mut self, writer: &mut W) -> io::Result<()> {
        self.end_container(writer, b"]", b"\n\n")
    }

    fn begin_array_value<W: ?Sized + Write>(&mut self, writer: &mut W, first: bool) -> io::Result<()> {
        writer.write_all(if first { b"\n" } else { b",\n" })?;
        self.write_indent(writer)
    }

    fn end_array_value<W: ?Sized + Write>(&mut self, _writer: &mut W) -> io::Result<()> {
        self.has_value = true;
        Ok(())
    }

    fn begin_object<W: ?Sized + Write>(&mut self, writer: &mut W) -> io::Result<()> {
        self.indent += 1;
        self.has_value = false;
        writer.write_all(b"{")
    }

    fn end_object<W: ?Sized + Write>(&mut self, writer: &mut W) -> io::Result<()> {
        self.end_container(writer, b"}", b"\n")
    }

    fn begin_object_key<W: ?Sized + Write>(&mut self, writer: &mut W, first: bool) -> io::Result<()> {
        writer.write_all(if first { b"\n" } else { b",\n" })?;
        self.write_indent(writer)
    }

    fn begin_object_value<W: ?Sized + Write>(&mut self, writer: &mut W) -> io::Result<()> {
        writer.write_all(b": ")
    }

    fn end_object_value<W: ?Sized + Write>(&mut self, _writer: &mut W) -> io::Result<()> {
        self.has_value = true;
        Ok(())
    }

    fn write_string_fragment<W: ?Sized + Write>(&mut self, writer: &mut W, fragment: &str) -> io::Result<()> {
        if !self.style.escape_html && !self.style.ascii_only {
            return writer.write_all(fragment.as_bytes());
        }
        let mut start = 0;
        for (i, c) in fragment.char_indices() {
            let escape = (self.style.escape_html && matches!(c, '<' | '>' | '&' | '\u{2028}' | '\u{2029}'))
                || (self.style.ascii_only && !c.is_ascii());
            if !escape {
                continue;
            }
            writer.write_all(&fragment.as_bytes()[start..i])?;
            let mut units = [0u16; 2];
            for unit in c.encode_utf16(&mut units) {
                write!(writer, "\\u{unit:04x}")?;
            }
            start = i + c.len_utf8();
        }
        writer.write_all(&fragment.as_bytes()[start..])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn roundtrip(text: &str) -> String {
        let value = parse("test.json", text.as_bytes()).unwrap();
        String::from_utf8(to_workato_vec(&value)).unwrap()
    }

    fn styled_roundtrip(text: &str) -> String {
        let style = Style::detect(text.as_bytes());
        let value = parse("test.json", text.as_bytes()).unwrap();
        String::from_utf8(to_styled_vec(&value, &style)).unwrap()
    }

    #[test]
    fn go_style_files_keep_their_style() {
        // As wk writes them: sorted keys, `{}` / `[]`, HTML escapes, a trailing newline.
        let text =
            "{\n  \"a\": [],\n  \"b\": {},\n  \"c\": \"x \\u003c y \\u0026 z\",\n  \"d\": \"日本\"\n}\n";
        let style = Style::detect(text.as_bytes());
        assert!(
            style.escape_html && !style.ruby_empty && style.trailing_newline,
            "{style:?}"
        );
        assert_eq!(styled_roundtrip(text), text);
    }

    #[test]
    fn workato_style_is_detected() {
        let text = "{\n  \"a\": [\n\n  ],\n  \"b\": \"<&>\"\n}";
        assert_eq!(Style::detect(text.as_bytes()), Style::workato());
        assert_eq!(styled_roundtrip(text), text);
    }

    #[test]
    fn python_style_with_ascii_escapes_and_four_spaces() {
        let text = "{\n    \"name\": \"caf\\u00e9 \\ud83d\\ude00\",\n    \"list\": []\n}";
        let style = Style::detect(text.as_bytes());
        assert!(
            style.ascii_only && style.indent == b"    " && !style.trailing_newline,
            "{style:?}"
        );
        assert_eq!(styled_roundtrip(text), text);
    }

    #[test]
    fn empty_containers_follow_ruby_legacy_style() {
        let text =
            "{\n  \"a\": {\n  },\n  \"b\": [\n\n  ],\n  \"c\": [\n    {\n    },\n    [\n\n    ]\n  ]\n}";
        assert_eq!(roundtrip(text), text);
        assert_eq!(roundtrip("{}"), "{\n}");
        assert_eq!(roundtrip("[]"), "[\n\n]");
    }

    #[test]
    fn keeps_key_order_numbers_and_raw_unicode() {
        let text = "{\n  \"z\": 1.50,\n  \"a\": \"日本語 <&>\",\n  \"n\": 12345678901234567890123,\n  \"e\": 1.0e+20\n}";
        assert_eq!(roundtrip(text), text);
    }

    #[test]
    fn accepts_other_formatting() {
        assert_eq!(
            roundtrip("\u{feff}{\"b\":1,\"a\":[1,2]}\n"),
            "{\n  \"b\": 1,\n  \"a\": [\n    1,\n    2\n  ]\n}"
        );
    }

    #[test]
    fn deep_nesting_is_an_error_not_a_crash() {
        let text = "[".repeat(10_000) + &"]".repeat(10_000);
        let err = parse("deep.json", text.as_bytes()).unwrap_err();
        assert!(err.to_string().contains("deep.json"), "{err}");
    }
}
