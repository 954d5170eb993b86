//! One database per test, cloned from a template that is migrated once for each version of the migrations.

use std::hash::{Hash, Hasher};

use diesel::sql_types::{BigInt, Text};
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use partybase::db::{quote_identifier, run_migrations};

const DEFAULT_SERVER: &str = "postgres://postgres@localhost:5432/postgres";

fn server_url() -> String {
    std::env::var("TEST_DATABASE_URL").unwrap_or_else(|_| DEFAULT_SERVER.to_owned())
}

fn database_url(name: &str) -> String {
    let mut url = url::Url::parse(&server_url()).expect("TEST_DATABASE_URL");
    url.set_path(&format!("/{name}"));
    url.to_string()
}

/// The template's name carries a hash of the migration files, so an edited migration gets a new template.
fn template_name() -> String {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations");
    let mut files = Vec::new();
    for entry in std::fs::read_dir(&dir).expect("migrations directory") {
        let path = entry.unwrap().path();
        for file in ["up.sql", "down.sql"] {
            let file = path.join(file);
            files.push((file.display().to_string(), std::fs::read(&file).unwrap_or_default()));
        }
    }
    files.sort();
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    for (name, content) in &files {
        name.rsplit('/').take(2).collect::<Vec<_>>().hash(&mut hasher);
        content.hash(&mut hasher);
    }
    format!("pb_template_{:016x}", hasher.finish())
}

#[derive(diesel::QueryableByName)]
struct Exists {
    #[diesel(sql_type = diesel::sql_types::Bool)]
    found: bool,
}

async fn exists(conn: &mut AsyncPgConnection, name: &str) -> bool {
    diesel::sql_query("SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1) AS found")
        .bind::<Text, _>(name)
        .get_result::<Exists>(conn)
        .await
        .expect("look up a database")
        .found
}

async fn server() -> AsyncPgConnection {
    <AsyncPgConnection as AsyncConnection>::establish(&server_url())
        .await
        .expect("connect to the test PostgreSQL server (TEST_DATABASE_URL)")
}

/// Makes the template once; concurrent test processes wait on an advisory lock. It is renamed into place only
/// when fully migrated, and nothing stays connected to it, so it can be cloned at any time.
async fn ensure_template() -> String {
    let name = template_name();
    let mut conn = server().await;
    if exists(&mut conn, &name).await {
        return name;
    }
    diesel::sql_query("SELECT pg_advisory_lock($1)")
        .bind::<BigInt, _>(0x7062_7465_6d70_i64)
        .execute(&mut conn)
        .await
        .expect("template lock");
    if !exists(&mut conn, &name).await {
        let building = format!("{name}_building");
        let quoted = quote_identifier(&building);
        diesel::sql_query(format!("DROP DATABASE IF EXISTS {quoted} WITH (FORCE)"))
            .execute(&mut conn)
            .await
            .expect("drop a stale template");
        diesel::sql_query(format!("CREATE DATABASE {quoted}"))
            .execute(&mut conn)
            .await
            .expect("create the template");
        run_migrations(&database_url(&building))
            .await
            .expect("migrate the template");
        diesel::sql_query(format!("ALTER DATABASE {quoted} RENAME TO {}", quote_identifier(&name)))
            .execute(&mut conn)
            .await
            .expect("publish the template");
    }
    diesel::sql_query("SELECT pg_advisory_unlock($1)")
        .bind::<BigInt, _>(0x7062_7465_6d70_i64)
        .execute(&mut conn)
        .await
        .expect("template unlock");
    name
}

/// A database of its own for one test, dropped when the test ends (pass or fail).
pub struct TestDatabase {
    pub name: String,
    pub url: String,
}

impl TestDatabase {
    pub async fn new() -> Self {
        let template = ensure_template().await;
        let name = format!("pb_test_{}", uuid::Uuid::new_v4().simple());
        let mut conn = server().await;
        diesel::sql_query(format!(
            "CREATE DATABASE {} TEMPLATE {}",
            quote_identifier(&name),
            quote_identifier(&template)
        ))
        .execute(&mut conn)
        .await
        .expect("clone the template");
        TestDatabase {
            url: database_url(&name),
            name,
        }
    }
}

impl TestDatabase {
    /// Drops the database now (a test that wants to start without one); it is dropped again, harmlessly, at the end.
    pub async fn drop_now(&self) {
        let mut conn = server().await;
        diesel::sql_query(format!(
            "DROP DATABASE IF EXISTS {} WITH (FORCE)",
            quote_identifier(&self.name)
        ))
        .execute(&mut conn)
        .await
        .expect("drop the test database");
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        let statement = format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", quote_identifier(&self.name));
        // Drop cannot await: a plain thread with its own runtime and connection does it.
        let dropper = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            runtime.block_on(async move {
                let mut conn = server().await;
                let _ = diesel::sql_query(statement).execute(&mut conn).await;
            });
        });
        let _ = dropper.join();
    }
}
