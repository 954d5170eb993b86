//! Bulk imports and exports: spreadsheets in through `/api/v1/imports` and `partybase import`, lists out as CSV.

use std::process::Command;

use rust_xlsxwriter::{ExcelDateTime, Format, Workbook};
use serde_json::Value;

use crate::common::spawn_app;

const CSV: &str = "text/csv";
const XLSX: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";
const MEMBERS: &str = "/api/v1/imports/members";
const ORGANISATIONS: &str = "/api/v1/imports/organisations";

const HEADER: &str = "full_name,gender,birth_date,organisation_code,admitted_on,status,official_on,card_number,\
national_id,ethnicity,religion,hometown,education_level,qualification,political_theory,note";

/// A district with two communes, each with a cell: ids by code.
async fn district<S, B>(app: &crate::common::TestApp<S>) -> std::collections::HashMap<&'static str, String>
where
    S: actix_web::dev::Service<
        actix_http::Request,
        Response = actix_web::dev::ServiceResponse<B>,
        Error = actix_web::Error,
    >,
    B: actix_web::body::MessageBody,
{
    let ts = app.organisation("TS", "superior_committee", None).await;
    let tt = app.organisation("TS-TT", "base_committee", Some(&ts)).await;
    let tt_cell = app.organisation("TS-TT-CB1", "cell", Some(&tt)).await;
    let vm = app.organisation("TS-VM", "base_committee", Some(&ts)).await;
    let vm_cell = app.organisation("TS-VM-CB1", "cell", Some(&vm)).await;
    [
        ("TS", ts),
        ("TS-TT", tt),
        ("TS-TT-CB1", tt_cell),
        ("TS-VM", vm),
        ("TS-VM-CB1", vm_cell),
    ]
    .into_iter()
    .collect()
}

fn csv(rows: &[&str]) -> Vec<u8> {
    format!("\u{feff}{HEADER}\r\n{}\r\n", rows.join("\r\n")).into_bytes()
}

/// The (row, field) pairs of an answer's errors.
fn errors_of(body: &Value) -> Vec<(u64, String)> {
    body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["row"].as_u64().unwrap(), e["field"].as_str().unwrap().to_owned()))
        .collect()
}

