//! The change feed: every committed change once, in commit order, under concurrency; scope; retention; long polls.

use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

use diesel_async::{AsyncConnection, SimpleAsyncConnection};
use serde_json::{json, Value};

use crate::common::{request, serve, spawn_app};

const FEED: &str = "/api/v1/changes";

/// Every entry after `after`, following `next_cursor` until a page comes back empty.
async fn follow<S, B>(app: &crate::common::TestApp<S>, token: &str, after: &str, query: &str) -> (Vec<Value>, String)
where
    S: actix_web::dev::Service<
        actix_http::Request,
        Response = actix_web::dev::ServiceResponse<B>,
        Error = actix_web::Error,
    >,
    B: actix_web::body::MessageBody,
{
    let mut cursor = after.to_owned();
    let mut entries = Vec::new();
    loop {
        let reply = app.get(&format!("{FEED}?after={cursor}&limit=7{query}"), token).await;
        let page = reply.ok(200).clone();
        let items = page["items"].as_array().unwrap().clone();
        cursor = page["next_cursor"].as_str().unwrap().to_owned();
        if items.is_empty() {
            return (entries, cursor);
        }
        entries.extend(items);
    }
}

fn summary(entries: &[Value]) -> Vec<(String, String, i64)> {
    entries
        .iter()
        .map(|e| {
            (
                e["resource_type"].as_str().unwrap().to_owned(),
                e["action"].as_str().unwrap().to_owned(),
                e["version"].as_i64().unwrap(),
            )
        })
        .collect()
}

#[actix_web::test]
async fn every_change_appears_once_in_order_without_its_values() {
    let app = spawn_app().await;
    let province = app.organisation("P", "superior_committee", None).await;
    let cell = app.organisation("P-C", "base_cell", Some(&province)).await;
    app.patch(
        &format!("/api/v1/organisations/{cell}"),
        &app.admin,
        json!({"name": "Chi bộ mới"}),
    )
    .await
    .ok(200);
    let member = app
        .post(
            "/api/v1/members",
            &app.admin,
            json!({"full_name": "Phạm Thị Lan", "birth_date": "1990-01-01", "organisation_id": cell,
                   "admitted_on": "2023-01-10", "national_id": "001190000001"}),
        )
        .await;
    let member_id = member.ok(201)["id"].as_str().unwrap().to_owned();
    app.post(
        &format!("/api/v1/members/{member_id}/events"),
        &app.admin,
        json!({"type": "recognised_official", "on": "2024-01-10"}),
    )
    .await
    .ok(200);
    assert_eq!(
        app.delete(&format!("/api/v1/members/{member_id}"), &app.admin)
            .await
            .status,
        204
    );

    let (entries, next) = follow(&app, &app.admin, "", "").await;
    assert_eq!(
        summary(&entries),
        vec![
            ("organisation".into(), "created".into(), 1),
            ("organisation".into(), "created".into(), 1),
            ("organisation".into(), "updated".into(), 2),
            ("member".into(), "created".into(), 1),
            ("member".into(), "event".into(), 2),
            ("member".into(), "deleted".into(), 2),
        ]
    );
    assert_eq!(entries[3]["resource_id"], member_id.as_str());
    assert_eq!(entries[3]["organisation_id"], cell.as_str());
    for entry in &entries {
        let mut keys: Vec<&str> = entry.as_object().unwrap().keys().map(String::as_str).collect();
        keys.sort();
        assert_eq!(
            keys,
            [
                "action",
                "at",
                "cursor",
                "organisation_id",
                "resource_id",
                "resource_type",
                "version"
            ],
            "ids and versions only, no field values"
        );
    }
    let cursors: Vec<i64> = entries
        .iter()
        .map(|e| e["cursor"].as_str().unwrap().parse().unwrap())
        .collect();
    assert!(cursors.windows(2).all(|w| w[0] < w[1]), "{cursors:?}");
    assert_eq!(next, cursors.last().unwrap().to_string());

    // Filters; nothing new after the last cursor.
    let (members, _) = follow(&app, &app.admin, "", "&resource_type=member").await;
    assert_eq!(members.len(), 3);
    let empty = app.get(&format!("{FEED}?after={next}"), &app.admin).await;
    assert_eq!(empty.ok(200)["items"], json!([]));
    assert_eq!(empty.body["next_cursor"], next.as_str());

    for (query, field) in [
        ("after=abc", "after"),
        ("after=-1", "after"),
        ("after=00000000000000000000", "after"),
        ("limit=0", "limit"),
        ("limit=201", "limit"),
        ("wait=31", "wait"),
        ("resource_type=token", "resource_type"),
        ("since=1", "since"),
    ] {
        app.get(&format!("{FEED}?{query}"), &app.admin)
            .await
            .problem_on(400, field);
    }
}

