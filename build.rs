//! `embed_migrations!` (src/db.rs) reads the migrations directory while compiling, which cargo does not see: without
//! this, a new migration was left out of the binary until some source file changed.
fn main() {
    println!("cargo:rerun-if-changed=migrations");
}
