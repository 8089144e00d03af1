//! The summary cache's encoding: a hand-written, length-checked binary form (no serde visitors),
//! with every interned name stored once in a string table frame and written as its index.
//!
//! Decoding a 100,000-recipe cache was a third of a whole-workspace command: every `IStr` was
//! interned again (hash, lock, compare) and every hash decoded as 64 hex characters. Here a
//! name costs one varint and one reference-count increment, a hash 32 bytes.
//!
//! Every read is bounds-checked and every length is checked against the bytes left before
//! anything is allocated, so a damaged file is refused ([`Reader`] answers `None`), never a panic.

use std::collections::HashMap;

use crate::asset::{AssetSummary, Binding, InvalidField, JsonKind, StepKind, StepUse, ZipRef};
use crate::istr::IStr;

use super::{CachedData, CachedDataRef, CachedDefinition, CachedEntry, CachedEntryRef, Slot};

/// The interned names of a cache being written, each with its index in the string table.
#[derive(Default)]
pub(super) struct Names<'a> {
    ids: HashMap<&'a str, u32>,
    order: Vec<&'a str>,
}

impl<'a> Names<'a> {
    fn add(&mut self, s: &'a str) {
        if !self.ids.contains_key(s)
            && let Ok(id) = u32::try_from(self.order.len())
        {
            self.ids.insert(s, id);
            self.order.push(s);
        }
    }

