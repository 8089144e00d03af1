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
pub fn write_workato<W: Write, T: Serialize + ?Sized>(writer: W, value: &T) -> io::Result<()> {
    let mut ser = serde_json::Serializer::with_formatter(writer, RubyPrettyFormatter::default());
    value.serialize(&mut ser).map_err(io::Error::other)
}

/// Serialises a report or state document: 2-space indent, trailing newline (for humans and git).
pub fn to_pretty_vec<T: Serialize + ?Sized>(value: &T) -> Vec<u8> {
    let mut out = serde_json::to_vec_pretty(value).expect("serialising to a Vec cannot fail");
    out.push(b'\n');
    out
}

/// A serde_json formatter that reproduces Ruby's legacy `JSON.pretty_generate`.
#[derive(Debug, Default)]
struct RubyPrettyFormatter {
    indent: usize,
    has_value: bool,
}

impl RubyPrettyFormatter {
    fn write_indent<W: ?Sized + Write>(&self, writer: &mut W) -> io::Result<()> {
        for _ in 0..self.indent {
            writer.write_all(b"  ")?;
        }
        Ok(())
    }
}

impl Formatter for RubyPrettyFormatter {
    fn begin_array<W: ?Sized + Write>(&mut self, writer: &mut W) -> io::Result<()> {
        self.indent += 1;
        self.has_value = false;
        writer.write_all(b"[")
    }

    fn end_array<W: ?Sized + Write>(&mut self, writer: &mut W) -> io::Result<()> {
        self.indent -= 1;
        if self.has_value {
            writer.write_all(b"\n")?;
        } else {
            writer.write_all(b"\n\n")?;
        }
        self.write_indent(writer)?;
        writer.write_all(b"]")
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
        self.indent -= 1;
        writer.write_all(b"\n")?;
        self.write_indent(writer)?;
        writer.write_all(b"}")
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
}

#[cfg(test)]
mod tests {
    use super::*;

    fn roundtrip(text: &str) -> String {
        let value = parse("test.json", text.as_bytes()).unwrap();
        String::from_utf8(to_workato_vec(&value)).unwrap()
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
