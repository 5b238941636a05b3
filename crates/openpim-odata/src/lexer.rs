//! Tokenizer for `$filter` expressions.
//!
//! The whole input is tokenized up front (it is at most
//! [`crate::MAX_FILTER_LEN`] bytes), which keeps the parser a simple cursor
//! over a slice. Every token remembers its byte span so errors can point at it.
//!
//! Unquoted GUIDs (`3fbd929d-8c56-4462-851e-0eb9a7b3a2a5`) and DateTimeOffset
//! values (`2024-01-01T00:00:00Z`) are recognised here, before numbers and
//! identifiers, because both start like one of those.

use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::error::{snippet, ODataError};

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Tok {
    /// A name: property segment, keyword (`and`, `eq`, `true`, ...) or function.
    Ident(String),
    /// A single-quoted string, already unescaped (`''` -> `'`).
    Str(String),
    Int(i64),
    Float(f64),
    Guid(Uuid),
    DateTime(OffsetDateTime),
    LParen,
    RParen,
    Comma,
    Colon,
    Slash,
    Eof,
}

#[derive(Debug, Clone)]
pub(crate) struct Token {
    pub tok: Tok,
    /// Byte offset of the first byte of the token.
    pub start: usize,
    /// Byte offset one past the token.
    pub end: usize,
}

impl Token {
    /// The source text of the token, for error messages.
    pub fn text(&self, src: &str) -> String {
        match self.tok {
            Tok::Eof => "end of input".to_string(),
            _ => format!("'{}'", snippet(src.get(self.start..self.end).unwrap_or("?"))),
        }
    }
}

fn is_ident_start(c: char) -> bool {
    c.is_alphabetic() || c == '_'
}

fn is_ident_continue(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// Split `src` into tokens, ending with a single [`Tok::Eof`].
pub(crate) fn tokenize(src: &str) -> Result<Vec<Token>, ODataError> {
    let bytes = src.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let start = i;
        let b = bytes[i];
        let tok = match b {
            b' ' | b'\t' | b'\r' | b'\n' => {
                i += 1;
                continue;
            }
            b'(' => single(&mut i, Tok::LParen),
            b')' => single(&mut i, Tok::RParen),
            b',' => single(&mut i, Tok::Comma),
            b':' => single(&mut i, Tok::Colon),
            b'/' => single(&mut i, Tok::Slash),
            b'\'' => {
                let (s, end) = lex_string(src, i)?;
                i = end;
                Tok::Str(s)
            }
            _ => {
                if let Some(end) = guid_end(bytes, i) {
                    i = end;
                    let text = &src[start..end];
                    let g = Uuid::parse_str(text)
                        .map_err(|_| ODataError::filter_syntax(start, format!("invalid GUID '{text}'")))?;
                    Tok::Guid(g)
                } else if looks_like_date(bytes, i) {
                    i = datetime_end(bytes, i);
                    Tok::DateTime(parse_datetime_literal(&src[start..i], start)?)
                } else if b.is_ascii_digit()
                    || ((b == b'-' || b == b'+') && bytes.get(i + 1).is_some_and(u8::is_ascii_digit))
                {
                    let (tok, end) = lex_number(src, i)?;
                    i = end;
                    tok
                } else {
                    let c = src.get(i..).and_then(|s| s.chars().next()).unwrap_or('?');
                    if !is_ident_start(c) {
                        return Err(ODataError::filter_syntax(start, format!("unexpected character '{c}'")));
                    }
                    let rest = &src[i..];
                    let len = rest.char_indices().find(|&(_, c)| !is_ident_continue(c)).map_or(rest.len(), |(n, _)| n);
                    i += len;
                    Tok::Ident(rest[..len].to_string())
                }
            }
        };
        out.push(Token { tok, start, end: i });
    }
    out.push(Token { tok: Tok::Eof, start: src.len(), end: src.len() });
    Ok(out)
}

fn single(i: &mut usize, tok: Tok) -> Tok {
    *i += 1;
    tok
}

/// Lex `'...'` starting at the opening quote; `''` inside is an escaped quote.
fn lex_string(src: &str, open: usize) -> Result<(String, usize), ODataError> {
    let bytes = src.as_bytes();
    let mut out = String::new();
    let mut seg_start = open + 1;
    let mut i = open + 1;
    while i < bytes.len() {
        if bytes[i] == b'\'' {
            out.push_str(&src[seg_start..i]);
            if bytes.get(i + 1) == Some(&b'\'') {
                out.push('\'');
                i += 2;
                seg_start = i;
            } else {
                return Ok((out, i + 1));
            }
        } else {
            i += 1;
        }
    }
    Err(ODataError::filter_syntax(open, "unterminated string literal"))
}

/// If a canonical 8-4-4-4-12 GUID starts at `i` (and is not just the start of
/// a longer word), return the offset after it.
fn guid_end(bytes: &[u8], i: usize) -> Option<usize> {
    let cand = bytes.get(i..i + 36)?;
    for (k, &b) in cand.iter().enumerate() {
        let ok = if matches!(k, 8 | 13 | 18 | 23) { b == b'-' } else { b.is_ascii_hexdigit() };
        if !ok {
            return None;
        }
    }
    match bytes.get(i + 36) {
        Some(&b) if b.is_ascii_alphanumeric() || b == b'_' || b == b'-' || b >= 0x80 => None,
        _ => Some(i + 36),
    }
}

/// `dddd-` starts a date; no other token can look like that.
fn looks_like_date(bytes: &[u8], i: usize) -> bool {
    bytes.get(i..i + 5).is_some_and(|s| s[..4].iter().all(u8::is_ascii_digit) && s[4] == b'-')
}

