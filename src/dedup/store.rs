//! The `--index` file: an earlier corpus's paragraphs, fingerprints and
//! clusters, so a later run can check new documents against it.
//!
//! # Format (version 2)
//!
//! A binary file, all integers little-endian, strings as a `u32` byte
//! length followed by UTF-8:
//!
//! ```text
//! header     b"CHAFFIDX"  u32 version (2)  u32 flags (0)
//!            u32 sources  u32 documents  u64 paragraphs
//! sources    string × sources                 (source names)
//! documents  (u32 source, string name) × documents
//! paragraphs for each, in input order:
//!            u32 document  u32 line  u32 last_line  u32 length (bytes)
//!            u32 representative (paragraph number; itself when it is one)
//!            f32 Jaccard to the representative
//!            u64 simhash  u64 exact hash
//!            string preview (the first line, at most 160 bytes)
//!            u32 words, then that many u16 word keys (sorted, distinct)
//! trailer    u64 xxh3-64 of every byte before it
//! ```
//!
//! The word keys (the low 16 bits of the word hashes, see
//! [`WordSet`]) are the check's input and the sub-fingerprints' source,
//! so nothing else is stored: the band keys are recomputed from them,
//! and the simhash and word hash seeds are fixed by the version
//! (`simhash::golden_values` pins them). Version 1 stored the low 32
//! bits of the word hashes; it is still read, keeping their low 16.
//! Measured: 345 bytes a paragraph (12.1 MB for the 35,017 paragraphs of
//! the 20 MB planted-edit set, previews included; 490 in version 1). A
//! file is written whole to a temporary file beside it and renamed over
//! it, so a crash leaves the old index or the new one, never a torn one;
//! the trailer catches a file cut short or damaged.

use std::fs;
use std::io::{self, BufWriter, Write};
use std::path::Path;

use xxhash_rust::xxh3::Xxh3;

use super::simhash::{word_key, WordSet};
use super::{Fingerprint, Paragraph};

const MAGIC: &[u8; 8] = b"CHAFFIDX";
/// The index format version this build writes (it also reads version 1).
pub const VERSION: u32 = 2;
/// Bytes of a paragraph's first line kept as its preview.
pub const PREVIEW_BYTES: usize = 160;

/// A document of an indexed corpus.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IndexedDoc {
    /// Its name (path relative to its input root).
    pub name: String,
    /// Its source, as a number into [`Index::sources`].
    pub source: u32,
}

/// An earlier corpus: its paragraphs (with `doc` numbering
/// [`Index::docs`]), their representatives and previews.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Index {
    /// Source names.
    pub sources: Vec<String>,
    /// Documents.
    pub docs: Vec<IndexedDoc>,
    /// Paragraphs in input order.
    pub paragraphs: Vec<Paragraph>,
    /// Each paragraph's representative (a paragraph number).
    pub rep: Vec<u32>,
    /// Each paragraph's Jaccard to its representative.
    pub similarity: Vec<f32>,
    /// Each paragraph's first line, cut to [`PREVIEW_BYTES`].
    pub previews: Vec<String>,
}

fn bad(msg: impl Into<String>) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidData,
        format!("bad index file: {}", msg.into()),
    )
}

/// The longest prefix of `s` of at most `max` bytes that ends on a char
/// boundary.
pub fn preview(s: &str, max: usize) -> &str {
    let mut end = s.len().min(max);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

struct Hashing<W: Write> {
    inner: W,
    hash: Xxh3,
}

impl<W: Write> Write for Hashing<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hash.update(&buf[..n]);
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

fn put_str(w: &mut impl Write, s: &str) -> io::Result<()> {
    w.write_all(&(s.len() as u32).to_le_bytes())?;
    w.write_all(s.as_bytes())
}

struct Reader<'a> {
    bytes: &'a [u8],
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> io::Result<&'a [u8]> {
        if self.bytes.len() < n {
            return Err(bad("cut short"));
        }
        let (head, rest) = self.bytes.split_at(n);
        self.bytes = rest;
        Ok(head)
    }
    fn u32(&mut self) -> io::Result<u32> {
        Ok(u32::from_le_bytes(self.take(4)?.try_into().expect("4 bytes")))
    }
    fn u64(&mut self) -> io::Result<u64> {
        Ok(u64::from_le_bytes(self.take(8)?.try_into().expect("8 bytes")))
    }
    fn string(&mut self) -> io::Result<String> {
        let n = self.u32()? as usize;
        String::from_utf8(self.take(n)?.to_vec())
            .map_err(|_| bad("a name is not UTF-8"))
    }
}

impl Index {
    /// An empty index.
    pub fn new() -> Index {
        Index::default()
    }

