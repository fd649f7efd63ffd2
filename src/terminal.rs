//! Terminal safety: text that came from a certificate, a file or a server is shown with its
//! control and bidirectional-override characters made visible (`\x1b`, `\u{202e}`), so a
//! name carrying `ESC[2J`, a window-title sequence or a right-to-left override cannot clear
//! the screen, retitle the terminal or reorder what the user reads. JSON output needs none of
//! this: serde_json escapes control characters, and a JSON consumer sees the exact value.
//!
//! Also [`shell_word`]: a word of a command suggested to the user, quoted as a shell reads it.

use std::borrow::Cow;
use std::fmt::Write as _;

/// `text` with every character that could act on a terminal or reorder a line replaced by a
/// visible escape; unchanged (borrowed) when there is none, which is almost always.
///
/// Escaped: C0 controls (including newline and tab: one field is one line), DEL, C1
/// controls, the bidirectional formatting characters (U+061C, U+200E-U+200F,
/// U+202A-U+202E, U+2066-U+2069), and the backslash itself only when something else was
/// escaped (so `\x1b` shown to the user cannot be confused with a literal backslash).
pub fn escape(text: &str) -> Cow<'_, str> {
    if !text.chars().any(needs_escape) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if c == '\\' {
            out.push_str("\\\\");
        } else if needs_escape(c) {
            push_escaped(&mut out, c);
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// Like [`escape`] for multi-line text (a server's response body, a file excerpt): newlines
/// and tabs are kept, everything else as in [`escape`].
pub fn escape_lines(text: &str) -> Cow<'_, str> {
    if !text
        .chars()
        .any(|c| c != '\n' && c != '\t' && needs_escape(c))
    {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for (index, line) in text.split('\n').enumerate() {
        if index > 0 {
            out.push('\n');
        }
        for (part_index, part) in line.split('\t').enumerate() {
            if part_index > 0 {
                out.push('\t');
            }
            out.push_str(&escape(part));
        }
    }
    Cow::Owned(out)
}

/// Everything written to a terminal by [`crate::output::Output`]: like [`escape_lines`]
/// (newlines and tabs kept, every other control or bidi character made visible), except that
/// the exact sequences in `allowed` (the colour codes `Output` itself emits) are kept. Lines
/// without anything to escape are copied as they are; in a line with something escaped, a
/// backslash is doubled as in [`escape`].
pub fn escape_output<'a>(text: &'a str, allowed: &[&'a str]) -> Cow<'a, str> {
    if !text
        .chars()
        .any(|c| c != '\n' && c != '\t' && needs_escape(c))
    {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 16);
    for line in text.split_inclusive('\n') {
        let (body, newline) = match line.strip_suffix('\n') {
            Some(body) => (body, "\n"),
            None => (line, ""),
        };
        if walk(body, allowed, |_| {}) {
            walk(body, allowed, |piece| match piece {
                Piece::Kept(sequence) => out.push_str(sequence),
                Piece::Char('\\') => out.push_str("\\\\"),
                Piece::Char('\t') => out.push('\t'),
                Piece::Char(c) if needs_escape(c) => push_escaped(&mut out, c),
                Piece::Char(c) => out.push(c),
            });
        } else {
            out.push_str(body);
        }
        out.push_str(newline);
    }
    Cow::Owned(out)
}

enum Piece<'a> {
    Kept(&'a str),
    Char(char),
}

/// Walks `line`, giving each allowed sequence and every other character to `each`. Returns
/// true when some character other than a tab needs escaping.
fn walk<'a>(line: &'a str, allowed: &[&'a str], mut each: impl FnMut(Piece<'a>)) -> bool {
    let mut dirty = false;
    let mut rest = line;
    while let Some(c) = rest.chars().next() {
        if c == '\x1b'
            && let Some(sequence) = allowed.iter().find(|sequence| rest.starts_with(**sequence))
        {
            each(Piece::Kept(sequence));
            rest = &rest[sequence.len()..];
            continue;
        }
        dirty |= c != '\t' && needs_escape(c);
        each(Piece::Char(c));
        rest = &rest[c.len_utf8()..];
    }
    dirty
}

fn push_escaped(out: &mut String, c: char) {
    if (c as u32) < 0x100 {
        let _ = write!(out, "\\x{:02x}", c as u32);
    } else {
        let _ = write!(out, "\\u{{{:x}}}", c as u32);
    }
}

/// True for characters that must not reach a terminal as they are.
fn needs_escape(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{061c}' | '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}'
        )
}

/// A word as a POSIX shell reads it back: as is when it is safe, else single-quoted.
pub fn shell_word(word: &str) -> String {
    if !word.is_empty()
        && word
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.,/:@=+".contains(c))
    {
        word.to_owned()
    } else {
        format!("'{}'", word.replace('\'', r"'\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_text_is_borrowed_unchanged() {
        assert!(matches!(
            escape("otel-gateway.observability.svc"),
            Cow::Borrowed(_)
        ));
        assert_eq!(escape(r"C:\path"), r"C:\path");
    }

    #[test]
    fn controls_and_bidi_overrides_become_visible() {
        assert_eq!(escape("evil\x1b[2Jname"), r"evil\x1b[2Jname");
        assert_eq!(escape("a\u{202e}b"), r"a\u{202e}b");
        assert_eq!(escape("nul\0"), r"nul\x00");
        assert_eq!(escape("x\u{9b}y"), r"x\x9by");
        assert_eq!(escape("two\nlines"), r"two\x0alines");
        assert_eq!(escape("\x1b]0;title\x07"), r"\x1b]0;title\x07");
        // A literal backslash next to an escape is doubled, so the two cannot be confused.
        assert_eq!(escape("\\x1b\x1b"), r"\\x1b\x1b");
    }

    #[test]
    fn output_keeps_lines_tabs_and_only_the_allowed_colours() {
        let allowed = ["\x1b[32m", "\x1b[0m"];
        assert!(matches!(escape_output("a\n\tb\n", &[]), Cow::Borrowed(_)));
        assert_eq!(
            escape_output("a\n\tb \x1b[32mok\x1b[0m\n", &allowed),
            "a\n\tb \x1b[32mok\x1b[0m\n"
        );
        assert_eq!(
            escape_output("CN=\x1b[2J\u{202e}x\0 C:\\d\nplain C:\\d\n", &allowed),
            "CN=\\x1b[2J\\u{202e}x\\x00 C:\\\\d\nplain C:\\d\n"
        );
        assert_eq!(
            escape_output("\x1b[32mok\x1b[0m \x1b]0;t\x07", &allowed),
            "\x1b[32mok\x1b[0m \\x1b]0;t\\x07"
        );
        assert_eq!(escape_output("\x1b[32m", &[]), "\\x1b[32m");
        assert_eq!(escape_output("a\r\n", &[]), "a\\x0d\n");
    }

    #[test]
    fn multi_line_text_keeps_its_lines() {
        assert_eq!(escape_lines("a\n\tb"), "a\n\tb");
        assert_eq!(
            escape_lines("HTTP/1.1 200\x1b]0;x\x07\nok"),
            "HTTP/1.1 200\\x1b]0;x\\x07\nok"
        );
    }
}
