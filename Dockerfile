# Build stage: compile the release binary. PostgreSQL is reached through a pure Rust driver, so no libpq.
FROM rust:1.95.0-bookworm AS build
WORKDIR /src
COPY Cargo.toml Cargo.lock ./
COPY src ./src
COPY migrations ./migrations
RUN cargo build --release --locked

# Run stage: the binary alone, as an unprivileged user, on the Debian release the build stage compiled against.
FROM debian:12.12-slim
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 partybase
COPY --from=build /src/target/release/partybase /usr/local/bin/partybase
USER partybase
ENV PARTYBASE_BIND=0.0.0.0:8080 \
    RUST_LOG=info
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=5s --start-period=15s --retries=3 CMD ["partybase", "healthcheck"]
ENTRYPOINT ["partybase"]
CMD ["serve"]
