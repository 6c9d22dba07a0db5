//! Recursive-descent parser for filters and PATCH paths (one grammar, RFC 7644 §3.4.2.2 and
//! §3.5.2). Precedence: `not` > `and` > `or`; nesting and length are bounded so hostile input
//! gets a 400, never a stack overflow.

use super::ast::{CompValue, CompareOp, Filter};
use super::lexer::{LexError, Tok, Token, tokenize, undo_double_encoding};
use crate::error::{Error, Result, ScimType};
use crate::path::{AttrPath, PatchPath, check_attr_name};

/// Longest filter or path accepted, in bytes.
pub const MAX_LENGTH: usize = 8 * 1024;
/// Deepest nesting of parentheses, brackets and `not` accepted.
pub const MAX_DEPTH: usize = 32;

pub(crate) fn parse_filter(text: &str) -> Result<Filter> {
    let mut parser = Parser::new(text, ScimType::InvalidFilter)?;
    let filter = parser.or_expr()?;
    parser.expect_end()?;
    Ok(filter)
}

pub(crate) fn parse_patch_path(text: &str, kind: ScimType) -> Result<PatchPath> {
    let mut parser = Parser::new(text, kind)?;
    let (word, at) = match parser.next() {
        Token {
            tok: Tok::Word(word),
            at,
        } => (word, at),
        other => return Err(parser.unexpected(&other, "an attribute path")),
    };
    let mut attr = parser.attr_path(&word, at)?;
    let mut filter = None;
    if parser.peek() == &Tok::LBracket {
        let (inner, sub_attr) = parser.value_path_tail(&attr, at)?;
        attr.sub_attr = sub_attr;
        filter = Some(inner);
    }
    parser.expect_end()?;
    Ok(PatchPath { attr, filter })
}

struct Parser {
    tokens: Vec<Token>,
    position: usize,
    depth: usize,
    kind: ScimType,
}

impl Parser {
    fn new(text: &str, kind: ScimType) -> Result<Self> {
        if text.len() > MAX_LENGTH {
            return Err(Error::new(
                kind,
                format!(
                    "{} is {} bytes long; the limit is {MAX_LENGTH}",
                    noun(kind),
                    text.len()
                ),
            ));
        }
        let text = undo_double_encoding(text);
        let tokens = tokenize(&text).map_err(|LexError { at, message }| {
            Error::new(kind, format!("{} at character {at}: {message}", noun(kind)))
        })?;
        Ok(Self {
            tokens,
            position: 0,
            depth: 0,
            kind,
        })
    }

    fn peek(&self) -> &Tok {
        self.tokens
            .get(self.position)
            .map_or(&Tok::End, |token| &token.tok)
    }

    fn peek_keyword(&self, keyword: &str) -> bool {
        matches!(self.peek(), Tok::Word(word) if word.eq_ignore_ascii_case(keyword))
    }

    fn next(&mut self) -> Token {
        let end = Token {
            tok: Tok::End,
            at: self.tokens.last().map_or(1, |t| t.at),
        };
        let token = self.tokens.get(self.position).cloned().unwrap_or(end);
        self.position += 1;
        token
    }

    fn error(&self, at: usize, message: impl std::fmt::Display) -> Error {
        Error::new(
            self.kind,
            format!("{} at character {at}: {message}", noun(self.kind)),
        )
    }

    fn unexpected(&self, token: &Token, wanted: &str) -> Error {
        let found = match &token.tok {
            Tok::LParen => "'('".to_owned(),
            Tok::RParen => "')'".to_owned(),
            Tok::LBracket => "'['".to_owned(),
            Tok::RBracket => "']'".to_owned(),
            Tok::Str(value) => format!("the string {value:?}"),
            Tok::Word(word) => format!("'{word}'"),
            Tok::End => "the end of the input".to_owned(),
        };
        self.error(token.at, format!("expected {wanted} but found {found}"))
    }

    fn expect(&mut self, wanted: &Tok, label: &str) -> Result<()> {
        let token = self.next();
        if &token.tok == wanted {
            Ok(())
        } else {
            Err(self.unexpected(&token, label))
        }
    }

    fn expect_end(&mut self) -> Result<()> {
        self.expect(&Tok::End, "the end of the input")
    }

