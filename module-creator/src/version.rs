// SPDX-License-Identifier: MPL-2.0
//! Version expressions of imports (kmd-format.md §5.3–§5.5): evaluation, and the Maven and npm
//! ranges derived from them.

use std::cmp::Ordering;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Version {
    pub parts: [u64; 3],
    /// How many of the three numbers were written (`1.2` → 2).
    pub given: usize,
    pub pre: Option<String>,
}

impl Version {
    pub fn parse(s: &str) -> Option<Version> {
        let s = s.trim();
        let (nums, pre) = match s.split_once('-') {
            Some((n, p)) => (n, Some(p.to_string())),
            None => (s, None),
        };
        let mut parts = [0u64; 3];
        let mut given = 0;
        for (i, p) in nums.split('.').enumerate() {
            if i >= 3 {
                return None;
            }
            parts[i] = p.parse().ok()?;
            given = i + 1;
        }
        Some(Version { parts, given, pre })
    }

    fn cmp_full(&self, other: &Version) -> Ordering {
        self.parts
            .cmp(&other.parts)
            .then_with(|| match (&self.pre, &other.pre) {
                (None, None) => Ordering::Equal,
                (Some(_), None) => Ordering::Less,
                (None, Some(_)) => Ordering::Greater,
                (Some(a), Some(b)) => a.cmp(b),
            })
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    Eq(String),
    Ne(String),
    Gt(String),
    Ge(String),
    Lt(String),
    Le(String),
    Tilde(String),
    Wildcard(String),
    Range(String, String),
    And(Box<Expr>, Box<Expr>),
    Or(Box<Expr>, Box<Expr>),
    Not(Box<Expr>),
}

/// Parses a version expression; `^X.Y.Z` as the first character is the caret shorthand.
pub fn parse_expr(text: &str) -> Result<Expr, String> {
    let t = text.trim();
    let rewritten;
    let src = if let Some(rest) = t.strip_prefix('^') {
        let v = Version::parse(rest.split_whitespace().next().unwrap_or(""))
            .ok_or_else(|| format!("bad version '{rest}' after '^'"))?;
        rewritten = format!(">={rest} & <{}.0.0", v.parts[0] + 1);
        rewritten.as_str()
    } else {
        t
    };
    let tokens = tokenize(src)?;
    let mut p = ExprParser { tokens, i: 0 };
    let e = p.or()?;
    if p.i != p.tokens.len() {
        return Err(format!(
            "unexpected '{}' in version expression '{text}'",
            p.tokens[p.i]
        ));
    }
    Ok(e)
}

fn tokenize(s: &str) -> Result<Vec<String>, String> {
    let mut out = Vec::new();
    let chars: Vec<char> = s.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_whitespace() {
            i += 1;
        } else if matches!(c, '&' | '|' | '(' | ')' | '~') {
            out.push(c.to_string());
            i += 1;
        } else if matches!(c, '<' | '>' | '=' | '!') {
            if chars.get(i + 1) == Some(&'=') {
                out.push(format!("{c}="));
                i += 2;
            } else {
                out.push(c.to_string());
                i += 1;
            }
        } else if c == '-' && chars.get(i + 1).is_some_and(|n| n.is_whitespace()) {
            out.push("-".into());
            i += 1;
        } else if c.is_ascii_alphanumeric() || c == '*' {
            let start = i;
            while i < chars.len()
                && (chars[i].is_ascii_alphanumeric() || matches!(chars[i], '.' | '-' | '*' | '+'))
            {
                i += 1;
            }
            out.push(chars[start..i].iter().collect());
        } else {
            return Err(format!(
                "unexpected character '{c}' in version expression '{s}'"
            ));
        }
    }
    Ok(out)
}

struct ExprParser {
    tokens: Vec<String>,
    i: usize,
}

impl ExprParser {
    fn peek(&self) -> Option<&str> {
        self.tokens.get(self.i).map(String::as_str)
    }

    fn next(&mut self) -> Result<String, String> {
        let t = self
            .tokens
            .get(self.i)
            .cloned()
            .ok_or("version expression ends too early")?;
        self.i += 1;
        Ok(t)
    }

