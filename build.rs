//! Rebuilds when a migration is added or changed: `embed_migrations!` reads the `migrations`
//! folders at compile time, and cargo would otherwise not notice a new migration.
fn main() {
    println!("cargo:rerun-if-changed=migrations");
}