    fn descend(&mut self, at: usize) -> Result<()> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(self.error(at, format!("nesting deeper than {MAX_DEPTH} levels")));
        }
        Ok(())
    }

    fn or_expr(&mut self) -> Result<Filter> {
        let mut operands = vec![self.and_expr()?];
        while self.peek_keyword("or") {
            self.next();
            operands.push(self.and_expr()?);
        }
        Ok(join(operands, Filter::Or))
    }

    fn and_expr(&mut self) -> Result<Filter> {
        let mut operands = vec![self.unary()?];
        while self.peek_keyword("and") {
            self.next();
            operands.push(self.unary()?);
        }
        Ok(join(operands, Filter::And))
    }

    fn unary(&mut self) -> Result<Filter> {
        let token = self.next();
        match token.tok {
            Tok::LParen => {
                self.descend(token.at)?;
                let inner = self.or_expr()?;
                self.expect(&Tok::RParen, "')'")?;
                self.depth -= 1;
                Ok(inner)
            }
            // `not` is an operator only before '('; otherwise it is an attribute named "not".
            Tok::Word(ref word)
                if word.eq_ignore_ascii_case("not") && self.peek() == &Tok::LParen =>
            {
                self.descend(token.at)?;
                let inner = self.unary()?;
                self.depth -= 1;
                Ok(Filter::Not(Box::new(inner)))
            }
            Tok::Word(word) => self.attr_expression(&word, token.at),
            Tok::RParen | Tok::LBracket | Tok::RBracket | Tok::Str(_) | Tok::End => {
                Err(self.unexpected(&token, "an attribute path, '(' or 'not'"))
            }
        }
    }

    fn attr_path(&self, word: &str, at: usize) -> Result<AttrPath> {
        AttrPath::parse(word).map_err(|why| self.error(at, why))
    }

    /// `attrPath SP "pr"`, `attrPath SP compareOp SP compValue`, or a value path; also Entra's
    /// `emails[type eq "work"].value eq "x"`, read as `emails[type eq "work" and value eq "x"]`.
    fn attr_expression(&mut self, word: &str, at: usize) -> Result<Filter> {
        let path = self.attr_path(word, at)?;
        if self.peek() != &Tok::LBracket {
            return self.comparison(path);
        }
        let (inner, sub_attr) = self.value_path_tail(&path, at)?;
        let Some(sub_attr) = sub_attr else {
            return Ok(Filter::ValuePath(path, Box::new(inner)));
        };
        let condition = self.comparison(AttrPath::new(sub_attr))?;
        let combined = match inner {
            Filter::And(mut operands) => {
                operands.push(condition);
                Filter::And(operands)
            }
            other => Filter::And(vec![other, condition]),
        };
        Ok(Filter::ValuePath(path, Box::new(combined)))
    }

    /// After an attribute path, reads `"[" valFilter "]"` and an optional `.subAttr`.
    fn value_path_tail(&mut self, path: &AttrPath, at: usize) -> Result<(Filter, Option<String>)> {
        if path.sub_attr.is_some() {
            return Err(self.error(
                at,
                format!("a value filter cannot follow the sub-attribute in '{path}'"),
            ));
        }
        let open = self.next();
        self.descend(open.at)?;
        let inner = self.or_expr()?;
        self.expect(&Tok::RBracket, "']'")?;
        self.depth -= 1;
        let sub_attr = match self.peek() {
            Tok::Word(word) if word.starts_with('.') => {
                let token = self.next();
                let name = word_of(&token)[1..].to_owned();
                check_attr_name(&name)
                    .map_err(|why| self.error(token.at, format!("sub-attribute '{name}' {why}")))?;
                Some(name)
            }
            _ => None,
        };
        Ok((inner, sub_attr))
    }

    fn comparison(&mut self, path: AttrPath) -> Result<Filter> {
        let token = self.next();
        let op = match &token.tok {
            Tok::Word(word) if word.eq_ignore_ascii_case("pr") => return Ok(Filter::Present(path)),
            Tok::Word(word) => CompareOp::from_keyword(word),
            _ => None,
        };
        let Some(op) = op else {
            return Err(self.unexpected(
                &token,
                "an operator (eq, ne, co, sw, ew, gt, ge, lt, le, pr)",
            ));
        };
        let value = self.next();
        let value = match value.tok {
            Tok::Str(text) => CompValue::String(text),
            Tok::Word(word) => literal(word),
            Tok::LParen | Tok::RParen | Tok::LBracket | Tok::RBracket | Tok::End => {
                return Err(self.unexpected(&value, &format!("a value after '{op}'")));
            }
        };
        Ok(Filter::Compare(path, op, value))
    }
}

fn word_of(token: &Token) -> &str {
    match &token.tok {
        Tok::Word(word) => word,
        Tok::LParen | Tok::RParen | Tok::LBracket | Tok::RBracket | Tok::Str(_) | Tok::End => "",
    }
}

/// `true`, `false`, `null` and JSON numbers; any other bare word is taken as the string the
/// client forgot to quote (documentation samples and some IdPs send `id eq 2819c223`).
fn literal(word: String) -> CompValue {
    match word.to_ascii_lowercase().as_str() {
        "true" => CompValue::Bool(true),
        "false" => CompValue::Bool(false),
        "null" => CompValue::Null,
        _ => match serde_json::from_str::<serde_json::Number>(&word) {
            Ok(number) => CompValue::Number(number),
            Err(_) => CompValue::String(word),
        },
    }
}

fn join(mut operands: Vec<Filter>, combine: fn(Vec<Filter>) -> Filter) -> Filter {
    match operands.len() {
        1 => operands.remove(0),
        _ => combine(operands),
    }
}

fn noun(kind: ScimType) -> &'static str {
    if kind == ScimType::InvalidPath {
        "invalid path"
    } else {
        "invalid filter"
    }
}
