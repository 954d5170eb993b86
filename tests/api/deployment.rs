//! docker-compose.yml and the Dockerfile, checked by reading them: no Docker engine runs here, so the stack's
//! promises (healthchecks that mean something, a port kept on this host, images that do not move) are checked
//! in the files themselves.

use std::process::Command;

use serde_json::Value;

fn compose() -> Value {
    let text = include_str!("../../docker-compose.yml");
    serde_norway::from_str(text).expect("docker-compose.yml is YAML")
}

fn dockerfile() -> &'static str {
    include_str!("../../Dockerfile")
}

/// Compose's `${NAME:-default}` with NAME unset: the file as it runs with no environment set.
fn with_defaults(text: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let end = start + rest[start..].find('}').expect("a closed ${...}");
        let (_, default) = rest[start + 2..end]
            .split_once(":-")
            .expect("a default for every variable");
        out.push_str(default);
        rest = &rest[end + 1..];
    }
    out.push_str(rest);
    out
}

/// Whether an image reference names an exact version: a tag with a dotted version number, never `latest`.
fn pinned(image: &str) -> bool {
    let Some((_, tag)) = image.rsplit_once(':') else {
        return false;
    };
    let version = tag.split('-').next().unwrap_or_default();
    tag != "latest" && version.split('.').count() >= 2 && version.split('.').all(|p| p.parse::<u32>().is_ok())
}

fn as_strings(value: &Value) -> Vec<&str> {
    value
        .as_array()
        .expect("a list")
        .iter()
        .map(|v| v.as_str().expect("a string"))
        .collect()
}

#[test]
fn the_database_is_healthy_only_once_it_listens_on_tcp() {
    let compose = compose();
    let db = &compose["services"]["db"];
    let test = as_strings(&db["healthcheck"]["test"]).join(" ");
    assert!(test.contains("pg_isready"), "{test}");
    assert!(
        test.contains("-h 127.0.0.1"),
        "the probe must use TCP, not the socket: {test}"
    );
    assert_eq!(
        compose["services"]["partybase"]["depends_on"]["db"]["condition"],
        "service_healthy"
    );
}

#[test]
fn the_service_is_probed_by_its_own_healthcheck_command() {
    let compose = compose();
    let test = as_strings(&compose["services"]["partybase"]["healthcheck"]["test"]);
    assert_eq!(test, ["CMD", "partybase", "healthcheck"]);
    // The command exists in this binary, and the image puts the binary on PATH.
    let help = Command::new(env!("CARGO_BIN_EXE_partybase"))
        .args(["healthcheck", "--help"])
        .output()
        .unwrap();
    assert!(help.status.success());
    assert!(dockerfile().contains("COPY --from=build /src/target/release/partybase /usr/local/bin/partybase"));
    assert!(dockerfile().contains(r#"HEALTHCHECK "#) && dockerfile().contains(r#"CMD ["partybase", "healthcheck"]"#));
}

#[test]
fn the_port_is_published_on_this_host_only_by_default() {
    let compose = compose();
    let service = &compose["services"]["partybase"];
    let ports = as_strings(&service["ports"]);
    assert_eq!(ports.len(), 1);
    let published = with_defaults(ports[0]);
    let (host, container_port) = published.rsplit_once(':').unwrap();
    assert!(host.starts_with("127.0.0.1:"), "published on {host}");
    // The container port is the one the service binds to and the image exposes.
    let bind = service["environment"]["PARTYBASE_BIND"].as_str().unwrap();
    assert_eq!(bind, format!("0.0.0.0:{container_port}"));
    assert!(dockerfile().contains(&format!("EXPOSE {container_port}")));
    assert!(dockerfile().contains(&format!("PARTYBASE_BIND=0.0.0.0:{container_port}")));
}

#[test]
fn every_image_is_pinned_and_the_stages_agree() {
    let compose = compose();
    let services = compose["services"].as_object().unwrap();
    for (name, service) in services {
        let image = service["image"]
            .as_str()
            .unwrap_or_else(|| panic!("{name} names no image"));
        assert!(pinned(image), "{name}: {image} is not pinned");
    }
    assert_eq!(
        compose["services"]["partybase"]["image"],
        format!("partybase:{}", env!("CARGO_PKG_VERSION"))
    );
    assert!(compose["services"]["db"]["image"]
        .as_str()
        .unwrap()
        .starts_with("postgres:15."));

    let stages: Vec<&str> = dockerfile()
        .lines()
        .filter_map(|line| line.strip_prefix("FROM "))
        .map(|rest| rest.split_whitespace().next().unwrap())
        .collect();
    assert_eq!(stages.len(), 2, "{stages:?}");
    for image in &stages {
        assert!(pinned(image), "{image} is not pinned");
    }
    // The binary is linked against the build stage's glibc: the run stage is the same Debian release.
    assert!(
        stages[0].starts_with("rust:") && stages[0].ends_with("-bookworm"),
        "{}",
        stages[0]
    );
    assert!(
        stages[1].starts_with("debian:12."),
        "{} is not Debian 12 (bookworm)",
        stages[1]
    );
    // The toolchain is the one the README asks for.
    let rust = stages[0].trim_start_matches("rust:");
    assert!(include_str!("../../README.md").contains(&format!("Rust ({})", &rust[..4])));
    assert!(
        dockerfile().contains("USER partybase"),
        "the service does not run as root"
    );
}

#[test]
fn the_pin_check_knows_a_moving_tag() {
    assert!(pinned("postgres:15.14-bookworm") && pinned("rust:1.95.0-bookworm") && pinned("debian:12.12-slim"));
    assert!(
        !pinned("postgres:15") && !pinned("postgres:latest") && !pinned("postgres") && !pinned("debian:bookworm-slim")
    );
    assert_eq!(with_defaults("${A:-127.0.0.1:8080}:8080"), "127.0.0.1:8080:8080");
}

#[test]
fn the_database_gets_a_cache_for_a_registry_and_room_for_parallel_workers() {
    let compose = compose();
    let db = &compose["services"]["db"];
    let command: Vec<String> = db["command"]
        .as_array()
        .expect("the database's command is a list")
        .iter()
        .map(|part| with_defaults(part.as_str().unwrap()))
        .collect();
    assert_eq!(command[0], "postgres");
    // Each setting follows its own -c, as the server reads them: 1 GB of cache unless PARTYBASE_DB_SHARED_BUFFERS
    // says otherwise, where PostgreSQL's own default is 128 MB.
    let settings: Vec<&str> = command[1..]
        .chunks(2)
        .map(|pair| {
            assert_eq!(pair[0], "-c", "{command:?}");
            pair[1].as_str()
        })
        .collect();
    assert_eq!(settings, ["shared_buffers=1GB"]);
    // Docker's /dev/shm is 64 MB unless the service says otherwise.
    assert_eq!(db["shm_size"], "1g");
}