#[actix_web::test]
async fn a_csv_of_members_is_imported_each_with_history_and_an_audit_record_naming_the_import() {
    let app = spawn_app().await;
    let orgs = district(&app).await;
    let file = csv(&[
        "Nguyễn Thị Ánh,female,1990-04-12,TS-TT-CB1,2012-05-19,,,12345678,025190001234,Mường,Không,\"Tinh Nhuệ, Thanh Sơn\",12/12,,elementary,",
        "Hà Văn Bình,male,12/03/1980,TS-TT-CB1,01/02/2010,official,2011-02-01,,,,,,,,,Chuyển từ hệ thống cũ",
    ]);
    let reply = app.upload(MEMBERS, &app.admin, CSV, file).await;
    let body = reply.ok(201);
    assert_eq!((body["rows"].as_u64(), body["imported"].as_u64()), (Some(2), Some(2)));
    assert_eq!(body["errors"], serde_json::json!([]));
    let import_id = body["import_id"].as_str().expect("the import's id").to_owned();

    let list = app
        .get(
            &format!("/api/v1/members?organisation_id={}&sort=name", orgs["TS-TT-CB1"]),
            &app.admin,
        )
        .await;
    let items = list.ok(200)["items"].as_array().unwrap().clone();
    assert_eq!(items.len(), 2);
    let anh = &items[0];
    assert_eq!(anh["full_name"], "Nguyễn Thị Ánh");
    assert_eq!(
        (anh["status"].as_str(), anh["national_id"].as_str()),
        (Some("probationary"), Some("025190001234"))
    );
    assert_eq!(anh["hometown"], "Tinh Nhuệ, Thanh Sơn");
    let binh = &items[1];
    assert_eq!(
        (binh["status"].as_str(), binh["official_on"].as_str()),
        (Some("official"), Some("2011-02-01"))
    );
    assert_eq!(
        (binh["birth_date"].as_str(), binh["admitted_on"].as_str()),
        (Some("1980-03-12"), Some("2010-02-01"))
    );

    let history = app
        .get(
            &format!("/api/v1/members/{}/events", binh["id"].as_str().unwrap()),
            &app.admin,
        )
        .await;
    let types: Vec<&str> = history.ok(200)["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["type"].as_str().unwrap())
        .collect();
    assert_eq!(types, vec!["admitted", "recognised_official"]);

    let audit = app
        .get(&format!("/api/v1/audit-events?import_id={import_id}"), &app.admin)
        .await;
    let records = audit.ok(200)["items"].as_array().unwrap().clone();
    assert_eq!(records.len(), 2, "one audit record per member, naming the import");
    assert!(records
        .iter()
        .all(|r| r["action"] == "create" && r["resource_type"] == "member"));
    assert_eq!(
        app.db
            .count(&format!(
                "SELECT count(*) AS n FROM imports WHERE id = '{import_id}' AND rows = 2 AND imported = 2"
            ))
            .await,
        1
    );
    assert_eq!(
        app.db
            .count("SELECT count(*) AS n FROM changes WHERE resource_type = 'member' AND action = 'created'")
            .await,
        2,
        "the change feed has every imported member"
    );
    let counts = app
        .get(&format!("/api/v1/organisations/{}", orgs["TS"]), &app.admin)
        .await;
    let counts = &counts.ok(200)["member_counts"];
    assert_eq!(
        (counts["probationary"].as_i64(), counts["official"].as_i64()),
        (Some(1), Some(1))
    );
}

#[actix_web::test]
async fn a_workbook_is_imported_from_its_first_sheet() {
    let app = spawn_app().await;
    district(&app).await;
    let mut book = Workbook::new();
    let sheet = book.add_worksheet();
    for (column, name) in [
        "full_name",
        "birth_date",
        "organisation_code",
        "admitted_on",
        "card_number",
    ]
    .iter()
    .enumerate()
    {
        sheet.write_string(0, column as u16, *name).unwrap();
    }
    let date = Format::new().set_num_format("dd/mm/yyyy");
    sheet.write_string(1, 0, "Lê Thị Cúc").unwrap();
    sheet
        .write_datetime_with_format(1, 1, ExcelDateTime::from_ymd(1985, 7, 2).unwrap(), &date)
        .unwrap();
    sheet.write_string(1, 2, "TS-VM-CB1").unwrap();
    sheet
        .write_datetime_with_format(1, 3, ExcelDateTime::from_ymd(2012, 9, 1).unwrap(), &date)
        .unwrap();
    sheet.write_number(1, 4, 87654321.0).unwrap();
    book.add_worksheet().write_string(0, 0, "ignored").unwrap();
    let file = book.save_to_buffer().unwrap();

    let reply = app.upload(MEMBERS, &app.admin, XLSX, file).await;
    assert_eq!(reply.ok(201)["imported"], 1);
    let found = app.get("/api/v1/members?q=87654321", &app.admin).await;
    let member = &found.ok(200)["items"][0];
    assert_eq!(member["full_name"], "Lê Thị Cúc");
    assert_eq!(
        (member["birth_date"].as_str(), member["admitted_on"].as_str()),
        (Some("1985-07-02"), Some("2012-09-01"))
    );

    let broken = app
        .upload(MEMBERS, &app.admin, XLSX, b"PK\x03\x04 not really a workbook".to_vec())
        .await;
    assert_eq!(errors_of(broken.problem(422)), vec![(1, "file".to_owned())]);
}

#[actix_web::test]
async fn a_dry_run_checks_every_row_and_stores_nothing() {
    let app = spawn_app().await;
    district(&app).await;
    let file = csv(&["Nguyễn Văn An,male,1980-01-01,TS-TT-CB1,2012-01-01,,,,,,,,,,,"]);
    let reply = app
        .upload(&format!("{MEMBERS}?dry_run=true"), &app.admin, CSV, file)
        .await;
    let body = reply.ok(200);
    assert_eq!((body["rows"].as_u64(), body["imported"].as_u64()), (Some(1), Some(0)));
    assert!(body["import_id"].is_null());
    assert_eq!(app.db.count("SELECT count(*) AS n FROM members").await, 0);
    assert_eq!(app.db.count("SELECT count(*) AS n FROM imports").await, 0);
    assert_eq!(
        app.db
            .count("SELECT count(*) AS n FROM audit_events WHERE resource_type = 'member'")
            .await,
        0
    );
}

#[actix_web::test]
async fn every_row_error_is_named_by_line_and_column_and_nothing_is_imported() {
    let app = spawn_app().await;
    let orgs = district(&app).await;
    let existing = app
        .post(
            "/api/v1/members",
            &app.admin,
            serde_json::json!({"full_name": "Đã Có", "birth_date": "1970-01-01", "organisation_id": orgs["TS-VM-CB1"],
                "admitted_on": "2000-01-01", "card_number": "11111111"}),
        )
        .await;
    existing.ok(201);
    let editor = app.token("editor-tt", "editor", Some(&orgs["TS-TT"])).await;
    let file = csv(&[
        "Đúng Một,male,1980-01-01,TS-TT-CB1,2012-01-01,,,22222222,,,,,,,,",
        "Sai Ngày,male,not a date,TS-TT-CB1,2012-01-01,,,,,,,,,,,",
        ",female,1980-01-01,TS-TT-CB1,2012-01-01,,,,,,,,,,,",
        "Không Có Chi Bộ,male,1980-01-01,NO-SUCH,2012-01-01,,,,,,,,,,,",
        "Ngoài Phạm Vi,male,1980-01-01,TS-VM-CB1,2012-01-01,,,,,,,,,,,",
        "Trùng Trong Tệp,male,1980-01-01,TS-TT-CB1,2012-01-01,,,22222222,,,,,,,,",
        "Trùng Với Sổ,male,1980-01-01,TS-TT-CB1,2012-01-01,,,11111111,,,,,,,,",
        "Quá Trẻ,male,2000-01-01,TS-TT-CB1,2012-01-01,,,,,,,,,,,",
        "Sai Đảng Bộ,male,1980-01-01,TS-TT,2012-01-01,,,,,,,,,,,",
        "Chính Thức Sớm,male,1980-01-01,TS-TT-CB1,2012-01-01,official,2012-06-01,,,,,,,,,",
        "Đã Khai Trừ,male,1980-01-01,TS-TT-CB1,2012-01-01,expelled,,,,,,,,,,",
        "Thẻ Sai,male,1980-01-01,TS-TT-CB1,2012-01-01,,,1234,,,,,,,,",
    ]);
    let reply = app.upload(MEMBERS, &editor, CSV, file).await;
    let body = reply.problem(422);
    assert_eq!((body["rows"].as_u64(), body["imported"].as_u64()), (Some(12), Some(0)));
    let expected: Vec<(u64, String)> = [
        (3, "birth_date"),
        (4, "full_name"),
        (5, "organisation_code"),
        (6, "organisation_code"),
        (7, "card_number"),
        (8, "card_number"),
        (9, "admitted_on"),
        (10, "organisation_code"),
        (11, "official_on"),
        (12, "status"),
        (13, "card_number"),
    ]
    .into_iter()
    .map(|(row, field)| (row, field.to_owned()))
    .collect();
    assert_eq!(errors_of(body), expected, "{body}");
    let messages: Vec<&str> = body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["message"].as_str().unwrap())
        .collect();
    assert_eq!(
        messages[2], messages[3],
        "a code outside the token's subtree is as unknown as a missing one"
    );
    assert_eq!(messages[4], "is given in row 2 as well");
    assert_eq!(messages[5], "is already taken");
    assert_eq!(
        app.db.count("SELECT count(*) AS n FROM members").await,
        1,
        "nothing was imported"
    );
    assert_eq!(app.db.count("SELECT count(*) AS n FROM imports").await, 0);

    let unknown_column = app
        .upload(
            MEMBERS,
            &app.admin,
            CSV,
            "full_name,birth_date,organisation_code,admitted_on,colour\r\n".into(),
        )
        .await;
    assert_eq!(errors_of(unknown_column.problem(422)), vec![(1, "colour".to_owned())]);
    let missing_column = app
        .upload(
            MEMBERS,
            &app.admin,
            CSV,
            "full_name,organisation_code,admitted_on\r\nA,TS-TT-CB1,2012-01-01\r\n".into(),
        )
        .await;
    assert_eq!(
        errors_of(missing_column.problem(422)),
        vec![(1, "birth_date".to_owned())]
    );
    let bad_utf8 = app
        .upload(
            MEMBERS,
            &app.admin,
            CSV,
            b"full_name,birth_date,organisation_code,admitted_on\n\xff,x,y,z\n".to_vec(),
        )
        .await;
    assert_eq!(errors_of(bad_utf8.problem(422)), vec![(2, "row".to_owned())]);
}