/// A transaction that starts first but commits last must not be skipped by a reader that already passed the
/// changes committed meanwhile, and many writers at once must each be seen exactly once.
#[actix_web::test]
async fn a_reader_following_concurrent_writers_sees_every_change_exactly_once() {
    let app = spawn_app().await;
    let root = app.organisation("R", "superior_committee", None).await;
    let (_, start) = follow(&app, &app.admin, "", "").await;

    // The late committer: it writes first, then waits.
    let mut late = app.db.connect().await;
    late.batch_execute(&format!(
        "BEGIN; UPDATE organisations SET name = 'late', version = version + 1 WHERE id = '{root}'"
    ))
    .await
    .unwrap();
    let early = app.organisation("R-E", "superior_committee", Some(&root)).await;
    let (seen, cursor) = follow(&app, &app.admin, &start, "").await;
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0]["resource_id"], early.as_str());
    late.batch_execute("COMMIT").await.unwrap();
    let (seen_late, cursor) = follow(&app, &app.admin, &cursor, "").await;
    assert_eq!(
        seen_late.len(),
        1,
        "the late commit appears after the cursor already passed"
    );
    assert_eq!(seen_late[0]["resource_id"], root.as_str());
    assert_eq!(seen_late[0]["version"], 2);

    // Many writers, each committing after a random pause, while the reader follows.
    let writers = 8;
    let per_writer = 15;
    let url = app.db.url.clone();
    let mut handles = Vec::new();
    for w in 0..writers {
        let url = url.clone();
        let root = root.clone();
        handles.push(tokio::spawn(async move {
            let mut conn = diesel_async::AsyncPgConnection::establish(&url).await.unwrap();
            let mut ids = Vec::new();
            for i in 0..per_writer {
                let id = uuid::Uuid::now_v7();
                let pause = (w * 7 + i * 13) % 25;
                conn.batch_execute(&format!(
                    "BEGIN; INSERT INTO organisations (id, code, name, kind, parent_id, path) \
                     SELECT '{id}', 'W{w}-{i}', 'Chi bộ {w}-{i}', 'base_cell', id, path || '{label}' \
                     FROM organisations WHERE id = '{root}'; SELECT pg_sleep({pause} / 1000.0); COMMIT",
                    label = id.simple()
                ))
                .await
                .unwrap();
                ids.push(id.to_string());
            }
            ids
        }));
    }
    let mut seen: HashMap<String, usize> = HashMap::new();
    let mut cursor = cursor;
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut done = false;
    loop {
        assert!(Instant::now() < deadline, "the reader did not catch up");
        let reply = app.get(&format!("{FEED}?after={cursor}&limit=10"), &app.admin).await;
        let page = reply.ok(200).clone();
        for entry in page["items"].as_array().unwrap() {
            *seen
                .entry(entry["resource_id"].as_str().unwrap().to_owned())
                .or_default() += 1;
        }
        cursor = page["next_cursor"].as_str().unwrap().to_owned();
        if done && page["items"].as_array().unwrap().is_empty() {
            break;
        }
        done = handles.iter().all(|h| h.is_finished());
    }
    let mut written = HashSet::new();
    for handle in handles {
        written.extend(handle.await.unwrap());
    }
    assert_eq!(seen.len(), writers * per_writer, "every change seen");
    assert!(seen.values().all(|n| *n == 1), "each exactly once: {seen:?}");
    assert_eq!(seen.keys().cloned().collect::<HashSet<_>>(), written);
}