fn datetime_end(bytes: &[u8], mut i: usize) -> usize {
    while i < bytes.len() && matches!(bytes[i], b'0'..=b'9' | b'-' | b'+' | b':' | b'.' | b'T' | b't' | b'Z' | b'z') {
        i += 1;
    }
    i
}

/// Parse an OData DateTimeOffset (RFC 3339, where OData also allows the
/// seconds to be omitted: `2024-01-01T08:30Z`). Used both for unquoted
/// literals and for quoted strings compared with DateTime properties.
pub(crate) fn parse_datetime(text: &str) -> Option<OffsetDateTime> {
    let upper = text.to_ascii_uppercase();
    let (date, rest) = upper.split_once('T')?;
    let zone_at = if rest.ends_with('Z') { rest.len() - 1 } else { rest.rfind(['+', '-'])? };
    let (clock, zone) = rest.split_at(zone_at);
    let clock =
        if clock.bytes().filter(|&b| b == b':').count() == 1 { format!("{clock}:00") } else { clock.to_string() };
    OffsetDateTime::parse(&format!("{date}T{clock}{zone}"), &Rfc3339).ok()
}

fn parse_datetime_literal(text: &str, pos: usize) -> Result<OffsetDateTime, ODataError> {
    if !text.contains(['T', 't']) {
        return Err(ODataError::filter_syntax(
            pos,
            format!(
                "date literal '{}' is not supported; use a DateTimeOffset such as {}T00:00:00Z",
                snippet(text),
                snippet(text)
            ),
        ));
    }
    parse_datetime(text)
        .ok_or_else(|| ODataError::filter_syntax(pos, format!("invalid DateTimeOffset literal '{}'", snippet(text))))
}

/// Integers (`-12`, `+3`) and decimals (`1.5`, `-2e10`).
fn lex_number(src: &str, start: usize) -> Result<(Tok, usize), ODataError> {
    let bytes = src.as_bytes();
    let digits = |mut i: usize| {
        while bytes.get(i).is_some_and(u8::is_ascii_digit) {
            i += 1;
        }
        i
    };
    let mut i = digits(start + 1);
    let mut float = false;
    if bytes.get(i) == Some(&b'.') && bytes.get(i + 1).is_some_and(u8::is_ascii_digit) {
        float = true;
        i = digits(i + 1);
    }
    if matches!(bytes.get(i), Some(b'e' | b'E')) {
        let after_sign = if matches!(bytes.get(i + 1), Some(b'+' | b'-')) { i + 2 } else { i + 1 };
        if bytes.get(after_sign).is_some_and(u8::is_ascii_digit) {
            float = true;
            i = digits(after_sign);
        }
    }
    let text = &src[start..i];
    if let Some(c) = src.get(i..).and_then(|s| s.chars().next()) {
        if is_ident_continue(c) || c == '.' {
            return Err(ODataError::filter_syntax(start, format!("invalid number '{}'", snippet(text))));
        }
    }
    let out_of_range = || ODataError::filter_syntax(start, format!("number '{}' is out of range", snippet(text)));
    let tok = if float {
        let f: f64 = text.parse().map_err(|_| out_of_range())?;
        if !f.is_finite() {
            return Err(out_of_range());
        }
        Tok::Float(f)
    } else {
        Tok::Int(text.parse().map_err(|_| out_of_range())?)
    };
    Ok((tok, i))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn toks(s: &str) -> Vec<Tok> {
        tokenize(s).unwrap().into_iter().map(|t| t.tok).collect()
    }

    #[test]
    fn lexes_literals_and_punctuation() {
        assert_eq!(
            toks("a/b eq 'it''s' (,:) -5 +7 1.5 2e3"),
            vec![
                Tok::Ident("a".into()),
                Tok::Slash,
                Tok::Ident("b".into()),
                Tok::Ident("eq".into()),
                Tok::Str("it's".into()),
                Tok::LParen,
                Tok::Comma,
                Tok::Colon,
                Tok::RParen,
                Tok::Int(-5),
                Tok::Int(7),
                Tok::Float(1.5),
                Tok::Float(2000.0),
                Tok::Eof,
            ]
        );
    }

    #[test]
    fn guid_needs_full_shape() {
        let g = "DEADBEEF-8c56-4462-851e-0eb9a7b3a2a5";
        assert_eq!(toks(g)[0], Tok::Guid(Uuid::parse_str(g).unwrap()));
        assert_eq!(toks("deadbeef")[0], Tok::Ident("deadbeef".into()));
        assert!(tokenize("3fbd929d-8c56-4462-851e-0eb9a7b3a2a5x").is_err());
    }

    #[test]
    fn datetime_forms() {
        let a = parse_datetime("2024-01-01T00:00:00Z").unwrap();
        assert_eq!(parse_datetime("2024-01-01t00:00z"), Some(a));
        assert_eq!(parse_datetime("2024-01-01T01:00:00.000+01:00"), Some(a), "offsets and fractions");
        assert!(parse_datetime("2024-13-01T00:00:00Z").is_none());
        assert!(parse_datetime("2024-01-01").is_none());
    }

    #[test]
    fn errors_carry_positions() {
        let e = tokenize("a eq 'open").unwrap_err();
        assert_eq!(e.message, "Invalid $filter: unterminated string literal at position 5");
        let e = tokenize("a eq 99999999999999999999").unwrap_err();
        assert!(e.message.contains("out of range at position 5"), "{}", e.message);
        let e = tokenize("a eq #").unwrap_err();
        assert_eq!(e.message, "Invalid $filter: unexpected character '#' at position 5");
        let e = tokenize("a eq 12ab").unwrap_err();
        assert!(e.message.contains("invalid number"), "{}", e.message);
    }
}