    /// Every name the summaries use.
    pub(super) fn of(entries: &[CachedEntryRef<'a>]) -> Names<'a> {
        let mut names = Names::default();
        for e in entries {
            let CachedDataRef::Asset(s) = &e.data else {
                continue;
            };
            for r in &s.refs {
                names.add(&r.key);
                names.add(&r.zip_name);
                if let Some(n) = &r.name {
                    names.add(n);
                }
            }
            for b in &s.bindings {
                names.add(&b.provider);
                if let Some(c) = &b.connection {
                    names.add(c);
                }
            }
            for u in &s.uses {
                names.add(&u.provider);
                names.add(&u.name);
            }
            for n in s.properties.iter().chain(&s.project_properties).chain(&s.tags) {
                names.add(n);
            }
            if let Some(p) = &s.provider {
                names.add(p);
            }
        }
        names
    }

    /// The string table frame.
    pub(super) fn table(&self) -> Vec<u8> {
        let mut out = Vec::new();
        put_uv(&mut out, self.order.len() as u64);
        for s in &self.order {
            put_str(&mut out, s);
        }
        out
    }

    fn put(&self, out: &mut Vec<u8>, s: &str) -> Option<()> {
        put_uv(out, u64::from(*self.ids.get(s)?));
        Some(())
    }

    fn put_opt(&self, out: &mut Vec<u8>, s: Option<&IStr>) -> Option<()> {
        match s {
            None => out.push(0),
            Some(s) => {
                out.push(1);
                self.put(out, s)?;
            }
        }
        Some(())
    }
}

fn put_uv(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn put_str(out: &mut Vec<u8>, s: &str) {
    put_uv(out, s.len() as u64);
    out.extend_from_slice(s.as_bytes());
}

fn put_opt_str(out: &mut Vec<u8>, s: Option<&str>) {
    match s {
        None => out.push(0),
        Some(s) => {
            out.push(1);
            put_str(out, s);
        }
    }
}

fn put_strs(out: &mut Vec<u8>, v: &[String]) {
    put_uv(out, v.len() as u64);
    for s in v {
        put_str(out, s);
    }
}

/// Lowercase hex as its `N` bytes (a blake3 hex digest as its 32); `None` when it is not that
/// (a summary entry is then not cached).
pub(crate) fn unhex<const N: usize>(hex: &str) -> Option<[u8; N]> {
    let b = hex.as_bytes();
    if b.len() != 2 * N {
        return None;
    }
    let digit = |c: u8| match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        _ => None,
    };
    let mut out = [0u8; N];
    for (i, o) in out.iter_mut().enumerate() {
        *o = (digit(b[2 * i])? << 4) | digit(b[2 * i + 1])?;
    }
    Some(out)
}

/// The lowercase hex form of bytes (for 32, what `blake3::Hash::to_hex` writes).
pub(crate) fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for &b in bytes {
        s.push(char::from(DIGITS[usize::from(b >> 4)]));
        s.push(char::from(DIGITS[usize::from(b & 15)]));
    }
    s
}

fn kind_byte(k: JsonKind) -> u8 {
    match k {
        JsonKind::Object => 0,
        JsonKind::Array => 1,
        JsonKind::String => 2,
        JsonKind::Integer => 3,
        JsonKind::Number => 4,
        JsonKind::Bool => 5,
        JsonKind::Null => 6,
    }
}

fn byte_kind(b: u8) -> Option<JsonKind> {
    Some(match b {
        0 => JsonKind::Object,
        1 => JsonKind::Array,
        2 => JsonKind::String,
        3 => JsonKind::Integer,
        4 => JsonKind::Number,
        5 => JsonKind::Bool,
        6 => JsonKind::Null,
        _ => return None,
    })
}

fn put_summary(out: &mut Vec<u8>, s: &AssetSummary, names: &Names<'_>) -> Option<()> {
    put_opt_str(out, s.name.as_deref());
    put_uv(out, s.refs.len() as u64);
    for r in &s.refs {
        names.put(out, &r.key)?;
        names.put(out, &r.zip_name)?;
        names.put_opt(out, r.name.as_ref())?;
    }
    put_uv(out, s.bindings.len() as u64);
    for b in &s.bindings {
        names.put(out, &b.provider)?;
        names.put_opt(out, b.connection.as_ref())?;
        out.push(u8::from(b.custom));
    }
    put_uv(out, s.uses.len() as u64);
    for u in &s.uses {
        names.put(out, &u.provider)?;
        out.push(match u.kind {
            StepKind::Trigger => 0,
            StepKind::Action => 1,
        });
        names.put(out, &u.name)?;
        put_uv(out, u.steps.len() as u64);
        for &n in &u.steps {
            put_uv(out, n);
        }
    }
    for list in [&s.properties, &s.project_properties, &s.tags] {
        put_uv(out, list.len() as u64);
        for n in list {
            names.put(out, n)?;
        }
    }
    names.put_opt(out, s.provider.as_ref())?;
    match s.version_no {
        None => out.push(0),
        Some(v) => {
            out.push(1);
            put_uv(out, v);
        }
    }
    put_opt_str(out, s.note.as_deref());
    put_strs(out, &s.keys);
    put_uv(out, s.invalid.len() as u64);
    for f in &s.invalid {
        put_str(out, &f.field);
        out.push(kind_byte(f.expected));
        out.push(f.found.map_or(0, |k| kind_byte(k) + 1));
    }
    Some(())
}

/// Appends one entry; `None` (and nothing written that counts: the caller truncates) when it
/// cannot be encoded.
fn put_entry(out: &mut Vec<u8>, e: &CachedEntryRef<'_>, names: &Names<'_>) -> Option<()> {
    let hash = unhex::<32>(e.hash)?;
    let canonical = if e.canonical == e.hash {
        None
    } else {
        Some(unhex::<32>(e.canonical)?)
    };
    put_str(out, e.path);
    put_uv(out, e.size);
    put_uv(out, e.mtime);
    out.extend_from_slice(&hash);
    match canonical {
        None => out.push(0),
        Some(c) => {
            out.push(1);
            out.extend_from_slice(&c);
        }
    }
    match &e.data {
        CachedDataRef::Asset(s) => {
            out.push(0);
            put_summary(out, s, names)?;
        }
        CachedDataRef::Code(d) => {
            out.push(1);
            put_strs(out, &d.actions);
            put_strs(out, &d.triggers);
            put_opt_str(out, d.parse_error.as_deref());
            out.push(u8::from(d.custom_action));
        }
        CachedDataRef::Logo => out.push(2),
    }
    Some(())
}

/// One frame of entries: their count, then each (an entry that cannot be encoded is left out).
pub(super) fn entries_frame(entries: &[CachedEntryRef<'_>], names: &Names<'_>) -> Vec<u8> {
    let mut body = Vec::with_capacity(entries.len() * 256);
    let mut n = 0u64;
    for e in entries {
        let mark = body.len();
        if put_entry(&mut body, e, names).is_some() {
            n += 1;
        } else {
            body.truncate(mark);
        }
    }
    let mut out = Vec::with_capacity(body.len() + 10);
    put_uv(&mut out, n);
    out.extend_from_slice(&body);
    out
}

/// A bounds-checked reader of one frame: every method answers `None` on damaged input.
pub(super) struct Reader<'a> {
    b: &'a [u8],
}

impl<'a> Reader<'a> {
    pub(super) fn new(b: &'a [u8]) -> Reader<'a> {
        Reader { b }
    }

    /// True when every byte was read.
    pub(super) fn done(&self) -> bool {
        self.b.is_empty()
    }

    fn u8(&mut self) -> Option<u8> {
        let (&first, rest) = self.b.split_first()?;
        self.b = rest;
        Some(first)
    }

    fn flag(&mut self) -> Option<bool> {
        match self.u8()? {
            0 => Some(false),
            1 => Some(true),
            _ => None,
        }
    }

    fn uv(&mut self) -> Option<u64> {
        let mut v = 0u64;
        for shift in (0..64).step_by(7) {
            let b = self.u8()?;
            v |= u64::from(b & 0x7f).checked_shl(shift)?;
            if b & 0x80 == 0 {
                return Some(v);
            }
        }
        None
    }

    /// A count of items that take at least a byte each: never more than the bytes left.
    fn count(&mut self) -> Option<usize> {
        let n = usize::try_from(self.uv()?).ok()?;
        (n <= self.b.len()).then_some(n)
    }

    fn bytes(&mut self, n: usize) -> Option<&'a [u8]> {
        if n > self.b.len() {
            return None;
        }
        let (head, rest) = self.b.split_at(n);
        self.b = rest;
        Some(head)
    }

