//! The README's walkthroughs, run as a reader runs them: every shell block marked `<!-- walkthrough -->`, in
//! order, in one `bash -euo pipefail`, against the real service holding the demo (as after the Quick start).

use std::process::Command;

use crate::common::{serve, TestDatabase};

const MARK: &str = "<!-- walkthrough -->";

/// The marked blocks of the README, in order: the fenced ```sh block right after each mark.
fn walkthrough_blocks(readme: &str) -> Vec<String> {
    let mut blocks = Vec::new();
    let mut lines = readme.lines();
    while let Some(line) = lines.next() {
        if line.trim() != MARK {
            continue;
        }
        assert_eq!(
            lines.next(),
            Some("```sh"),
            "a walkthrough mark must precede a ```sh block"
        );
        let block: Vec<&str> = lines.by_ref().take_while(|l| *l != "```").collect();
        blocks.push(block.join("\n"));
    }
    blocks
}

fn tool_exists(name: &str) -> bool {
    Command::new(name)
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

fn partybase(database_url: &str, args: &[&str]) -> String {
    let output = Command::new(env!("CARGO_BIN_EXE_partybase"))
        .args(args)
        .env("DATABASE_URL", database_url)
        .env("RUST_LOG", "warn")
        .output()
        .expect("run partybase");
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8(output.stdout).unwrap()
}

#[actix_web::test]
async fn the_walkthroughs_work_after_the_quick_start_as_written() {
    for tool in ["bash", "curl", "jq"] {
        assert!(tool_exists(tool), "the walkthroughs need {tool}; .ci/run installs it");
    }
    let blocks = walkthrough_blocks(include_str!("../../README.md"));
    assert_eq!(blocks.len(), 8, "the eight walkthroughs are marked");

    let db = TestDatabase::new().await;
    let served = serve(&db.url, &[]);
    // The Quick start: a first admin token, then the demo.
    let token = db.issue_token("first-admin", "admin", None).await;
    assert!(partybase(&db.url, &["seed", "demo"]).contains("loaded the Thanh Sơn demo district"));

    let workdir = std::env::temp_dir().join(format!("partybase-readme-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&workdir).unwrap();
    let run = Command::new("bash")
        .args(["-euo", "pipefail", "-c", &blocks.join("\n")])
        .current_dir(&workdir)
        .env("TOKEN", &token)
        .env("PARTYBASE_URL", format!("http://{}", served.address))
        .output()
        .expect("run bash");
    let out = String::from_utf8_lossy(&run.stdout);
    let err = String::from_utf8_lossy(&run.stderr);
    assert!(
        run.status.success(),
        "the walkthrough failed\n--- stdout\n{out}\n--- stderr\n{err}"
    );
    assert!(
        out.lines().any(|l| l == "409"),
        "the district with children is not deleted:\n{out}"
    );

    // The retried POST was answered twice, created once; the feed was read to its end.
    let replayed = out
        .lines()
        .filter(|l| l.to_ascii_lowercase().starts_with("idempotent-replayed: true"))
        .count();
    assert_eq!(replayed, 1, "{out}");
    assert_eq!(
        db.count("SELECT count(*) AS n FROM organisations WHERE code = 'YL-CB-K3'")
            .await,
        1
    );
    assert!(out.lines().any(|l| l.starts_with("caught up at ")), "{out}");

    // What the reader made is there, beside the demo.
    assert_eq!(
        db.count("SELECT count(*) AS n FROM organisations WHERE code LIKE 'YL%'")
            .await,
        6
    );
    // The reader's own reorganisation: applied once, its cells under the new commune committee; the repeat was
    // refused whole, naming the taken code.
    assert_eq!(
        db.count(
            "SELECT count(*) AS n FROM organisations c JOIN organisations p ON p.id = c.parent_id \
             WHERE p.code = 'YL-XA-NL' AND c.kind = 'base_cell' AND c.code LIKE 'YL-NL-K%'"
        )
        .await,
        2
    );
    assert_eq!(
        db.count("SELECT count(*) AS n FROM reorganisations WHERE decision_number = '15-QĐ/HU'")
            .await,
        1
    );
    assert!(
        out.lines().any(|l| l == "create[0].code"),
        "the repeated reorganisation is refused:\n{out}"
    );
    assert_eq!(
        db.count(
            "SELECT count(*) AS n FROM member_events e JOIN members m ON m.id = e.member_id \
             WHERE m.card_number = '12345678'"
        )
        .await,
        4,
        "admitted, recognised, transferred, exempted"
    );
    assert_eq!(
        db.count(
            "SELECT count(*) AS n FROM members m JOIN candidates c ON c.member_id = m.id AND m.candidate_id = c.id \
             WHERE c.full_name = 'Lò Văn Dân' AND c.stage = 'admitted' AND m.admitted_on = '2012-05-19'"
        )
        .await,
        1,
        "the candidate became a member"
    );
    assert_eq!(
        db.count("SELECT count(*) AS n FROM member_evaluations WHERE year = 2025")
            .await,
        1
    );
    let csv = std::fs::read(workdir.join("coverage.csv")).unwrap();
    assert!(
        csv.starts_with("\u{feff}".as_bytes()),
        "the CSV starts with a UTF-8 byte order mark"
    );
    assert!(String::from_utf8(csv).unwrap().contains("Đảng bộ xã Ngọc Lập"));
    std::fs::remove_dir_all(&workdir).unwrap();
    assert!(partybase(&db.url, &["seed", "demo"]).contains("already loaded"));
}
