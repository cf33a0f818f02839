//! Line diffs of two texts with word-level highlights, shaped for `templates/_diff.html`, and
//! the same diffs as plain unified-diff text for download.
//!
//! Used to show a script's change against its previous version and against production, and to
//! compare two packages script by script. Everything here is plain text: segments are strings the
//! template escapes, never HTML.
//!
//! Bounded work and memory: the line diff and the word refinement run under deadlines (past them
//! similar returns a coarser but correct diff), very large replaced blocks skip word refinement,
//! and a rendered diff stops at a [`Budget`] of rows and bytes: [`SCRIPT_BUDGET`] for one
//! script, [`PAGE_BUDGET`] for a page of several. What is left out is counted
//! ([`TextDiff::hidden_rows`]) so the page can say so and link to the full diff, which
//! [`unified`] writes one script at a time.

use std::borrow::Cow;
use std::time::{Duration, Instant};

use similar::{Algorithm, ChangeTag, DiffOp, DiffTag, InlineChange};

/// How much of a diff may be rendered: rows (context, added and removed lines) and bytes of
/// line text. A page's HTML, and the memory that builds it, grow with both: rows bound the
/// markup, bytes the text (one 1 MiB line is one row).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Budget {
    pub rows: usize,
    pub bytes: usize,
}

/// What one script's diff renders at most. 2,000 rows is a long review; 256 KiB of text is
/// 2,000 lines of 128 bytes. Past it the diff says how many lines it left out and links to
/// the full diff.
pub const SCRIPT_BUDGET: Budget = Budget {
    rows: 2_000,
    bytes: 256 * 1024,
};

/// What one page renders at most over all its diffs (Compare Version): five scripts at their
/// own budget, or many more small changes. The scripts after it are counted, not diffed.
/// A row costs about 500 bytes while the page is built (its diff row, then its HTML, then
/// actix's copy of the body), so 10,000 rows are about 5 MiB a request; with 20,000, three
/// Compare Versions beside three exports and four CSVs passed 64 MiB (docs/RELIABILITY.md).
pub const PAGE_BUDGET: Budget = Budget {
    rows: 10_000,
    bytes: 1024 * 1024,
};

/// The script text a page of several diffs may hold at once to diff them (the package page
/// reads the texts of all the diffs it shows in one statement): both sides of each. Two diffs
/// of the largest scripts (1 MiB a side), or hundreds of ordinary ones; the rest are linked.
pub const PAGE_TEXT_BYTES: usize = 4 * 1024 * 1024;

impl Budget {
    /// The smaller of two budgets, field by field.
    pub fn min(self, other: Budget) -> Budget {
        Budget {
            rows: self.rows.min(other.rows),
            bytes: self.bytes.min(other.bytes),
        }
    }

    /// Takes what `diff` rendered out of this budget.
    pub fn spend(&mut self, diff: &TextDiff) {
        self.rows = self.rows.saturating_sub(diff.shown_rows);
        self.bytes = self.bytes.saturating_sub(diff.shown_bytes);
    }

    /// Nothing more can be rendered.
    pub fn is_spent(&self) -> bool {
        self.rows == 0 || self.bytes == 0
    }
}

/// Time the line diff may take before similar falls back to a coarser result.
const LINE_DIFF_TIMEOUT: Duration = Duration::from_millis(1_000);

/// Time all word-level refinement of one diff may take together.
const INLINE_TIMEOUT: Duration = Duration::from_millis(300);

/// A replaced block with more lines than this (both sides together) is shown without word
/// highlights: refining it costs time and a screenful of highlights helps no one.
const INLINE_MAX_LINES: usize = 400;

/// A line diff of two texts with word-level highlights, ready for a template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TextDiff {
    /// The changed regions with their context, in order, as far as the budget went.
    pub hunks: Vec<Hunk>,
    /// Lines added in the whole diff (also the ones left out).
    pub added: usize,
    /// Lines removed in the whole diff (also the ones left out).
    pub removed: usize,
    /// No line differs. A missing newline at the end of either text is not a difference.
    pub identical: bool,
    /// Not all of the diff is shown: rows were left out, or the last row shown is cut short.
    pub truncated: bool,
    /// Rows of the whole diff (with its context) that were left out.
    pub hidden_rows: usize,
    /// Rows shown, and bytes of their text: what the diff took of its [`Budget`].
    pub shown_rows: usize,
    pub shown_bytes: usize,
    /// Number of lines of the old text.
    pub old_lines: usize,
    /// Number of lines of the new text.
    pub new_lines: usize,
}