#[actix_web::test]
async fn organisations_are_imported_with_parents_from_earlier_rows_or_the_registry() {
    let app = spawn_app().await;
    let orgs = district(&app).await;
    let file = "code,name,kind,sector,parent_code,established_on\r\n\
        TS-XA,Đảng bộ xã Xuân An,base_committee,commune,TS,1975-03-01\r\n\
        TS-XA-CB1,Chi bộ Khu 1,cell,,TS-XA,\r\n";
    let reply = app.upload(ORGANISATIONS, &app.admin, CSV, file.into()).await;
    assert_eq!(reply.ok(201)["imported"], 2);
    let children = app
        .get(
            &format!("/api/v1/organisations?under={}&q=khu%201", orgs["TS"]),
            &app.admin,
        )
        .await;
    let cell = &children.ok(200)["items"][0];
    assert_eq!(
        (cell["code"].as_str(), cell["kind"].as_str()),
        (Some("TS-XA-CB1"), Some("cell"))
    );

    let editor = app.token("editor-tt", "editor", Some(&orgs["TS-TT"])).await;
    let refused = "code,name,kind,parent_code\r\n\
        TS-TT-CB2,Chi bộ 2,cell,TS-TT\r\n\
        TS-TT-CB3,Chi bộ 3,cell,TS-VM\r\n\
        TS-TT-CB2,Chi bộ 2 lần nữa,cell,TS-TT\r\n\
        TS-TT-X,Sai loại,superior_committee,TS-TT\r\n\
        TS-TT-Y,Con của lỗi,cell,TS-TT-X\r\n\
        TS-XA,Trùng mã,cell,TS-TT\r\n";
    let reply = app.upload(ORGANISATIONS, &editor, CSV, refused.into()).await;
    let body = reply.problem(422);
    let expected: Vec<(u64, String)> = [
        (3, "parent_code"),
        (4, "code"),
        (5, "parent_code"),
        (6, "parent_code"),
        (7, "code"),
    ]
    .into_iter()
    .map(|(row, field)| (row, field.to_owned()))
    .collect();
    assert_eq!(errors_of(body), expected, "{body}");
    assert_eq!(
        app.db
            .count("SELECT count(*) AS n FROM organisations WHERE code = 'TS-TT-CB2'")
            .await,
        0
    );
}