    /// Reads an index file; a missing file is an empty index.
    pub fn read(path: &Path) -> io::Result<Index> {
        let bytes = match fs::read(path) {
            Ok(b) => b,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                return Ok(Index::new())
            }
            Err(e) => return Err(e),
        };
        Index::from_bytes(&bytes)
    }

    /// Parses the bytes of an index file.
    pub fn from_bytes(bytes: &[u8]) -> io::Result<Index> {
        if bytes.len() < 8 + 8 + 16 + 8 || &bytes[..8] != MAGIC {
            return Err(bad("not a chaff index"));
        }
        let (body, trailer) = bytes.split_at(bytes.len() - 8);
        let sum = u64::from_le_bytes(trailer.try_into().expect("8 bytes"));
        let mut r = Reader { bytes: &body[8..] };
        let version = r.u32()?;
        if !(1..=VERSION).contains(&version) {
            return Err(bad(format!(
                "version {version}; this chaff reads 1 to {VERSION}"
            )));
        }
        if xxhash_rust::xxh3::xxh3_64(body) != sum {
            return Err(bad("checksum mismatch (damaged or cut short)"));
        }
        let _flags = r.u32()?;
        let n_sources = r.u32()? as usize;
        let n_docs = r.u32()? as usize;
        let n_paras = usize::try_from(r.u64()?)
            .map_err(|_| bad("too many paragraphs"))?;
        let mut ix = Index::new();
        for _ in 0..n_sources {
            ix.sources.push(r.string()?);
        }
        for _ in 0..n_docs {
            let source = r.u32()?;
            if source as usize >= n_sources {
                return Err(bad("a document's source is out of range"));
            }
            ix.docs.push(IndexedDoc { source, name: r.string()? });
        }
        for i in 0..n_paras {
            let doc = r.u32()? as usize;
            let line = r.u32()?;
            let last_line = r.u32()?;
            let len = r.u32()?;
            let rep = r.u32()?;
            let similarity = f32::from_bits(r.u32()?);
            let simhash = r.u64()?;
            let exact = r.u64()?;
            let preview = r.string()?;
            let n_words = r.u32()? as usize;
            let width = if version == 1 { 4 } else { 2 };
            let bytes = r.take(
                n_words.checked_mul(width).ok_or_else(|| bad("word count"))?,
            )?;
            let words = if version == 1 {
                // 32-bit hashes: keep the bits a word set keeps.
                let mut keys: Vec<u32> = bytes
                    .chunks_exact(4)
                    .map(|c| {
                        let w = u32::from_le_bytes(c.try_into().expect("4"));
                        word_key(u64::from(w))
                    })
                    .collect();
                keys.sort_unstable();
                keys.dedup();
                WordSet::from_sorted(keys)
            } else {
                let keys = bytes
                    .chunks_exact(2)
                    .map(|c| u32::from(u16::from_le_bytes([c[0], c[1]])));
                if !keys.clone().is_sorted_by(|a, b| a < b) {
                    return Err(bad("a word set is not sorted"));
                }
                WordSet::from_sorted(keys)
            };
            if doc >= n_docs || rep as usize > i {
                return Err(bad(
                    "a paragraph's document or representative is out of range",
                ));
            }
            if rep as usize != i && ix.rep[rep as usize] != rep {
                return Err(bad("a representative is itself a member"));
            }
            ix.paragraphs.push(Paragraph {
                doc,
                line,
                last_line,
                source: ix.docs[doc].source,
                len,
                fingerprint: Fingerprint { simhash, exact, words },
            });
            ix.rep.push(rep);
            ix.similarity.push(similarity);
            ix.previews.push(preview);
        }
        if !r.bytes.is_empty() {
            return Err(bad("trailing bytes"));
        }
        Ok(ix)
    }

    /// Writes the index to `w` in the current format.
    pub fn write_to(&self, w: impl Write) -> io::Result<()> {
        let mut w = Hashing { inner: w, hash: Xxh3::new() };
        w.write_all(MAGIC)?;
        for x in
            [VERSION, 0, self.sources.len() as u32, self.docs.len() as u32]
        {
            w.write_all(&x.to_le_bytes())?;
        }
        w.write_all(&(self.paragraphs.len() as u64).to_le_bytes())?;
        for s in &self.sources {
            put_str(&mut w, s)?;
        }
        for d in &self.docs {
            w.write_all(&d.source.to_le_bytes())?;
            put_str(&mut w, &d.name)?;
        }
        for (i, p) in self.paragraphs.iter().enumerate() {
            let fp = &p.fingerprint;
            for x in [p.doc as u32, p.line, p.last_line, p.len, self.rep[i]] {
                w.write_all(&x.to_le_bytes())?;
            }
            w.write_all(&self.similarity[i].to_bits().to_le_bytes())?;
            w.write_all(&fp.simhash.to_le_bytes())?;
            w.write_all(&fp.exact.to_le_bytes())?;
            put_str(&mut w, preview(&self.previews[i], PREVIEW_BYTES))?;
            w.write_all(&(fp.words.len() as u32).to_le_bytes())?;
            let keys: Vec<u8> =
                fp.words.keys().iter().flat_map(|k| k.to_le_bytes()).collect();
            w.write_all(&keys)?;
        }
        let sum = w.hash.digest();
        w.inner.write_all(&sum.to_le_bytes())?;
        w.flush()
    }

    /// Writes the index to `path` atomically: to a temporary file in the
    /// same folder, then renamed over `path`.
    pub fn write_atomic(&self, path: &Path) -> io::Result<()> {
        let dir = match path.parent() {
            Some(d) if !d.as_os_str().is_empty() => d,
            _ => Path::new("."),
        };
        fs::create_dir_all(dir)?;
        let tmp = tempfile::NamedTempFile::new_in(dir)?;
        {
            let mut w = BufWriter::with_capacity(1 << 20, tmp.as_file());
            self.write_to(&mut w)?;
            w.flush()?;
        }
        tmp.as_file().sync_all()?;
        tmp.persist(path).map_err(|e| e.error)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Index {
        let fp =
            crate::dedup::simhash::fingerprint(["one two three four ünï"])
                .unwrap();
        let para = |doc, line| Paragraph {
            doc,
            line,
            last_line: line,
            source: 0,
            len: 22,
            fingerprint: fp.clone(),
        };
        Index {
            sources: vec!["site".into()],
            docs: vec![
                IndexedDoc { name: "site/a.txt".into(), source: 0 },
                IndexedDoc { name: "site/b.txt".into(), source: 0 },
            ],
            paragraphs: vec![para(0, 1), para(1, 3)],
            rep: vec![0, 0],
            similarity: vec![1.0, 1.0],
            previews: vec!["one two".into(), "ü".repeat(100)],
        }
    }

    #[test]
    fn round_trips() {
        let ix = sample();
        let mut bytes = Vec::new();
        ix.write_to(&mut bytes).unwrap();
        let back = Index::from_bytes(&bytes).unwrap();
        assert_eq!(back.paragraphs, ix.paragraphs);
        assert_eq!(back.previews[1], preview(&ix.previews[1], PREVIEW_BYTES));
        assert_eq!(back.rep, ix.rep);
    }

    #[test]
    fn reads_version_1() {
        // Version 1: the same layout with 32-bit word hashes.
        let ix = sample();
        let mut v1 = Vec::new();
        v1.extend_from_slice(MAGIC);
        for x in [1u32, 0, 1, 2] {
            v1.extend_from_slice(&x.to_le_bytes());
        }
        v1.extend_from_slice(&2u64.to_le_bytes());
        let put = |v1: &mut Vec<u8>, s: &str| {
            v1.extend_from_slice(&(s.len() as u32).to_le_bytes());
            v1.extend_from_slice(s.as_bytes());
        };
        put(&mut v1, "site");
        for d in &ix.docs {
            v1.extend_from_slice(&d.source.to_le_bytes());
            put(&mut v1, &d.name);
        }
        // Hashes whose low 16 bits are the keys, high bits set, and one
        // whose key repeats another's (a set of one word fewer).
        let keys: Vec<u32> =
            ix.paragraphs[0].fingerprint.words.iter().collect();
        let mut hashes: Vec<u32> =
            keys.iter().map(|&k| k | 0xabcd_0000).collect();
        hashes.push(keys[0] | 0x1234_0000);
        hashes.sort_unstable();
        for (i, p) in ix.paragraphs.iter().enumerate() {
            for x in [p.doc as u32, p.line, p.last_line, p.len, ix.rep[i]] {
                v1.extend_from_slice(&x.to_le_bytes());
            }
            v1.extend_from_slice(&1f32.to_bits().to_le_bytes());
            v1.extend_from_slice(&p.fingerprint.simhash.to_le_bytes());
            v1.extend_from_slice(&p.fingerprint.exact.to_le_bytes());
            put(&mut v1, "preview");
            v1.extend_from_slice(&(hashes.len() as u32).to_le_bytes());
            for h in &hashes {
                v1.extend_from_slice(&h.to_le_bytes());
            }
        }
        let sum = xxhash_rust::xxh3::xxh3_64(&v1);
        v1.extend_from_slice(&sum.to_le_bytes());
        let back = Index::from_bytes(&v1).unwrap();
        assert_eq!(back.paragraphs, ix.paragraphs);
    }

    #[test]
    fn damage_is_detected() {
        let mut bytes = Vec::new();
        sample().write_to(&mut bytes).unwrap();
        for cut in [0, 10, bytes.len() - 1] {
            assert!(Index::from_bytes(&bytes[..cut]).is_err());
        }
        let mut flipped = bytes.clone();
        flipped[40] ^= 1;
        assert!(Index::from_bytes(&flipped).is_err());
    }

    #[test]
    fn written_atomically() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.idx");
        assert_eq!(Index::read(&path).unwrap(), Index::new());
        sample().write_atomic(&path).unwrap();
        assert_eq!(Index::read(&path).unwrap().paragraphs.len(), 2);
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
    }
}
