//! Splits filter text into tokens, tolerating what real IdPs send: `+` or `%20` for spaces and
//! a filter that arrives still percent-encoded.

use std::borrow::Cow;

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Tok {
    LParen,
    RParen,
    LBracket,
    RBracket,
    /// A JSON string literal, already unescaped.
    Str(String),
    /// Anything else: attribute paths, operators, keywords, numbers, bare values.
    Word(String),
    End,
}

#[derive(Debug, Clone)]
pub(crate) struct Token {
    pub tok: Tok,
    /// 1-based character position, for error messages.
    pub at: usize,
}

/// A lexing failure: what went wrong and at which character (1-based).
#[derive(Debug)]
pub(crate) struct LexError {
    pub at: usize,
    pub message: String,
}

/// Undoes a second layer of percent-encoding (`userName%20eq%20%22a%40b.c%22`) when the text has
/// no raw quote or space of its own, so that a correctly encoded value is never decoded twice.
pub(crate) fn undo_double_encoding(text: &str) -> Cow<'_, str> {
    let looks_encoded =
        !text.contains(['"', ' ']) && (text.contains("%20") || text.contains("%22"));
    if !looks_encoded {
        return Cow::Borrowed(text);
    }
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes.get(i + 1..i + 3).and_then(|pair| {
            std::str::from_utf8(pair)
                .ok()
                .and_then(|s| u8::from_str_radix(s, 16).ok())
        });
        match (bytes[i], hex) {
            (b'%', Some(byte)) => {
                out.push(byte);
                i += 3;
            }
            (byte, _) => {
                out.push(byte);
                i += 1;
            }
        }
    }
    match String::from_utf8(out) {
        Ok(decoded) => Cow::Owned(decoded),
        Err(_) => Cow::Borrowed(text),
    }
}

pub(crate) fn tokenize(text: &str) -> Result<Vec<Token>, LexError> {
    let chars: Vec<char> = text.chars().collect();
    let mut tokens = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let at = i + 1;
        let c = chars[i];
        let single = match c {
            '(' => Some(Tok::LParen),
            ')' => Some(Tok::RParen),
            '[' => Some(Tok::LBracket),
            ']' => Some(Tok::RBracket),
            _ => None,
        };
        if let Some(tok) = single {
            tokens.push(Token { tok, at });
            i += 1;
        } else if is_space(c) {
            i += 1;
        } else if is_encoded_space(&chars, i) {
            i += 3;
        } else if c == '"' {
            let (value, next) = lex_string(&chars, i)?;
            tokens.push(Token {
                tok: Tok::Str(value),
                at,
            });
            i = next;
        } else {
            let start = i;
            while i < chars.len()
                && continues_word(&chars[start..i], chars[i])
                && !is_encoded_space(&chars, i)
            {
                i += 1;
            }
            tokens.push(Token {
                tok: Tok::Word(chars[start..i].iter().collect()),
                at,
            });
        }
    }
    tokens.push(Token {
        tok: Tok::End,
        at: chars.len() + 1,
    });
    Ok(tokens)
}

fn is_encoded_space(chars: &[char], i: usize) -> bool {
    chars[i] == '%' && chars.get(i + 1..i + 3) == Some(&['2', '0'])
}

fn is_space(c: char) -> bool {
    c.is_whitespace() || c == '+'
}

/// A word ends at a space, a bracket or a quote. `+` is a space (form encoding) except in the
/// exponent of a number such as `1e+5`.
fn continues_word(word: &[char], c: char) -> bool {
    if matches!(c, '(' | ')' | '[' | ']' | '"') || c.is_whitespace() {
        return false;
    }
    if c == '+' {
        return matches!(word.last(), Some('e' | 'E'))
            && word
                .first()
                .is_some_and(|first| first.is_ascii_digit() || *first == '-');
    }
    true
}

/// Reads a JSON string starting at the opening quote; returns it unescaped and the index after
/// the closing quote.
fn lex_string(chars: &[char], open: usize) -> Result<(String, usize), LexError> {
    let mut i = open + 1;
    while i < chars.len() {
        match chars[i] {
            '\\' => i += 2,
            '"' => {
                let literal: String = chars[open..=i].iter().collect();
                return match serde_json::from_str::<String>(&literal) {
                    Ok(value) => Ok((value, i + 1)),
                    Err(error) => Err(LexError {
                        at: open + 1,
                        message: format!("invalid string literal {literal}: {error}"),
                    }),
                };
            }
            _ => i += 1,
        }
    }
    Err(LexError {
        at: open + 1,
        message: "unterminated string literal".into(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(text: &str) -> Vec<Tok> {
        tokenize(text)
            .expect("lexes")
            .into_iter()
            .map(|t| t.tok)
            .collect()
    }

    #[test]
    fn plus_and_percent20_are_spaces_outside_strings() {
        let expected = vec![
            Tok::Word("userName".into()),
            Tok::Word("eq".into()),
            Tok::Str("a+b@x.io".into()),
            Tok::End,
        ];
        assert_eq!(words(r#"userName+eq+"a+b@x.io""#), expected);
        assert_eq!(words(r#"userName%20eq%20"a+b@x.io""#), expected);
    }

    #[test]
    fn exponent_plus_stays_in_the_number() {
        assert_eq!(words("x gt 1e+5")[2], Tok::Word("1e+5".into()));
    }

    #[test]
    fn doubly_encoded_filters_are_decoded_once_more() {
        assert_eq!(
            undo_double_encoding("userName%20eq%20%22a%40b.c%22"),
            r#"userName eq "a@b.c""#
        );
        assert_eq!(
            undo_double_encoding(r#"userName eq "100%20""#),
            r#"userName eq "100%20""#
        );
    }

    #[test]
    fn string_escapes_follow_json() {
        assert_eq!(words(r#""a\"b\u00e9""#)[0], Tok::Str("a\"bé".into()));
        let message = |text| tokenize(text).unwrap_err().message;
        assert!(
            message(r#""abc"#).contains("unterminated"),
            "{}",
            message(r#""abc"#)
        );
        assert!(message(r#""bad \q escape""#).contains("escape"));
    }
}