/// One changed region and the unchanged lines around it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hunk {
    /// The unified-diff header of the rows shown, e.g. `@@ -12,7 +12,9 @@`.
    pub header: String,
    /// Inline view: one row per line, removed lines before the added lines that replace them.
    pub rows: Vec<Row>,
}

impl Hunk {
    /// Side-by-side view: old lines on the left, new lines on the right. Made when the template
    /// asks, so a diff shown inline does not hold its text twice.
    pub fn side(&self) -> Vec<SideRow> {
        side_by_side(&self.rows)
    }
}

/// A line of the inline view.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    pub kind: RowKind,
    /// 1-based line number in the old text; `None` for added lines.
    pub old_no: Option<usize>,
    /// 1-based line number in the new text; `None` for removed lines.
    pub new_no: Option<usize>,
    /// The line's text without its line ending.
    pub segments: Vec<Segment>,
    /// The text is cut short: the budget ran out inside this line.
    pub cut: bool,
}

impl Row {
    fn text_len(&self) -> usize {
        self.segments.iter().map(|s| s.text.len()).sum()
    }

    /// Keeps the first `bytes` bytes of the text (fewer, to end on a character boundary).
    fn cut_to(&mut self, bytes: usize) {
        let mut keep = bytes;
        self.segments.retain_mut(|s| {
            if keep == 0 {
                return false;
            }
            if s.text.len() > keep {
                let mut end = keep;
                while !s.text.is_char_boundary(end) {
                    end -= 1;
                }
                s.text.truncate(end);
            }
            keep -= s.text.len();
            !s.text.is_empty()
        });
        self.cut = true;
    }
}

/// What happened to a line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RowKind {
    Context,
    Added,
    Removed,
}

impl RowKind {
    /// The CSS class of a row or cell of this kind (`static/app.css`, section "Diffs").
    pub fn css(&self) -> &'static str {
        match self {
            RowKind::Context => "ctx",
            RowKind::Added => "add",
            RowKind::Removed => "del",
        }
    }
}

/// A line of the side-by-side view; a missing half is blank.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SideRow {
    pub left: Option<Cell>,
    pub right: Option<Cell>,
}

/// One half of a [`SideRow`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cell {
    /// 1-based line number on its side.
    pub no: usize,
    pub kind: RowKind,
    pub segments: Vec<Segment>,
    /// The text is cut short (see [`Row::cut`]).
    pub cut: bool,
}

/// A run of a line's text; `emphasized` marks the words that changed inside a replaced line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Segment {
    pub text: String,
    pub emphasized: bool,
}

/// Diffs `old` against `new` line by line within one script's budget ([`SCRIPT_BUDGET`]),
/// keeping `context` unchanged lines around each change and merging hunks whose gap is at most
/// `2 * context` lines.
pub fn diff_texts(old: &str, new: &str, context: usize) -> TextDiff {
    diff_within(old, new, context, SCRIPT_BUDGET)
}

/// [`diff_texts`] rendering at most `budget`; the rows past it are counted in
/// [`TextDiff::hidden_rows`].
pub fn diff_within(old: &str, new: &str, context: usize, budget: Budget) -> TextDiff {
    let old = with_final_newline(old);
    let new = with_final_newline(new);
    let diff = similar::TextDiff::configure()
        .algorithm(Algorithm::Patience)
        .timeout(LINE_DIFF_TIMEOUT)
        .diff_lines(old.as_ref(), new.as_ref());

    let (mut added, mut removed) = (0, 0);
    for op in diff.ops() {
        let (tag, old_range, new_range) = op.as_tag_tuple();
        if tag != DiffTag::Equal {
            removed += old_range.len();
            added += new_range.len();
        }
    }

    let inline_deadline = Instant::now() + INLINE_TIMEOUT;
    let mut hunks = Vec::new();
    let mut left = budget;
    let (mut all_rows, mut shown_rows, mut shown_bytes) = (0, 0, 0);
    let mut cut = false;
    for group in diff.grouped_ops(context) {
        all_rows += group.iter().map(rows_of).sum::<usize>();
        if left.is_spent() {
            // Past the budget the rest is only counted.
            continue;
        }
        let mut rows = Vec::new();
        'ops: for op in &group {
            for change in changes(&diff, op, inline_deadline) {
                if left.is_spent() {
                    break 'ops;
                }
                let mut row = row(&change);
                if row.text_len() > left.bytes {
                    row.cut_to(left.bytes);
                    cut = true;
                }
                let bytes = row.text_len();
                left.rows -= 1;
                // A cut row takes the rest of the bytes, so nothing follows it.
                left.bytes = if row.cut { 0 } else { left.bytes - bytes };
                shown_rows += 1;
                shown_bytes += bytes;
                rows.push(row);
            }
        }
        if !rows.is_empty() {
            hunks.push(Hunk {
                header: header(&rows, group.first()),
                rows,
            });
        }
    }
    let hidden_rows = all_rows - shown_rows;

    TextDiff {
        hunks,
        added,
        removed,
        identical: added == 0 && removed == 0,
        truncated: hidden_rows > 0 || cut,
        hidden_rows,
        shown_rows,
        shown_bytes,
        old_lines: diff.old_len(),
        new_lines: diff.new_len(),
    }
}

