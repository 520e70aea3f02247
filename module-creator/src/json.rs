// SPDX-License-Identifier: MPL-2.0
//! A lenient JSON reader that keeps the line and column of every value and key.
//!
//! Kurento's own descriptors are not strict JSON (kmd-format.md §2): they contain raw newlines
//! inside strings, `//`, `/* */` and `#` comments, and trailing commas. Positions are kept so
//! that every later validation error can name the file, line and column.

use serde_json::{Map, Number, Value};

/// 1-based line and column (in characters).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Pos {
    pub line: u32,
    pub col: u32,
}

#[derive(Debug, Clone)]
pub enum Node {
    Null,
    Bool(bool),
    Num(Number),
    Str(String),
    Arr(Vec<Spanned>),
    Obj(Vec<(Key, Spanned)>),
}

#[derive(Debug, Clone)]
pub struct Spanned {
    pub pos: Pos,
    pub node: Node,
}

#[derive(Debug, Clone)]
pub struct Key {
    pub name: String,
    pub pos: Pos,
}

#[derive(Debug, Clone)]
pub struct SyntaxError {
    pub pos: Pos,
    pub message: String,
}

impl Spanned {
    pub fn kind(&self) -> &'static str {
        match self.node {
            Node::Null => "null",
            Node::Bool(_) => "a boolean",
            Node::Num(_) => "a number",
            Node::Str(_) => "a string",
            Node::Arr(_) => "an array",
            Node::Obj(_) => "an object",
        }
    }

    /// The plain JSON value (positions dropped), e.g. for `defaultValue`.
    pub fn to_value(&self) -> Value {
        match &self.node {
            Node::Null => Value::Null,
            Node::Bool(b) => Value::Bool(*b),
            Node::Num(n) => Value::Number(n.clone()),
            Node::Str(s) => Value::String(s.clone()),
            Node::Arr(items) => Value::Array(items.iter().map(Spanned::to_value).collect()),
            Node::Obj(members) => {
                let mut map = Map::new();
                for (k, v) in members {
                    map.insert(k.name.clone(), v.to_value());
                }
                Value::Object(map)
            }
        }
    }
}

/// Parses one lenient JSON document.
pub fn parse(text: &str) -> Result<Spanned, SyntaxError> {
    let mut p = Parser {
        chars: text.chars().collect(),
        i: 0,
        line: 1,
        col: 1,
    };
    p.skip_ws()?;
    let v = p.value()?;
    p.skip_ws()?;
    if p.i < p.chars.len() {
        return Err(p.error("unexpected text after the end of the document"));
    }
    Ok(v)
}

struct Parser {
    chars: Vec<char>,
    i: usize,
    line: u32,
    col: u32,
}

impl Parser {
    fn pos(&self) -> Pos {
        Pos {
            line: self.line,
            col: self.col,
        }
    }

    fn error(&self, message: &str) -> SyntaxError {
        SyntaxError {
            pos: self.pos(),
            message: message.to_string(),
        }
    }

    fn peek(&self) -> Option<char> {
        self.chars.get(self.i).copied()
    }

    fn bump(&mut self) -> Option<char> {
        let c = self.peek()?;
        self.i += 1;
        if c == '\n' {
            self.line += 1;
            self.col = 1;
        } else {
            self.col += 1;
        }
        Some(c)
    }

    fn skip_ws(&mut self) -> Result<(), SyntaxError> {
        loop {
            match self.peek() {
                Some(c) if c.is_whitespace() || c == '\u{feff}' => {
                    self.bump();
                }
                Some('#') => self.skip_line(),
                Some('/') if self.chars.get(self.i + 1) == Some(&'/') => self.skip_line(),
                Some('/') if self.chars.get(self.i + 1) == Some(&'*') => {
                    let start = self.pos();
                    self.bump();
                    self.bump();
                    loop {
                        match self.bump() {
                            None => {
                                return Err(SyntaxError {
                                    pos: start,
                                    message: "unterminated /* comment".into(),
                                });
                            }
                            Some('*') if self.peek() == Some('/') => {
                                self.bump();
                                break;
                            }
                            _ => {}
                        }
                    }
                }
                _ => return Ok(()),
            }
        }
    }

    fn skip_line(&mut self) {
        while let Some(c) = self.peek() {
            if c == '\n' {
                break;
            }
            self.bump();
        }
    }

    fn value(&mut self) -> Result<Spanned, SyntaxError> {
        let pos = self.pos();
        let node = match self.peek() {
            None => return Err(self.error("unexpected end of file, expected a value")),
            Some('{') => self.object()?,
            Some('[') => self.array()?,
            Some('"') | Some('\'') => Node::Str(self.string()?),
            Some(c) if c == '-' || c.is_ascii_digit() => self.number()?,
            Some(c) if c.is_ascii_alphabetic() => {
                let word = self.word();
                match word.as_str() {
                    "true" => Node::Bool(true),
                    "false" => Node::Bool(false),
                    "null" => Node::Null,
                    _ => {
                        return Err(SyntaxError {
                            pos,
                            message: format!(
                                "unexpected word '{word}', expected a value (string, number, object, array, true, false or null)"
                            ),
                        });
                    }
                }
            }
            Some(c) => {
                return Err(self.error(&format!("unexpected character '{c}', expected a value")));
            }
        };
        Ok(Spanned { pos, node })
    }

    fn word(&mut self) -> String {
        let mut w = String::new();
        while let Some(c) = self.peek() {
            if c.is_ascii_alphanumeric() || c == '_' || c == '$' {
                w.push(c);
                self.bump();
            } else {
                break;
            }
        }
        w
    }

