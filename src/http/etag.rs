//! Entity tags (RFC 9110 §8.8.3): our strong tags, and parsing the lists in
//! If-Match / If-None-Match / If-Range with strong or weak comparison.

/// One entity tag as sent: `W/` flag and the opaque tag with its quotes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EntityTag<'a> {
    pub weak: bool,
    pub opaque: &'a [u8],
}

impl<'a> EntityTag<'a> {
    /// Parses exactly one entity tag (surrounding whitespace allowed).
    pub fn parse(v: &'a [u8]) -> Option<EntityTag<'a>> {
        let v = super::syntax::trim_ows(v);
        let mut it = ListIter { rest: v };
        match (it.next(), it.next()) {
            (Some(Item::Tag(t)), None) => Some(t),
            _ => None,
        }
    }

    /// Strong comparison: both strong, same opaque tag.
    pub fn strong_eq(&self, other: &EntityTag<'_>) -> bool {
        !self.weak && !other.weak && self.opaque == other.opaque
    }

    /// Weak comparison: same opaque tag, weakness ignored.
    pub fn weak_eq(&self, other: &EntityTag<'_>) -> bool {
        self.opaque == other.opaque
    }
}

/// An element of an entity-tag list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Item<'a> {
    Star,
    Tag(EntityTag<'a>),
    /// Not an entity tag (it matches nothing); the list resumes after the
    /// next comma, so a list means the same however it is split into lines.
    Invalid,
}

/// Iterates `#entity-tag` or `*`. Commas may sit inside opaque tags, so
/// this tokenizes rather than splitting on commas.
pub struct ListIter<'a> {
    rest: &'a [u8],
}

impl<'a> ListIter<'a> {
    pub fn new(v: &'a [u8]) -> Self {
        ListIter { rest: v }
    }
}

impl<'a> Iterator for ListIter<'a> {
    type Item = Item<'a>;

    fn next(&mut self) -> Option<Item<'a>> {
        while let [b' ' | b'\t' | b',', rest @ ..] = self.rest {
            self.rest = rest;
        }
        if self.rest.is_empty() {
            return None;
        }
        if let [b'*', rest @ ..] = self.rest {
            self.rest = rest;
            return Some(Item::Star);
        }
        let (weak, body) = match self.rest {
            [b'W', b'/', rest @ ..] => (true, rest),
            rest => (false, rest),
        };
        if body.first() != Some(&b'"') {
            return Some(self.invalid());
        }
        match body[1..].iter().position(|&b| b == b'"') {
            Some(end) => {
                let opaque = &body[..end + 2];
                let valid = opaque[1..end + 1]
                    .iter()
                    .all(|&c| c == 0x21 || (0x23..=0x7e).contains(&c) || c >= 0x80);
                if !valid {
                    return Some(self.invalid());
                }
                self.rest = &body[end + 2..];
                // A tag must end its element.
                match self.rest.iter().find(|&&b| b != b' ' && b != b'\t') {
                    None | Some(b',') => Some(Item::Tag(EntityTag { weak, opaque })),
                    Some(_) => Some(self.invalid()),
                }
            }
            None => Some(self.invalid()),
        }
    }
}

impl ListIter<'_> {
    /// Skips the rest of an invalid element, to the next comma.
    fn invalid<'x>(&mut self) -> Item<'x> {
        let next = self.rest.iter().position(|&b| b == b',');
        self.rest = next.map_or(&[][..], |i| &self.rest[i..]);
        Item::Invalid
    }
}

/// Our tag for a file: strong, from metadata only (inode, size, and the
/// modification and change times in nanoseconds), so it is stable across
/// requests and restarts and changes whenever the file does — also when
/// it is rewritten with the same size and its old mtime put back (`cp -p`,
/// `touch -r`), which changes the ctime. `variant` marks a representation
/// made from the file (`lr`: with the live-reload script).
/// A negative (pre-1970) time is written as `-` and its magnitude.
pub fn for_file(ino: u64, len: u64, mtime_ns: i128, ctime_ns: i128, variant: &str) -> String {
    let signed = |t: i128| {
        let sign = if t < 0 { "-" } else { "" };
        format!("{sign}{:x}", t.unsigned_abs())
    };
    let dash = if variant.is_empty() { "" } else { "-" };
    format!(
        "\"{ino:x}-{len:x}-{}-{}{dash}{variant}\"",
        signed(mtime_ns),
        signed(ctime_ns)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn items(v: &str) -> Vec<Item<'_>> {
        ListIter::new(v.as_bytes()).collect()
    }

    #[test]
    fn lists_are_tokenized_with_commas_inside_tags() {
        assert_eq!(
            items(r#""a,b", W/"c" ,"d""#),
            vec![
                Item::Tag(EntityTag {
                    weak: false,
                    opaque: br#""a,b""#
                }),
                Item::Tag(EntityTag {
                    weak: true,
                    opaque: br#""c""#
                }),
                Item::Tag(EntityTag {
                    weak: false,
                    opaque: br#""d""#
                }),
            ]
        );
        assert_eq!(items("*"), vec![Item::Star]);
        assert_eq!(items("abc"), vec![Item::Invalid]);
        assert_eq!(items("abc, *"), vec![Item::Invalid, Item::Star]);
        assert_eq!(
            items(r#""a"b, "c""#),
            vec![
                Item::Invalid,
                Item::Tag(EntityTag {
                    weak: false,
                    opaque: br#""c""#
                })
            ]
        );
        assert_eq!(items(r#""unterminated"#), vec![Item::Invalid]);
        assert_eq!(items(""), vec![]);
    }

    #[test]
    fn strong_and_weak_comparison_follow_rfc_9110_table() {
        let w1 = EntityTag::parse(br#"W/"1""#).unwrap();
        let w2 = EntityTag::parse(br#"W/"2""#).unwrap();
        let s1 = EntityTag::parse(br#""1""#).unwrap();
        assert!(!w1.strong_eq(&w1) && w1.weak_eq(&w1));
        assert!(!w1.strong_eq(&w2) && !w1.weak_eq(&w2));
        assert!(!w1.strong_eq(&s1) && w1.weak_eq(&s1));
        assert!(s1.strong_eq(&s1) && s1.weak_eq(&s1));
    }

    #[test]
    fn file_tags_are_quoted_hex() {
        assert_eq!(for_file(255, 16, 1, 2, ""), "\"ff-10-1-2\"");
        assert_eq!(for_file(255, 16, -1, 2, ""), "\"ff-10--1-2\"");
        assert_eq!(for_file(255, 16, 1, 2, "lr"), "\"ff-10-1-2-lr\"");
    }
}