#[actix_web::test]
async fn a_scoped_token_follows_its_subtree_including_what_moves_out() {
    let app = spawn_app().await;
    let province = app.organisation("P", "superior_committee", None).await;
    let district = app.organisation("D", "superior_committee", Some(&province)).await;
    let other = app.organisation("O", "superior_committee", Some(&province)).await;
    let inside = app.organisation("D-C", "base_cell", Some(&district)).await;
    let outside = app.organisation("O-C", "base_cell", Some(&other)).await;
    let viewer = app.token("district-viewer", "viewer", Some(&district)).await;
    let member = app
        .post(
            "/api/v1/members",
            &app.admin,
            json!({"full_name": "Vũ Văn Nam", "birth_date": "1980-01-01", "organisation_id": inside,
                   "admitted_on": "2010-01-10"}),
        )
        .await;
    let member = member.ok(201)["id"].as_str().unwrap().to_owned();
    app.post(
        &format!("/api/v1/members/{member}/events"),
        &app.admin,
        json!({"type": "recognised_official", "on": "2011-01-10"}),
    )
    .await
    .ok(200);
    app.post(
        &format!("/api/v1/members/{member}/events"),
        &app.admin,
        json!({"type": "transferred", "on": "2015-01-10", "to_organisation_id": outside, "mode": "permanent"}),
    )
    .await
    .ok(200);
    app.patch(
        &format!("/api/v1/organisations/{outside}"),
        &app.admin,
        json!({"name": "Ngoài"}),
    )
    .await
    .ok(200);

    let (entries, _) = follow(&app, &viewer, "", "").await;
    let ids: Vec<(&str, &str)> = entries
        .iter()
        .map(|e| (e["resource_id"].as_str().unwrap(), e["action"].as_str().unwrap()))
        .collect();
    assert_eq!(
        ids,
        vec![
            (district.as_str(), "created"),
            (inside.as_str(), "created"),
            (member.as_str(), "created"),
            (member.as_str(), "event"),
            // The transfer out of the district: the viewer learns the member left.
            (member.as_str(), "event"),
        ]
    );
    let (all, _) = follow(&app, &app.admin, "", "").await;
    assert_eq!(all.len(), 9);
}

#[actix_web::test]
async fn a_cursor_older_than_the_retention_is_gone() {
    let app = spawn_app().await;
    for code in ["A", "B", "C"] {
        app.organisation(code, "superior_committee", None).await;
    }
    let (entries, _) = follow(&app, &app.admin, "", "").await;
    assert_eq!(entries.len(), 3);
    let second = entries[1]["cursor"].as_str().unwrap().to_owned();
    app.db
        .execute(&format!(
            "UPDATE changes SET at = now() - interval '91 days' WHERE position <= {second}"
        ))
        .await;
    let mut conn = app.db.connect().await;
    let pruned = partybase::resources::changes::store::prune(&mut conn, Duration::from_secs(90 * 86400))
        .await
        .unwrap();
    assert_eq!(pruned, 2);
    let gone = app.get(&format!("{FEED}?after=0"), &app.admin).await;
    let problem = gone.problem(410);
    assert!(problem["detail"].as_str().unwrap().contains("re-read"), "{problem}");
    // From the last removed position on, and without a cursor, the feed still answers.
    let (rest, _) = follow(&app, &app.admin, &second, "").await;
    assert_eq!(rest.len(), 1);
    let (from_start, _) = follow(&app, &app.admin, "", "").await;
    assert_eq!(summary(&from_start), summary(&rest));
}

#[actix_web::test]
async fn a_long_poll_answers_when_another_instance_commits_a_change() {
    let app = spawn_app().await;
    let served = serve(&app.db.url, &[]);
    let auth = format!("Bearer {}", app.admin);
    let first = request(&served.address, "GET", FEED, &[("Authorization", &auth)], None);
    assert_eq!(first.status, 200);
    let start: Value = serde_json::from_slice(&first.body).unwrap();
    let cursor = start["next_cursor"].as_str().unwrap().to_owned();

    // Nothing happens: the request waits the time asked, then answers an empty page.
    let began = Instant::now();
    let idle = request(
        &served.address,
        "GET",
        &format!("{FEED}?after={cursor}&wait=1"),
        &[("Authorization", &auth)],
        None,
    );
    assert_eq!(idle.status, 200);
    assert!(began.elapsed() >= Duration::from_millis(900), "{:?}", began.elapsed());
    assert_eq!(serde_json::from_slice::<Value>(&idle.body).unwrap()["items"], json!([]));

    let (address, auth2, target) = (
        served.address.clone(),
        auth.clone(),
        format!("{FEED}?after={cursor}&wait=20"),
    );
    let waiting = std::thread::spawn(move || {
        let began = Instant::now();
        let reply = request(&address, "GET", &target, &[("Authorization", &auth2)], None);
        (reply, began.elapsed())
    });
    tokio::time::sleep(Duration::from_millis(700)).await;
    let made = app.organisation("LP", "superior_committee", None).await;
    let (reply, waited) = waiting.join().unwrap();
    assert_eq!(reply.status, 200);
    let page: Value = serde_json::from_slice(&reply.body).unwrap();
    assert_eq!(page["items"][0]["resource_id"], made.as_str());
    assert!(
        waited >= Duration::from_millis(600),
        "it waited for the change: {waited:?}"
    );
    assert!(
        waited < Duration::from_secs(10),
        "it answered when the change came, not at the deadline: {waited:?}"
    );
}