#[actix_web::test]
async fn an_export_imports_back_unchanged_into_another_registry() {
    let app = spawn_app().await;
    district(&app).await;
    let members = csv(&[
        "Nguyễn Thị Ánh,female,1990-04-12,TS-TT-CB1,2012-05-19,,,12345678,025190001234,Mường,Không,\"Tinh Nhuệ, Thanh Sơn\",12/12,Cử nhân,elementary,\"ghi chú \"\"một\"\"\"",
        "Hà Văn Bình,male,1980-03-12,TS-VM-CB1,2010-02-01,official,2011-02-01,,,,,,,,,-âm bản",
    ]);
    app.upload(MEMBERS, &app.admin, CSV, members).await.ok(201);
    let accept = [("accept", "text/csv")];
    let organisations = app
        .call(
            actix_web::http::Method::GET,
            "/api/v1/organisations",
            Some(&app.admin),
            None,
            &accept,
        )
        .await;
    assert_eq!(organisations.ok(200).to_string(), "null", "a CSV body, not JSON");
    assert_eq!(organisations.header("content-type"), Some("text/csv; charset=utf-8"));
    let members = app
        .call(
            actix_web::http::Method::GET,
            "/api/v1/members",
            Some(&app.admin),
            None,
            &accept,
        )
        .await;
    let exported = String::from_utf8(members.raw.clone()).unwrap();
    assert!(exported.starts_with(&format!("\u{feff}{HEADER}\r\n")), "{exported}");
    assert!(exported
        .contains("Nguyễn Thị Ánh,female,1990-04-12,TS-TT-CB1,2012-05-19,probationary,,12345678,025190001234,Mường"));

    let other = spawn_app().await;
    other
        .upload(ORGANISATIONS, &other.admin, CSV, organisations.raw.clone())
        .await
        .ok(201);
    other
        .upload(MEMBERS, &other.admin, CSV, members.raw.clone())
        .await
        .ok(201);
    let again = other
        .call(
            actix_web::http::Method::GET,
            "/api/v1/organisations",
            Some(&other.admin),
            None,
            &accept,
        )
        .await;
    assert_eq!(
        String::from_utf8(again.raw).unwrap(),
        String::from_utf8(organisations.raw).unwrap()
    );
    let again = other
        .call(
            actix_web::http::Method::GET,
            "/api/v1/members",
            Some(&other.admin),
            None,
            &accept,
        )
        .await;
    assert_eq!(String::from_utf8(again.raw).unwrap(), exported);
}