    fn str(&mut self) -> Option<&'a str> {
        let n = self.count()?;
        std::str::from_utf8(self.bytes(n)?).ok()
    }

    fn string(&mut self) -> Option<String> {
        self.str().map(str::to_string)
    }

    fn opt<T>(&mut self, f: impl FnOnce(&mut Self) -> Option<T>) -> Option<Option<T>> {
        if self.flag()? {
            f(self).map(Some)
        } else {
            Some(None)
        }
    }

    fn vec<T>(&mut self, mut f: impl FnMut(&mut Self) -> Option<T>) -> Option<Vec<T>> {
        let n = self.count()?;
        let mut v = Vec::with_capacity(n);
        for _ in 0..n {
            v.push(f(self)?);
        }
        Some(v)
    }

    fn sym(&mut self, table: &[IStr]) -> Option<IStr> {
        table.get(usize::try_from(self.uv()?).ok()?).cloned()
    }

    /// The string table frame's names, interned.
    pub(super) fn table(&mut self) -> Option<Vec<IStr>> {
        self.vec(|r| r.str().map(IStr::new))
    }

    fn summary(&mut self, t: &[IStr]) -> Option<AssetSummary> {
        let name = self.opt(Self::string)?;
        let refs = self.vec(|r| {
            Some(ZipRef {
                key: r.sym(t)?,
                zip_name: r.sym(t)?,
                name: r.opt(|r| r.sym(t))?,
            })
        })?;
        let bindings = self.vec(|r| {
            Some(Binding {
                provider: r.sym(t)?,
                connection: r.opt(|r| r.sym(t))?,
                custom: r.flag()?,
            })
        })?;
        let uses = self.vec(|r| {
            Some(StepUse {
                provider: r.sym(t)?,
                kind: if r.flag()? {
                    StepKind::Action
                } else {
                    StepKind::Trigger
                },
                name: r.sym(t)?,
                steps: r.vec(Self::uv)?,
            })
        })?;
        let properties = self.vec(|r| r.sym(t))?;
        let project_properties = self.vec(|r| r.sym(t))?;
        let tags = self.vec(|r| r.sym(t))?;
        let provider = self.opt(|r| r.sym(t))?;
        let version_no = self.opt(Self::uv)?;
        let note = self.opt(Self::string)?;
        let keys = self.vec(Self::string)?;
        let invalid = self.vec(|r| {
            let field = r.string()?;
            let expected = byte_kind(r.u8()?)?;
            let found = match r.u8()? {
                0 => None,
                k => Some(byte_kind(k - 1)?),
            };
            Some(InvalidField {
                field,
                expected,
                found,
            })
        })?;
        Some(AssetSummary {
            name,
            refs,
            bindings,
            uses,
            properties,
            project_properties,
            tags,
            provider,
            version_no,
            note,
            keys,
            invalid,
        })
    }

