//! A tiny zip writer with no dependencies, for the `package_reader` fuzz target's structured
//! mode and for `tests/fuzz_regressions.rs` (which includes this file with `#[path]`, so a
//! regression input replays exactly as the fuzzer ran it).
//!
//! Unlike a real zip writer it writes whatever it is given: names are raw bytes (NUL, `..`,
//! backslashes, invalid UTF-8) and flags make headers lie.

/// Flag bit: store the content in deflate (stored blocks) instead of plain.
pub const DEFLATE: u8 = 1;
/// Flag bit: the header claims 1 MiB more than the entry holds.
pub const CLAIM_MORE: u8 = 2;
/// Flag bit: the header claims half of what the entry holds.
pub const CLAIM_LESS: u8 = 4;
/// Flag bit: the entry is a symbolic link (Unix mode in the external attributes).
pub const SYMLINK: u8 = 8;
/// Flag bit: the encrypted bit is set.
pub const ENCRYPTED: u8 = 16;
/// Flag bit: the UTF-8 name bit is set.
pub const UTF8: u8 = 32;
/// Flag bit: the CRC is wrong.
pub const BAD_CRC: u8 = 64;
/// Flag bit: the central directory lists the entry twice.
pub const TWICE: u8 = 128;

/// CRC-32 (IEEE), as zip uses it.
pub fn crc32(data: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in data {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

/// Raw deflate made of stored blocks (valid deflate that any inflater reads).
pub fn deflate_stored(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(data.len() + 5 * (data.len() / 65_535 + 1));
    let mut chunks = data.chunks(65_535).peekable();
    if chunks.peek().is_none() {
        out.extend_from_slice(&[1, 0, 0, 0xff, 0xff]);
    }
    while let Some(chunk) = chunks.next() {
        let last = chunks.peek().is_none();
        out.push(u8::from(last));
        let n = chunk.len() as u16;
        out.extend_from_slice(&n.to_le_bytes());
        out.extend_from_slice(&(!n).to_le_bytes());
        out.extend_from_slice(chunk);
    }
    out
}

/// One entry of a zip to build.
#[derive(Debug, Clone)]
pub struct ZipEntry<'a> {
    /// Flag bits ([`DEFLATE`], [`CLAIM_MORE`], ...).
    pub flags: u8,
    /// The name, raw.
    pub name: &'a [u8],
    /// The content (before compression).
    pub content: &'a [u8],
}

/// Reads a length-prefixed field: one byte of length (0xff: two more bytes, little endian);
/// a length past the end takes what is left.
fn field<'a>(data: &mut &'a [u8]) -> &'a [u8] {
    let Some((&n, rest)) = data.split_first() else {
        return &[];
    };
    let (n, rest) = if n == 0xff && rest.len() >= 2 {
        (u16::from_le_bytes([rest[0], rest[1]]) as usize, &rest[2..])
    } else {
        (n as usize, rest)
    };
    let (out, rest) = rest.split_at(n.min(rest.len()));
    *data = rest;
    out
}

/// Decodes fuzz input into entries: `flags, name, content` records, names and contents as
/// length-prefixed fields; at most 200 entries.
pub fn decode(mut data: &[u8]) -> Vec<ZipEntry<'_>> {
    let mut out = Vec::new();
    while let Some((&flags, rest)) = data.split_first()
        && out.len() < 200
    {
        data = rest;
        let name = field(&mut data);
        let content = field(&mut data);
        out.push(ZipEntry { flags, name, content });
    }
    out
}

/// Writes a zip holding `entries`, lies and all.
pub fn build(entries: &[ZipEntry<'_>]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut central = Vec::new();
    let mut count: u16 = 0;
    for e in entries {
        let (method, body): (u16, Vec<u8>) = if e.flags & DEFLATE != 0 {
            (8, deflate_stored(e.content))
        } else {
            (0, e.content.to_vec())
        };
        let mut crc = crc32(e.content);
        if e.flags & BAD_CRC != 0 {
            crc ^= 1;
        }
        let mut size = e.content.len() as u32;
        if e.flags & CLAIM_MORE != 0 {
            size = size.wrapping_add(1 << 20);
        }
        if e.flags & CLAIM_LESS != 0 {
            size /= 2;
        }
        let mut gp: u16 = 0;
        if e.flags & ENCRYPTED != 0 {
            gp |= 1;
        }
        if e.flags & UTF8 != 0 {
            gp |= 1 << 11;
        }
        let external: u32 = if e.flags & SYMLINK != 0 {
            0o120777 << 16
        } else {
            0o100644 << 16
        };
        let offset = out.len() as u32;
        let name_len = (e.name.len().min(u16::MAX as usize)) as u16;
        let name = &e.name[..name_len as usize];
        // local file header
        out.extend_from_slice(&[0x50, 0x4b, 0x03, 0x04, 20, 0]);
        out.extend_from_slice(&gp.to_le_bytes());
        out.extend_from_slice(&method.to_le_bytes());
        out.extend_from_slice(&[0, 0, 0x21, 0]);
        out.extend_from_slice(&crc.to_le_bytes());
        out.extend_from_slice(&(body.len() as u32).to_le_bytes());
        out.extend_from_slice(&size.to_le_bytes());
        out.extend_from_slice(&name_len.to_le_bytes());
        out.extend_from_slice(&0u16.to_le_bytes());
        out.extend_from_slice(name);
        out.extend_from_slice(&body);
        // central directory record(s)
        let copies = if e.flags & TWICE != 0 { 2 } else { 1 };
        for _ in 0..copies {
            central.extend_from_slice(&[0x50, 0x4b, 0x01, 0x02, 0x14, 0x03, 20, 0]);
            central.extend_from_slice(&gp.to_le_bytes());
            central.extend_from_slice(&method.to_le_bytes());
            central.extend_from_slice(&[0, 0, 0x21, 0]);
            central.extend_from_slice(&crc.to_le_bytes());
            central.extend_from_slice(&(body.len() as u32).to_le_bytes());
            central.extend_from_slice(&size.to_le_bytes());
            central.extend_from_slice(&name_len.to_le_bytes());
            central.extend_from_slice(&[0; 8]); // extra, comment, disk, internal attributes
            central.extend_from_slice(&external.to_le_bytes());
            central.extend_from_slice(&offset.to_le_bytes());
            central.extend_from_slice(name);
            count = count.wrapping_add(1);
        }
    }
    let cd_offset = out.len() as u32;
    let cd_size = central.len() as u32;
    out.extend_from_slice(&central);
    out.extend_from_slice(&[0x50, 0x4b, 0x05, 0x06, 0, 0, 0, 0]);
    out.extend_from_slice(&count.to_le_bytes());
    out.extend_from_slice(&count.to_le_bytes());
    out.extend_from_slice(&cd_size.to_le_bytes());
    out.extend_from_slice(&cd_offset.to_le_bytes());
    out.extend_from_slice(&0u16.to_le_bytes());
    out
}

/// The bytes of the `x.zip` the `package_reader` target writes for a fuzz input: an odd first
/// byte means structured mode ([`decode`] then [`build`]), an even one raw zip bytes.
pub fn package_bytes(input: &[u8]) -> Vec<u8> {
    match input.split_first() {
        Some((&mode, rest)) if mode & 1 == 1 => build(&decode(rest)),
        Some((_, rest)) => rest.to_vec(),
        None => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc_matches_the_standard_check_value() {
        assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
    }
}
