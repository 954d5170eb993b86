//! `partybase import members|organisations FILE [--dry-run]`: the import routes from the command line, with a
//! progress bar on a terminal and a table of the row errors at the end.

use std::fs::File;
use std::io::{BufReader, IsTerminal};
use std::path::Path;

use anyhow::{bail, Context};
use diesel_async::AsyncPgConnection;
use indicatif::{ProgressBar, ProgressStyle};

use super::sheet::{self, Unreadable};
use super::{run, Kind, Outcome, RowError};
use crate::auth::Actor;
use crate::extract::SheetFormat;

/// Imports `file` as `actor`; prints what was imported, or the errors (and then fails: exit code 1).
pub async fn import_file(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    kind: Kind,
    file: &Path,
    dry_run: bool,
) -> anyhow::Result<()> {
    let opened = File::open(file).with_context(|| format!("cannot open {}", file.display()))?;
    let rows = match sheet::open(SheetFormat::of_path(file), BufReader::new(opened)) {
        Ok(rows) => rows,
        Err(Unreadable { message, .. }) => bail!("{}: {message}", file.display()),
    };
    let bar = if std::io::stderr().is_terminal() {
        let bar = ProgressBar::new_spinner();
        bar.set_style(ProgressStyle::with_template("{spinner} {msg} [{elapsed}]").context("progress style")?);
        bar
    } else {
        ProgressBar::hidden()
    };
    let progress = |line: u64| bar.set_message(format!("line {line} read"));
    let outcome = run(conn, actor, kind, rows, dry_run, &progress)
        .await
        .map_err(|e| anyhow::anyhow!("{}", e.problem().detail))?;
    bar.finish_and_clear();
    report(&outcome, kind, dry_run)
}

/// Prints the outcome: a summary, or the table of errors.
fn report(outcome: &Outcome, kind: Kind, dry_run: bool) -> anyhow::Result<()> {
    let what = match kind {
        Kind::Members => "members",
        Kind::Organisations => "organisations",
    };
    if outcome.errors.is_empty() {
        match (dry_run, outcome.import_id) {
            (true, _) => println!(
                "{} rows checked, no errors; nothing was imported (dry run)",
                outcome.rows
            ),
            (false, Some(id)) => println!(
                "imported {} {what} from {} rows (import {id})",
                outcome.imported, outcome.rows
            ),
            (false, None) => println!("imported {} {what} from {} rows", outcome.imported, outcome.rows),
        }
        return Ok(());
    }
    print!("{}", table(&outcome.errors));
    bail!(
        "{} row error(s) in {} rows; nothing was imported",
        outcome.errors.len(),
        outcome.rows
    )
}

/// The errors as a plain-text table: row, field, message.
fn table(errors: &[RowError]) -> String {
    let width = errors.iter().map(|e| e.field.chars().count()).max().unwrap_or(0).max(5);
    let mut out = format!("{:>6}  {:<width$}  message\n", "row", "field");
    for e in errors {
        out.push_str(&format!("{:>6}  {:<width$}  {}\n", e.row, e.field, e.message));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_line_up_in_a_table() {
        let errors = vec![RowError {
            row: 12,
            field: "organisation_code".into(),
            message: "no organisation with this code".into(),
        }];
        assert_eq!(
            table(&errors),
            "   row  field              message\n    12  organisation_code  no organisation with this code\n"
        );
    }
}