/// The rows `op` renders: a replaced line shows as removed and as added.
fn rows_of(op: &DiffOp) -> usize {
    match op.tag() {
        DiffTag::Equal | DiffTag::Delete => op.old_range().len(),
        DiffTag::Insert => op.new_range().len(),
        DiffTag::Replace => op.old_range().len() + op.new_range().len(),
    }
}

/// `old` → `new` as a unified diff with three lines of context, under `--- {old_label}` and
/// `+++ {new_label}`: the whole diff, for download. Empty when the texts are equal. The texts
/// are taken as they are, so a missing final newline shows as `\ No newline at end of file`.
pub fn unified(old: &str, new: &str, old_label: &str, new_label: &str) -> String {
    similar::TextDiff::configure()
        .algorithm(Algorithm::Patience)
        .timeout(LINE_DIFF_TIMEOUT)
        .diff_lines(old, new)
        .unified_diff()
        .context_radius(3)
        .header(old_label, new_label)
        .to_string()
}

/// Ends a non-empty text with a newline, so that a missing one at the end does not turn the last
/// line into a change.
fn with_final_newline(text: &str) -> Cow<'_, str> {
    if text.is_empty() || text.ends_with('\n') {
        Cow::Borrowed(text)
    } else {
        Cow::Owned(format!("{text}\n"))
    }
}

/// The lines `op` expands to, with word highlights unless the block is too large to refine.
fn changes<'d>(
    diff: &'d similar::TextDiff<'_, '_, str>,
    op: &DiffOp,
    deadline: Instant,
) -> Box<dyn Iterator<Item = InlineChange<'d, str>> + 'd> {
    let lines = op.old_range().len() + op.new_range().len();
    if op.tag() == DiffTag::Replace && lines <= INLINE_MAX_LINES {
        Box::new(diff.iter_inline_changes_deadline(op, Some(deadline)))
    } else {
        Box::new(diff.iter_changes(op).map(InlineChange::from))
    }
}

fn row(change: &InlineChange<'_, str>) -> Row {
    let kind = match change.tag() {
        ChangeTag::Equal => RowKind::Context,
        ChangeTag::Insert => RowKind::Added,
        ChangeTag::Delete => RowKind::Removed,
    };
    Row {
        kind,
        old_no: change.old_index().map(|i| i + 1),
        new_no: change.new_index().map(|i| i + 1),
        segments: segments(change.values()),
        cut: false,
    }
}

/// Joins neighbouring values of equal emphasis and drops the line ending.
fn segments(values: &[(bool, &str)]) -> Vec<Segment> {
    let total: usize = values.iter().map(|(_, s)| s.len()).sum();
    let line_ending = values.iter().map(|(_, s)| *s).rev().find(|s| !s.is_empty());
    let ending_len = match line_ending {
        Some(s) if s.ends_with("\r\n") => 2,
        Some(s) if s.ends_with('\n') => 1,
        _ => 0,
    };
    // A line ending may be split over two values ("\r" then "\n"), so cut by byte count.
    let mut keep = total - ending_len;
    let mut out: Vec<Segment> = Vec::new();
    for &(emphasized, value) in values {
        if keep == 0 {
            break;
        }
        let text = &value[..value.len().min(keep)];
        keep -= text.len();
        if text.is_empty() {
            continue;
        }
        match out.last_mut() {
            Some(last) if last.emphasized == emphasized => last.text.push_str(text),
            _ => out.push(Segment {
                text: text.to_owned(),
                emphasized,
            }),
        }
    }
    out
}