#[actix_web::test]
async fn viewers_may_not_import_and_export_without_the_sensitive_columns() {
    let app = spawn_app().await;
    let orgs = district(&app).await;
    let file = csv(&["Nguyễn Thị Ánh,female,1990-04-12,TS-TT-CB1,2012-05-19,,,,025190001234,Mường,,,,,,"]);
    app.upload(MEMBERS, &app.admin, CSV, file.clone()).await.ok(201);
    let viewer = app.token("viewer", "viewer", None).await;
    app.upload(MEMBERS, &viewer, CSV, file).await.problem(403);

    let accept = [("accept", "text/csv")];
    let export = app
        .call(
            actix_web::http::Method::GET,
            "/api/v1/members",
            Some(&viewer),
            None,
            &accept,
        )
        .await;
    let text = String::from_utf8(export.raw).unwrap();
    let header = text.lines().next().unwrap();
    assert!(!header.contains("national_id") && !header.contains("ethnicity") && !header.contains("religion"));
    assert!(!text.contains("025190001234") && !text.contains("Mường"), "{text}");

    let editor_vm = app.token("editor-vm", "editor", Some(&orgs["TS-VM"])).await;
    let scoped = app
        .call(
            actix_web::http::Method::GET,
            "/api/v1/members",
            Some(&editor_vm),
            None,
            &accept,
        )
        .await;
    assert_eq!(
        String::from_utf8(scoped.raw).unwrap().lines().count(),
        1,
        "only the header: no member in its subtree"
    );
}

#[actix_web::test]
async fn a_file_over_32_mib_is_refused_and_so_is_a_body_that_is_not_a_spreadsheet() {
    let app = spawn_app().await;
    let big = vec![b'a'; 32 * 1024 * 1024 + 1];
    app.upload(MEMBERS, &app.admin, CSV, big).await.problem(413);
    app.upload(MEMBERS, &app.admin, "application/json", b"{}".to_vec())
        .await
        .problem(415);
    app.upload(MEMBERS, &app.admin, "text/csv; charset=latin1", b"a".to_vec())
        .await
        .problem(415);
    let empty = app.upload(ORGANISATIONS, &app.admin, CSV, Vec::new()).await;
    assert_eq!(errors_of(empty.problem(422)), vec![(1, "header".to_owned())]);
}