    fn or(&mut self) -> Result<Expr, String> {
        let mut e = self.and()?;
        while self.peek() == Some("|") {
            self.i += 1;
            e = Expr::Or(Box::new(e), Box::new(self.and()?));
        }
        Ok(e)
    }

    fn and(&mut self) -> Result<Expr, String> {
        let mut e = self.unary()?;
        while self.peek() == Some("&") {
            self.i += 1;
            e = Expr::And(Box::new(e), Box::new(self.unary()?));
        }
        Ok(e)
    }

    fn version(&mut self) -> Result<String, String> {
        let v = self.next()?;
        if Version::parse(&v.replace(".*", "")).is_none() {
            return Err(format!("'{v}' is not a version"));
        }
        Ok(v)
    }

    fn unary(&mut self) -> Result<Expr, String> {
        let t = self.next()?;
        let e = match t.as_str() {
            "!" => {
                if self.next()? != "(" {
                    return Err("'!' must be followed by '('".into());
                }
                let e = self.or()?;
                if self.next()? != ")" {
                    return Err("missing ')'".into());
                }
                Expr::Not(Box::new(e))
            }
            "(" => {
                let e = self.or()?;
                if self.next()? != ")" {
                    return Err("missing ')'".into());
                }
                e
            }
            "=" => Expr::Eq(self.version()?),
            "!=" => Expr::Ne(self.version()?),
            ">" => Expr::Gt(self.version()?),
            ">=" => Expr::Ge(self.version()?),
            "<" => Expr::Lt(self.version()?),
            "<=" => Expr::Le(self.version()?),
            "~" => Expr::Tilde(self.version()?),
            _ => {
                self.i -= 1;
                let v = self.version()?;
                if v.contains('*') {
                    Expr::Wildcard(v)
                } else if self.peek() == Some("-") {
                    self.i += 1;
                    Expr::Range(v, self.version()?)
                } else {
                    Expr::Eq(v)
                }
            }
        };
        Ok(e)
    }
}

fn ver(s: &str) -> Version {
    Version::parse(s).unwrap_or(Version {
        parts: [0; 3],
        given: 0,
        pre: None,
    })
}

/// Evaluates `expr` for `version`.
pub fn satisfies(expr: &Expr, version: &str) -> bool {
    let v = ver(version);
    let c = |s: &str| v.cmp_full(&ver(s));
    match expr {
        Expr::Eq(s) => {
            let w = ver(s);
            if w.given < 3 && w.pre.is_none() {
                v.parts[..w.given] == w.parts[..w.given]
            } else {
                c(s) == Ordering::Equal
            }
        }
        Expr::Ne(s) => c(s) != Ordering::Equal,
        Expr::Gt(s) => c(s) == Ordering::Greater,
        Expr::Ge(s) => c(s) != Ordering::Less,
        Expr::Lt(s) => c(s) == Ordering::Less,
        Expr::Le(s) => c(s) != Ordering::Greater,
        Expr::Tilde(s) => {
            let w = ver(s);
            let upper = if w.given >= 2 {
                [w.parts[0], w.parts[1] + 1, 0]
            } else {
                [w.parts[0] + 1, 0, 0]
            };
            c(s) != Ordering::Less && v.parts < upper
        }
        Expr::Wildcard(s) => {
            let fixed: Vec<u64> = s
                .split('.')
                .take_while(|p| *p != "*")
                .filter_map(|p| p.parse().ok())
                .collect();
            v.parts[..fixed.len()] == fixed[..]
        }
        Expr::Range(a, b) => c(a) != Ordering::Less && c(b) != Ordering::Greater,
        Expr::And(a, b) => satisfies(a, version) && satisfies(b, version),
        Expr::Or(a, b) => satisfies(a, version) || satisfies(b, version),
        Expr::Not(a) => !satisfies(a, version),
    }
}

/// kmd-format.md §5.4: does a dependency of version `found` satisfy the import `wanted`?
pub fn compatible(wanted: &str, found: &str) -> Result<bool, String> {
    if wanted == found {
        return Ok(true);
    }
    if !wanted.ends_with("-dev") && satisfies(&parse_expr(wanted)?, found) {
        return Ok(true);
    }
    let w = wanted.trim_end_matches("-dev");
    let w = if w.starts_with('^') {
        w.to_string()
    } else {
        format!("^{w}")
    };
    let f = found.trim_end_matches("-dev");
    Ok(satisfies(&parse_expr(&w)?, f))
}