/// The unified-diff header of the rows actually shown. `first_op` places a side that has no
/// lines in this hunk: its range names the line before the hunk.
fn header(rows: &[Row], first_op: Option<&DiffOp>) -> String {
    let old: Vec<usize> = rows.iter().filter_map(|r| r.old_no).collect();
    let new: Vec<usize> = rows.iter().filter_map(|r| r.new_no).collect();
    let (old_before, new_before) =
        first_op.map_or((0, 0), |op| (op.old_range().start, op.new_range().start));
    format!(
        "@@ -{} +{} @@",
        range(&old, old_before),
        range(&new, new_before)
    )
}

/// `start,count` as in unified diffs: `,1` is left out, and an empty range names the line
/// before it.
fn range(numbers: &[usize], line_before: usize) -> String {
    match numbers {
        [] => format!("{line_before},0"),
        [only] => only.to_string(),
        [first, ..] => format!("{first},{}", numbers.len()),
    }
}

/// Pairs each run of removed lines with the added lines of the same change block, in order;
/// context lines appear on both sides.
fn side_by_side(rows: &[Row]) -> Vec<SideRow> {
    fn cell(no: Option<usize>, row: &Row) -> Option<Cell> {
        no.map(|no| Cell {
            no,
            kind: row.kind,
            segments: row.segments.clone(),
            cut: row.cut,
        })
    }
    fn flush(side: &mut Vec<SideRow>, left: &mut Vec<Cell>, right: &mut Vec<Cell>) {
        let len = left.len().max(right.len());
        let mut left = left.drain(..);
        let mut right = right.drain(..);
        for _ in 0..len {
            side.push(SideRow {
                left: left.next(),
                right: right.next(),
            });
        }
    }

    let mut side = Vec::with_capacity(rows.len());
    let (mut left, mut right) = (Vec::new(), Vec::new());
    for row in rows {
        match row.kind {
            RowKind::Context => {
                flush(&mut side, &mut left, &mut right);
                side.push(SideRow {
                    left: cell(row.old_no, row),
                    right: cell(row.new_no, row),
                });
            }
            RowKind::Removed => left.extend(cell(row.old_no, row)),
            RowKind::Added => right.extend(cell(row.new_no, row)),
        }
    }
    flush(&mut side, &mut left, &mut right);
    side
}

#[cfg(test)]
mod tests {
    use super::*;

    fn numbered_lines(n: usize) -> Vec<String> {
        (1..=n).map(|i| format!("line {i}")).collect()
    }

    fn text(lines: &[String]) -> String {
        lines.iter().map(|l| format!("{l}\n")).collect()
    }

    fn plain(segments: &[Segment]) -> String {
        segments.iter().map(|s| s.text.as_str()).collect()
    }

    fn emphasized(segments: &[Segment]) -> Vec<&str> {
        segments
            .iter()
            .filter(|s| s.emphasized)
            .map(|s| s.text.as_str())
            .collect()
    }

    fn numbers(hunk: &Hunk) -> Vec<(RowKind, Option<usize>, Option<usize>)> {
        hunk.rows
            .iter()
            .map(|r| (r.kind, r.old_no, r.new_no))
            .collect()
    }

    #[test]
    fn identical_texts_have_no_hunks() {
        let d = diff_texts("a\nb\nc\n", "a\nb\nc\n", 3);
        assert!(d.identical);
        assert!(d.hunks.is_empty());
        assert_eq!((d.added, d.removed, d.old_lines, d.new_lines), (0, 0, 3, 3));
        assert!(!d.truncated);
        assert!(diff_texts("", "", 3).identical);
    }

    #[test]
    fn a_missing_final_newline_is_not_a_change() {
        assert!(diff_texts("a\nb", "a\nb\n", 3).identical);

        let d = diff_texts("a\nb", "a\nc\n", 3);
        assert_eq!((d.added, d.removed), (1, 1));
        let rows = &d.hunks[0].rows;
        assert_eq!(rows.len(), 3);
        assert_eq!(plain(&rows[1].segments), "b");
        assert_eq!(plain(&rows[2].segments), "c");
    }