#[actix_web::test]
async fn the_command_line_imports_a_file_and_lists_row_errors() {
    let app = spawn_app().await;
    district(&app).await;
    let dir = std::env::temp_dir().join(format!("partybase-import-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    let good = dir.join("members.csv");
    std::fs::write(
        &good,
        csv(&["Nguyễn Văn An,male,1980-01-01,TS-TT-CB1,2012-01-01,,,,,,,,,,,"]),
    )
    .unwrap();
    let bad = dir.join("bad.csv");
    std::fs::write(
        &bad,
        csv(&["Nguyễn Văn Ba,male,1980-01-01,NO-SUCH,2012-01-01,,,,,,,,,,,"]),
    )
    .unwrap();
    let run = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_partybase"))
            .args(args)
            .env("DATABASE_URL", &app.db.url)
            .env("RUST_LOG", "warn")
            .output()
            .expect("run partybase")
    };

    let dry = run(&["import", "members", good.to_str().unwrap(), "--dry-run"]);
    assert!(dry.status.success(), "{}", String::from_utf8_lossy(&dry.stderr));
    assert_eq!(app.db.count("SELECT count(*) AS n FROM members").await, 0);
    let done = run(&["import", "members", good.to_str().unwrap()]);
    assert!(done.status.success(), "{}", String::from_utf8_lossy(&done.stderr));
    assert!(String::from_utf8_lossy(&done.stdout).contains("imported 1 members"));
    assert_eq!(
        app.db
            .count("SELECT count(*) AS n FROM audit_events WHERE actor = 'cli' AND import_id IS NOT NULL")
            .await,
        1
    );
    let failed = run(&["import", "members", bad.to_str().unwrap()]);
    assert_eq!(failed.status.code(), Some(1));
    let table = String::from_utf8_lossy(&failed.stdout);
    assert!(
        table.contains("organisation_code") && table.contains("no organisation with this code"),
        "{table}"
    );
    assert_eq!(app.db.count("SELECT count(*) AS n FROM members").await, 1);
    std::fs::remove_dir_all(dir).ok();
}

#[actix_web::test]
async fn the_template_in_the_readme_fits_the_demo_district() {
    let app = spawn_app().await;
    let mut conn = app.db.connect().await;
    partybase::seed::load_demo(&mut conn).await.unwrap();
    let template = std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/examples/members.csv")).unwrap();
    let reply = app
        .upload(&format!("{MEMBERS}?dry_run=true"), &app.admin, CSV, template)
        .await;
    let body = reply.ok(200);
    assert_eq!(
        (body["rows"].as_u64(), body["errors"].as_array().map(Vec::len)),
        (Some(2), Some(0)),
        "{body}"
    );
}

#[actix_web::test]
async fn a_number_repeated_many_rows_later_is_found_and_a_long_file_imports_whole() {
    let app = spawn_app().await;
    district(&app).await;
    let rows: Vec<String> = (0..2500)
        .map(|i| {
            format!(
                "Thành Viên {i},male,1980-01-01,TS-TT-CB1,2012-01-01,,,{:08},,,,,,,,",
                20000000 + i
            )
        })
        .collect();
    let mut file: Vec<&str> = rows.iter().map(String::as_str).collect();
    let whole = csv(&file);
    let repeat = "Lặp Lại,male,1980-01-01,TS-TT-CB1,2012-01-01,,,20000000,,,,,,,,";
    file.push(repeat);
    let reply = app.upload(MEMBERS, &app.admin, CSV, csv(&file)).await;
    let body = reply.problem(422);
    assert_eq!(errors_of(body), vec![(2502, "card_number".to_owned())]);
    assert_eq!(body["errors"][0]["message"], "is given in row 2 as well");
    assert_eq!(app.db.count("SELECT count(*) AS n FROM members").await, 0);

    let reply = app.upload(MEMBERS, &app.admin, CSV, whole).await;
    assert_eq!(reply.ok(201)["imported"], 2500);
    assert_eq!(app.db.count("SELECT count(*) AS n FROM member_events").await, 2500);
    assert_eq!(
        app.db
            .count("SELECT sum(members)::bigint AS n FROM organisation_member_counts")
            .await,
        2500,
        "the member counts follow a multi-row insert"
    );
}

#[actix_web::test]
async fn an_import_repeated_with_its_idempotency_key_is_replayed_not_imported_twice() {
    let app = spawn_app().await;
    district(&app).await;
    let rows: Vec<String> = (0..800)
        .map(|i| format!("Thành Viên {i},male,1980-01-01,TS-TT-CB1,2012-01-01,,,,,,,,,,,dòng ghi chú đủ dài {i}"))
        .collect();
    let file = csv(&rows.iter().map(String::as_str).collect::<Vec<_>>());
    assert!(file.len() > 64 * 1024, "larger than the JSON body limit");
    let send = || {
        actix_web::test::TestRequest::post()
            .uri(MEMBERS)
            .insert_header(("authorization", format!("Bearer {}", app.admin)))
            .insert_header(("content-type", CSV))
            .insert_header(("idempotency-key", "import-2026-12-06"))
            .set_payload(file.clone())
    };
    let first = app.send(send()).await;
    assert_eq!(first.ok(201)["imported"], 800);
    let again = app.send(send()).await;
    assert_eq!(again.ok(201)["import_id"], first.body["import_id"]);
    assert_eq!(again.header("idempotent-replayed"), Some("true"));
    assert_eq!(app.db.count("SELECT count(*) AS n FROM members").await, 800);
}