fn snapshot(v: &str) -> String {
    match v.strip_suffix("-dev") {
        Some(b) => format!("{b}-SNAPSHOT"),
        None => v.to_string(),
    }
}

fn upper_snapshot(v: &str) -> String {
    if v.ends_with("-dev") {
        snapshot(v)
    } else {
        format!("{v}-SNAPSHOT")
    }
}

/// The Maven range of an import expression (kmd-format.md §5.5).
pub fn maven_range(text: &str) -> Result<String, String> {
    let e = parse_expr(text)?;
    maven(&e)
        .ok_or_else(|| format!("unsupported version '{text}' in import (no Maven range for it)"))
}

fn maven(e: &Expr) -> Option<String> {
    Some(match e {
        Expr::Eq(v) => snapshot(v),
        Expr::Lt(v) => format!("(,{})", upper_snapshot(v)),
        Expr::Le(v) => format!("(,{}]", snapshot(v)),
        Expr::Gt(v) => format!("({},)", snapshot(v)),
        Expr::Ge(v) => format!("[{},)", snapshot(v)),
        Expr::And(a, b) => {
            let (lo, hi) = match (a.as_ref(), b.as_ref()) {
                (l @ (Expr::Ge(_) | Expr::Gt(_)), h @ (Expr::Lt(_) | Expr::Le(_))) => (l, h),
                (h @ (Expr::Lt(_) | Expr::Le(_)), l @ (Expr::Ge(_) | Expr::Gt(_))) => (l, h),
                _ => return None,
            };
            let left = match lo {
                Expr::Ge(v) => format!("[{}", snapshot(v)),
                Expr::Gt(v) => format!("({}", snapshot(v)),
                _ => return None,
            };
            let right = match hi {
                Expr::Lt(v) => format!("{})", upper_snapshot(v)),
                Expr::Le(v) => format!("{}]", snapshot(v)),
                _ => return None,
            };
            format!("{left},{right}")
        }
        Expr::Or(a, b) => format!("{},{}", maven(a)?, maven(b)?),
        _ => return None,
    })
}

/// The npm range of an import expression (kmd-format.md §5.5); `npm_git` is the dependency's
/// `code.api.js.npmGit`, used for development versions.
pub fn npm_range(text: &str, npm_git: Option<&str>) -> Result<String, String> {
    if let Some(base) = text.strip_suffix("-dev") {
        return Ok(match npm_git {
            Some(g) => g.to_string(),
            None => base.trim_start_matches('^').to_string(),
        });
    }
    let e = parse_expr(text)?;
    npm(&e).ok_or_else(|| format!("unsupported version '{text}' in import (no npm range for it)"))
}

fn npm(e: &Expr) -> Option<String> {
    Some(match e {
        Expr::Eq(v) => v.clone(),
        Expr::Lt(v) => format!("<{v}"),
        Expr::Le(v) => format!("<={v}"),
        Expr::Gt(v) => format!(">{v}"),
        Expr::Ge(v) => format!(">={v}"),
        Expr::Tilde(v) => format!("~{v}"),
        Expr::Wildcard(v) => v.clone(),
        Expr::Range(a, b) => format!("{a} - {b}"),
        Expr::And(a, b) => format!("{} {}", npm(a)?, npm(b)?),
        Expr::Or(a, b) => format!("{} || {}", npm(a)?, npm(b)?),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn caret_ranges() {
        assert_eq!(maven_range("^7.1.0").unwrap(), "[7.1.0,8.0.0-SNAPSHOT)");
        assert_eq!(npm_range("^7.1.0", None).unwrap(), ">=7.1.0 <8.0.0");
        assert!(compatible("^7.1.0", "7.3.1-dev").unwrap());
        assert!(compatible("^7.0.0", "7.3.1").unwrap());
        assert!(!compatible("^8.0.0", "7.3.1").unwrap());
        assert!(compatible("7.3.1-dev", "7.3.1-dev").unwrap());
        assert!(compatible(">=1.0 & <2.0 | 3.*", "3.4.0").unwrap());
        assert!(maven_range("~1.2").is_err());
    }
}