    #[test]
    fn a_one_word_change_emphasizes_exactly_that_word() {
        let d = diff_texts(
            "#!/bin/sh\necho hello world now\nexit 0\n",
            "#!/bin/sh\necho hello there now\nexit 0\n",
            3,
        );
        assert_eq!((d.added, d.removed), (1, 1));
        assert_eq!(d.hunks.len(), 1);
        let changed: Vec<&Row> = d.hunks[0]
            .rows
            .iter()
            .filter(|r| r.kind != RowKind::Context)
            .collect();
        assert_eq!(changed.len(), 2);
        assert_eq!(changed[0].kind, RowKind::Removed);
        assert_eq!(changed[1].kind, RowKind::Added);
        assert_eq!(emphasized(&changed[0].segments), ["world"]);
        assert_eq!(emphasized(&changed[1].segments), ["there"]);
        assert_eq!(plain(&changed[0].segments), "echo hello world now");
        assert_eq!(plain(&changed[1].segments), "echo hello there now");
        // Context lines carry no emphasis and no line ending.
        assert_eq!(
            d.hunks[0].rows[0].segments,
            [Segment {
                text: "#!/bin/sh".into(),
                emphasized: false
            }]
        );
    }

    #[test]
    fn line_numbers_follow_an_insertion() {
        let old = numbered_lines(10);
        let mut new = old.clone();
        new.insert(5, "inserted".into()); // after old line 5
        let d = diff_texts(&text(&old), &text(&new), 2);

        assert_eq!(d.hunks.len(), 1);
        let hunk = &d.hunks[0];
        assert_eq!(hunk.header, "@@ -4,4 +4,5 @@");
        use RowKind::*;
        assert_eq!(
            numbers(hunk),
            [
                (Context, Some(4), Some(4)),
                (Context, Some(5), Some(5)),
                (Added, None, Some(6)),
                (Context, Some(6), Some(7)),
                (Context, Some(7), Some(8)),
            ]
        );
        assert_eq!(plain(&hunk.rows[2].segments), "inserted");
    }

    #[test]
    fn side_by_side_pairs_removed_with_added_lines_in_order() {
        let d = diff_texts(
            "keep\nold one\nold two\nkeep too\n",
            "keep\nnew one\nnew two\nnew three\nkeep too\n",
            1,
        );
        type Half = Option<(usize, RowKind, String)>;
        let side: Vec<(Half, Half)> = d.hunks[0]
            .side()
            .iter()
            .map(|r| {
                let half =
                    |c: &Option<Cell>| c.as_ref().map(|c| (c.no, c.kind, plain(&c.segments)));
                (half(&r.left), half(&r.right))
            })
            .collect();
        use RowKind::*;
        let cell = |no, kind, text: &str| Some((no, kind, text.to_string()));
        assert_eq!(
            side,
            [
                (cell(1, Context, "keep"), cell(1, Context, "keep")),
                (cell(2, Removed, "old one"), cell(2, Added, "new one")),
                (cell(3, Removed, "old two"), cell(3, Added, "new two")),
                (None, cell(4, Added, "new three")),
                (cell(4, Context, "keep too"), cell(5, Context, "keep too")),
            ]
        );
    }

    #[test]
    fn context_is_trimmed_and_close_hunks_merge() {
        let old = numbered_lines(30);

        let mut far = old.clone();
        far[4] = "changed 5".into();
        far[24] = "changed 25".into();
        let d = diff_texts(&text(&old), &text(&far), 3);
        assert_eq!(d.hunks.len(), 2);
        assert_eq!(d.hunks[0].header, "@@ -2,7 +2,7 @@");
        assert_eq!(d.hunks[1].header, "@@ -22,7 +22,7 @@");
        assert_eq!(d.hunks[0].rows.len(), 8); // 3 context, removed, added, 3 context
        assert_eq!(d.hunks[0].rows.first().and_then(|r| r.old_no), Some(2));
        assert_eq!(d.hunks[0].rows.last().and_then(|r| r.old_no), Some(8));

        // Six unchanged lines between the changes: exactly two contexts' worth, so one hunk.
        let mut near = old.clone();
        near[4] = "changed 5".into();
        near[11] = "changed 12".into();
        let d = diff_texts(&text(&old), &text(&near), 3);
        assert_eq!(d.hunks.len(), 1);
        assert_eq!(d.hunks[0].header, "@@ -2,14 +2,14 @@");

        // No context: only the changed lines.
        let d = diff_texts(&text(&old), &text(&far), 0);
        assert_eq!(d.hunks.len(), 2);
        assert_eq!(d.hunks[0].header, "@@ -5 +5 @@");
        assert_eq!(d.hunks[0].rows.len(), 2);
    }