    fn number(&mut self) -> Result<Node, SyntaxError> {
        let pos = self.pos();
        let mut s = String::new();
        while let Some(c) = self.peek() {
            if c.is_ascii_digit() || matches!(c, '-' | '+' | '.' | 'e' | 'E') {
                s.push(c);
                self.bump();
            } else {
                break;
            }
        }
        let num = if let Ok(i) = s.parse::<i64>() {
            Some(Number::from(i))
        } else if let Ok(u) = s.parse::<u64>() {
            Some(Number::from(u))
        } else {
            s.parse::<f64>().ok().and_then(Number::from_f64)
        };
        num.map(Node::Num).ok_or(SyntaxError {
            pos,
            message: format!("malformed number '{s}'"),
        })
    }

    fn string(&mut self) -> Result<String, SyntaxError> {
        let start = self.pos();
        let quote = self.bump().unwrap_or('"');
        let mut s = String::new();
        loop {
            match self.bump() {
                None => {
                    return Err(SyntaxError {
                        pos: start,
                        message: "unterminated string".into(),
                    });
                }
                Some(c) if c == quote => return Ok(s),
                Some('\\') => {
                    let esc = self.pos();
                    match self.bump() {
                        Some('n') => s.push('\n'),
                        Some('t') => s.push('\t'),
                        Some('r') => s.push('\r'),
                        Some('b') => s.push('\u{8}'),
                        Some('f') => s.push('\u{c}'),
                        Some('u') => {
                            let hex: String = (0..4).filter_map(|_| self.bump()).collect();
                            let code = u32::from_str_radix(&hex, 16).map_err(|_| SyntaxError {
                                pos: esc,
                                message: format!("bad \\u escape '{hex}'"),
                            })?;
                            // Surrogate pairs are joined; a lone surrogate becomes U+FFFD.
                            if (0xd800..0xdc00).contains(&code) && self.peek() == Some('\\') {
                                self.bump();
                                self.bump();
                                let low: String = (0..4).filter_map(|_| self.bump()).collect();
                                let low = u32::from_str_radix(&low, 16).unwrap_or(0);
                                let c =
                                    0x10000 + ((code - 0xd800) << 10) + (low.wrapping_sub(0xdc00));
                                s.push(char::from_u32(c).unwrap_or('\u{fffd}'));
                            } else {
                                s.push(char::from_u32(code).unwrap_or('\u{fffd}'));
                            }
                        }
                        Some(c) => s.push(c),
                        None => {
                            return Err(SyntaxError {
                                pos: start,
                                message: "unterminated string".into(),
                            });
                        }
                    }
                }
                // Raw control characters (newlines in docs) are accepted as Kurento's reader does.
                Some(c) => s.push(c),
            }
        }
    }

    fn array(&mut self) -> Result<Node, SyntaxError> {
        self.bump();
        let mut items = Vec::new();
        loop {
            self.skip_ws()?;
            match self.peek() {
                Some(']') => {
                    self.bump();
                    return Ok(Node::Arr(items));
                }
                None => {
                    return Err(self.error("unexpected end of file inside an array, expected ']'"));
                }
                _ => {}
            }
            items.push(self.value()?);
            self.skip_ws()?;
            match self.peek() {
                // A trailing comma before ']' is tolerated.
                Some(',') => {
                    self.bump();
                }
                Some(']') => {}
                Some(c) => {
                    return Err(
                        self.error(&format!("expected ',' or ']' in an array, found '{c}'"))
                    );
                }
                None => {
                    return Err(self.error("unexpected end of file inside an array, expected ']'"));
                }
            }
        }
    }

    fn object(&mut self) -> Result<Node, SyntaxError> {
        self.bump();
        let mut members: Vec<(Key, Spanned)> = Vec::new();
        loop {
            self.skip_ws()?;
            let pos = self.pos();
            let name = match self.peek() {
                Some('}') => {
                    self.bump();
                    return Ok(Node::Obj(members));
                }
                Some('"') | Some('\'') => self.string()?,
                Some(c) if c.is_ascii_alphabetic() || c == '_' || c == '$' => self.word(),
                Some(c) => {
                    return Err(self.error(&format!(
                        "unexpected character '{c}', expected a member name or '}}'"
                    )));
                }
                None => {
                    return Err(self.error("unexpected end of file inside an object, expected '}'"));
                }
            };
            self.skip_ws()?;
            if self.peek() != Some(':') {
                return Err(self.error(&format!("expected ':' after member name \"{name}\"")));
            }
            self.bump();
            self.skip_ws()?;
            let value = self.value()?;
            // A repeated key keeps the last value, as the reference reader does.
            members.retain(|(k, _)| k.name != name);
            members.push((Key { name, pos }, value));
            self.skip_ws()?;
            match self.peek() {
                Some(',') | Some(';') => {
                    self.bump();
                }
                Some('}') => {}
                Some(c) => {
                    return Err(
                        self.error(&format!("expected ',' or '}}' in an object, found '{c}'"))
                    );
                }
                None => {
                    return Err(self.error("unexpected end of file inside an object, expected '}'"));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lenient_input() {
        let v = parse("{ // c\n \"a\": \"x\ny\", # h\n \"b\": [1, 2,], /* k */ \"c\": -1.5e2 }")
            .unwrap();
        assert_eq!(
            v.to_value(),
            serde_json::json!({"a": "x\ny", "b": [1, 2], "c": -150.0})
        );
    }

    #[test]
    fn error_positions() {
        let e = parse("{\n  \"a\": 1\n  \"b\": 2\n}").unwrap_err();
        assert_eq!((e.pos.line, e.pos.col), (3, 3));
        assert!(e.message.contains("expected ','"), "{}", e.message);
    }
}