    fn slot(&mut self, t: &[IStr]) -> Option<Slot> {
        let path = self.string()?;
        let size = self.uv()?;
        let mtime = self.uv()?;
        let hash = self.bytes(32)?;
        let canonical = match self.flag()? {
            false => None,
            true => Some(hex(self.bytes(32)?)),
        };
        let hash = hex(hash);
        let data = match self.u8()? {
            0 => CachedData::Asset(self.summary(t)?),
            1 => CachedData::Code(CachedDefinition {
                actions: self.vec(Self::string)?,
                triggers: self.vec(Self::string)?,
                parse_error: self.opt(Self::string)?,
                custom_action: self.flag()?,
            }),
            2 => CachedData::Logo,
            _ => return None,
        };
        Some(Slot {
            path,
            size,
            mtime,
            entry: Some(CachedEntry {
                canonical: canonical.unwrap_or_else(|| hash.clone()),
                hash,
                data,
            }),
        })
    }

    /// A frame of entries, all of it.
    pub(super) fn slots(&mut self, table: &[IStr]) -> Option<Vec<Slot>> {
        let slots = self.vec(|r| r.slot(table))?;
        self.done().then_some(slots)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_field_round_trips_and_damage_is_refused() {
        let i = IStr::new;
        let summary = AssetSummary {
            name: Some("R é".into()),
            refs: vec![ZipRef {
                key: i("flow_id"),
                zip_name: i("f/x.recipe.json"),
                name: Some(i("X")),
            }],
            bindings: vec![Binding {
                provider: i("p_connector_1_2"),
                connection: None,
                custom: true,
            }],
            uses: vec![StepUse {
                provider: i("p_connector_1_2"),
                kind: StepKind::Action,
                name: i("a"),
                steps: vec![1, 300, u64::MAX],
            }],
            properties: vec![i("k")],
            project_properties: vec![i("pp")],
            tags: vec![i("t"), i("flow_id")],
            provider: Some(i("salesforce")),
            version_no: Some(7),
            note: Some("n".into()),
            keys: vec!["a".into(), String::new()],
            invalid: vec![InvalidField {
                field: "code".into(),
                expected: JsonKind::Object,
                found: Some(JsonKind::Null),
            }],
        };
        let h = blake3::hash(b"x").to_hex().to_string();
        let c = blake3::hash(b"y").to_hex().to_string();
        let def = CachedDefinition {
            actions: vec!["a".into()],
            triggers: vec![],
            parse_error: Some("e".into()),
            custom_action: true,
        };
        let entries = vec![
            CachedEntryRef {
                path: "a.recipe.json",
                size: 1 << 40,
                mtime: 5,
                hash: &h,
                canonical: &c,
                data: CachedDataRef::Asset(&summary),
            },
            CachedEntryRef {
                path: "b.custom_adapter.rb",
                size: 0,
                mtime: 0,
                hash: &h,
                canonical: &h,
                data: CachedDataRef::Code(def.clone()),
            },
            CachedEntryRef {
                path: "bad.json",
                size: 0,
                mtime: 0,
                hash: "not hex",
                canonical: "not hex",
                data: CachedDataRef::Logo,
            },
        ];
        let names = Names::of(&entries);
        let table = Reader::new(&names.table()).table().unwrap();
        let frame = entries_frame(&entries, &names);
        let slots = Reader::new(&frame).slots(&table).unwrap();
        // The entry whose hash is not a digest is left out.
        assert_eq!(slots.len(), 2);
        let a = slots[0].entry.as_ref().unwrap();
        assert_eq!(
            (slots[0].path.as_str(), slots[0].size, slots[0].mtime),
            ("a.recipe.json", 1 << 40, 5)
        );
        assert_eq!((a.hash.as_str(), a.canonical.as_str()), (h.as_str(), c.as_str()));
        assert!(matches!(&a.data, CachedData::Asset(s) if *s == summary));
        let b = slots[1].entry.as_ref().unwrap();
        assert_eq!((b.hash.as_str(), b.canonical.as_str()), (h.as_str(), h.as_str()));
        assert!(
            matches!(&b.data, CachedData::Code(d) if d.actions == def.actions && d.parse_error == def.parse_error && d.custom_action)
        );
        // Every truncation, and a trailing byte, is refused.
        for n in 0..frame.len() {
            assert!(Reader::new(&frame[..n]).slots(&table).is_none());
        }
        let mut longer = frame.clone();
        longer.push(0);
        assert!(Reader::new(&longer).slots(&table).is_none());
        // A name index past the table is refused.
        assert!(Reader::new(&frame).slots(&table[..1]).is_none());
    }
}