    #[test]
    fn a_new_file_is_all_added_and_a_deleted_one_all_removed() {
        let d = diff_texts("", "one\ntwo\n", 3);
        assert!(!d.identical);
        assert_eq!((d.added, d.removed, d.old_lines, d.new_lines), (2, 0, 0, 2));
        assert_eq!(d.hunks.len(), 1);
        assert_eq!(d.hunks[0].header, "@@ -0,0 +1,2 @@");
        use RowKind::*;
        assert_eq!(
            numbers(&d.hunks[0]),
            [(Added, None, Some(1)), (Added, None, Some(2))]
        );
        assert!(
            d.hunks[0]
                .rows
                .iter()
                .all(|r| emphasized(&r.segments).is_empty())
        );
        assert!(d.hunks[0].side().iter().all(|r| r.left.is_none()));

        let d = diff_texts("one\ntwo\n", "", 3);
        assert_eq!(d.hunks[0].header, "@@ -1,2 +0,0 @@");
        assert_eq!(
            numbers(&d.hunks[0]),
            [(Removed, Some(1), None), (Removed, Some(2), None)]
        );
    }

    #[test]
    fn a_large_change_is_truncated_but_counted_in_full() {
        let old = numbered_lines(6_000);
        let new: Vec<String> = old.iter().map(|l| format!("{l} edited")).collect();
        let d = diff_texts(&text(&old), &text(&new), 3);
        assert!(d.truncated);
        assert_eq!((d.added, d.removed), (6_000, 6_000));
        let shown: usize = d.hunks.iter().map(|h| h.rows.len()).sum();
        assert_eq!(shown, SCRIPT_BUDGET.rows);
        assert_eq!(d.shown_rows, SCRIPT_BUDGET.rows);
        assert_eq!(d.hidden_rows, 12_000 - SCRIPT_BUDGET.rows);

        // Exactly at the limit nothing is cut off.
        let old = numbered_lines(SCRIPT_BUDGET.rows / 2);
        let new: Vec<String> = old.iter().map(|l| format!("{l} edited")).collect();
        let d = diff_texts(&text(&old), &text(&new), 3);
        assert!(!d.truncated);
        assert_eq!(d.hidden_rows, 0);
    }

    #[test]
    fn hidden_rows_count_the_context_of_hunks_left_out() {
        // Three far-apart one-line changes: 8 rows each with 3 lines of context.
        let old = numbered_lines(100);
        let mut new = old.clone();
        for i in [10, 50, 90] {
            new[i] = format!("changed {i}");
        }
        let budget = Budget {
            rows: 10,
            bytes: usize::MAX,
        };
        let d = diff_within(&text(&old), &text(&new), 3, budget);
        assert_eq!(d.shown_rows, 10);
        assert_eq!(d.hidden_rows, 3 * 8 - 10);
        assert_eq!(
            d.hunks.len(),
            2,
            "the second hunk is begun, the third left out"
        );
        assert!(d.truncated);
    }

    #[test]
    fn the_byte_budget_cuts_a_long_line_on_a_character_boundary() {
        // One 100 KiB line of two-byte characters: the budget ends inside it.
        let long = "é".repeat(50 * 1024);
        let budget = Budget {
            rows: 100,
            bytes: 1001,
        };
        let d = diff_within("short\n", &format!("short\n{long}\nafter\n"), 3, budget);
        let rows = &d.hunks[0].rows;
        assert_eq!(
            rows.len(),
            2,
            "the context line and the cut line, nothing after"
        );
        assert!(rows[1].cut && !rows[0].cut);
        assert_eq!(plain(&rows[1].segments), "é".repeat(498));
        assert_eq!(d.shown_bytes, 5 + 996);
        assert_eq!(d.hidden_rows, 1);
        assert!(d.truncated);
        assert!(d.hunks[0].side()[1].right.as_ref().is_some_and(|c| c.cut));

        // A page's budget is spent diff by diff.
        let mut page = Budget {
            rows: 3,
            bytes: 10_000,
        };
        page.spend(&d);
        assert_eq!(
            page,
            Budget {
                rows: 1,
                bytes: 10_000 - 1001
            }
        );
        assert!(!page.is_spent());
        page.spend(&d);
        assert!(page.is_spent());
        assert_eq!(SCRIPT_BUDGET.min(page), page);
    }

    #[test]
    fn the_download_is_a_unified_diff_of_the_whole_texts() {
        let old = numbered_lines(6_000);
        let new: Vec<String> = old.iter().map(|l| format!("{l} edited")).collect();
        let out = unified(&text(&old), &text(&new), "a/x.sql\tv1", "b/x.sql\tv2");
        let mut lines = out.lines();
        assert_eq!(lines.next(), Some("--- a/x.sql\tv1"));
        assert_eq!(lines.next(), Some("+++ b/x.sql\tv2"));
        assert_eq!(lines.next(), Some("@@ -1,6000 +1,6000 @@"));
        assert_eq!(out.lines().filter(|l| l.starts_with('+')).count(), 6_001);
        assert_eq!(out.lines().filter(|l| l.starts_with('-')).count(), 6_001);
        assert_eq!(unified("same\n", "same\n", "a", "b"), "");
        assert!(unified("a", "b\n", "x", "y").contains("\\ No newline at end of file"));
    }

    #[test]
    fn a_twenty_thousand_line_file_with_three_edits_gives_three_hunks() {
        let old = numbered_lines(20_000);
        let mut new = old.clone();
        new[99] = "line 100 changed".into(); // replace old line 100
        new.insert(10_000, "inserted".into()); // after old line 10,000
        new.remove(19_000); // old line 19,000 (index 18,999 before the insertion)
        let d = diff_texts(&text(&old), &text(&new), 3);

        assert!(!d.truncated);
        assert_eq!((d.old_lines, d.new_lines), (20_000, 20_000));
        assert_eq!((d.added, d.removed), (2, 2));
        let headers: Vec<&str> = d.hunks.iter().map(|h| h.header.as_str()).collect();
        assert_eq!(
            headers,
            [
                "@@ -97,7 +97,7 @@",
                "@@ -9998,6 +9998,7 @@",
                "@@ -18997,7 +18998,6 @@",
            ]
        );
        // An appended word is emphasized with the space before it.
        assert_eq!(emphasized(&d.hunks[0].rows[4].segments), [" changed"]);
    }

    #[derive(askama::Template)]
    #[template(
        source = "{% import \"_diff.html\" as diff %}{% call diff::inline(d) %}{% endcall %}{% call diff::side(d) %}{% endcall %}",
        ext = "html"
    )]
    struct DiffFragment<'a> {
        d: &'a TextDiff,
    }

    #[test]
    fn the_template_marks_changed_words_and_escapes_the_text() {
        use askama::Template;
        use scraper::{Html, Selector};

        let d = diff_texts(
            "<script>alert(1)</script>\nvalue = old\n",
            "<script>alert(1)</script>\nvalue = new\n",
            3,
        );
        let html = DiffFragment { d: &d }.render().expect("renders");

        assert!(!html.contains("<script>"));
        assert!(html.contains("&#60;script&#62;") || html.contains("&lt;script&gt;"));

        let doc = Html::parse_fragment(&html);
        let marks = |selector: &str| -> Vec<String> {
            let selector = Selector::parse(selector).expect("selector");
            doc.select(&selector).map(|m| m.text().collect()).collect()
        };
        assert_eq!(marks("table.diff-inline tr.del mark"), ["old"]);
        assert_eq!(marks("table.diff-inline tr.add mark"), ["new"]);
        assert_eq!(marks("table.diff-side td.del mark"), ["old"]);
        assert_eq!(marks("table.diff-side td.add mark"), ["new"]);
        assert_eq!(marks("table.diff-inline tbody th"), ["@@ -1,2 +1,2 @@"]);

        let same = diff_texts("a\n", "a\n", 3);
        let html = DiffFragment { d: &same }.render().expect("renders");
        assert!(html.contains("No differences."));
        assert!(!html.contains("<table"));
    }
}
